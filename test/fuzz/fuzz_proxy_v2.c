/* fuzz_proxy_v2.c - libFuzzer target for the PROXY protocol v2 parser.
 *
 * usage: build/fuzz/fuzz_proxy_v2 [CORPUS...]   (make fuzz)
 *
 * Parses every prefix of the input the way the server grows its buffer and
 * aborts when a bound is broken or the answers contradict each other: a
 * prefix never asks for more than PROXY_V2_MAX bytes, is never done before
 * the length it asked for, and once invalid stays invalid. */
#include <stdint.h>
#include <stdlib.h>

#include "../../net/proxy_v2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_v2 p;
	size_t need = 0, last_need = PROXY_V2_HEAD;
	bool invalid = false;

	for (size_t len = 0; len <= size && len <= PROXY_V2_MAX; len++) {
		enum proxy_v2_result r = proxy_v2_parse(data, len, &p, &need);
		if (need > PROXY_V2_MAX || need < PROXY_V2_HEAD || (invalid && r != PROXY_V2_INVALID))
			abort();
		if (r == PROXY_V2_DONE) {
			if (len != need || (!p.local && p.src.family != 4 && p.src.family != 6))
				abort();
			break;	/* the server reads no further */
		}
		if (r == PROXY_V2_MORE && (len >= need || (len > PROXY_V2_HEAD && need != last_need)))
			abort();
		invalid = r == PROXY_V2_INVALID;
		last_need = need;
	}
	return 0;
}
