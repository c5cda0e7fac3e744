/* fuzz_http_request_parse.c - libFuzzer target for the HTTP request parser.
 *
 * usage: build/fuzz/fuzz_http_request [CORPUS...]   (make fuzz)
 *
 * Parses the input as a stream of pipelined requests twice, all at once
 * and one byte at a time, and aborts when the two disagree or a bound is
 * broken: the parser must not depend on how the bytes were split. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../net/http_request_parse.h"

struct outcome {
	unsigned requests;
	unsigned long long digest;	/* over every request's fields */
	int error_status;
};

static unsigned long long mix(unsigned long long h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static void check_and_record(const struct http_request *r, struct outcome *o)
{
	if (r->phase == HTTP_INVALID) {
		o->error_status = r->error_status;
		return;
	}
	if (!r->target || strlen(r->target) >= HTTP_TARGET_MAX || r->body_len >= HTTP_BODY_MAX ||
	    strlen(r->method) > HTTP_METHOD_MAX || (r->body_len && !r->body))
		abort();
	o->requests++;
	o->digest = mix(o->digest, r->method, strlen(r->method) + 1);
	o->digest = mix(o->digest, r->target, strlen(r->target) + 1);
	o->digest = mix(o->digest, &r->keep_alive, sizeof(r->keep_alive));
	if (r->body_len)
		o->digest = mix(o->digest, r->body, r->body_len);
}

/* Feeds data in pieces of at most step bytes. */
static struct outcome parse_all(const uint8_t *data, size_t size, size_t step)
{
	struct http_request r;
	struct outcome o = { 0, 0xcbf29ce484222325ULL, 0 };
	size_t off = 0;

	http_request_init(&r);
	while (off < size && !o.error_status) {
		size_t n = size - off < step ? size - off : step;
		size_t used = http_request_feed(&r, (const char *)data + off, n);
		if (used > n || (used < n && !http_request_done(&r)))
			abort();
		off += used;
		if (http_request_done(&r)) {
			check_and_record(&r, &o);
			http_request_reset(&r);
		}
	}
	http_request_free(&r);
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole = parse_all(data, size, size ? size : 1);
	struct outcome bytes = parse_all(data, size, 1);

	if (whole.requests != bytes.requests || whole.digest != bytes.digest ||
	    whole.error_status != bytes.error_status)
		abort();
	return 0;
}
