/* fuzz_pin_decrypt.c - libFuzzer target for clevis decrypt with the network cut.
 *
 * usage: build/fuzz/fuzz_pin_decrypt [CORPUS...]   (make fuzz; needs root for
 * its network namespace)
 *
 * The input is a JWE as `nbde decrypt` reads it. It goes through the whole
 * pin dispatch: header parsing, the tang pin (advertisement keys, ECMR
 * exchange, which then fails to reach its server), sss (thresholds, shares,
 * nested JWEs decrypted by child threads) and null (a key in the header,
 * the GCM tag checked before any plaintext) and tpm2 (its header; the TPM
 * it would talk to is a unix socket nobody listens on, never a real TPM).
 * The process moves into a new network namespace where not even loopback is
 * up, so no input can make it reach a real address, and every network
 * attempt fails at once. */
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../cmd/pin/pin.h"
#include "../../cmd/runtime/runtime.h"

/* Long enough for sss to start its children, short enough that retries end. */
#define DEADLINE_MS 50

void fuzz_setup(void);

void fuzz_setup(void)
{
	if (unshare(CLONE_NEWNET)) {
		perror("fuzz_pin_decrypt: cannot cut the network (unshare CLONE_NEWNET needs root)");
		exit(1);
	}
	/* a machine with a TPM: the tpm2 pin must not load fuzzed objects into it */
	setenv("TPM2TOOLS_TCTI", "swtpm:path=/nonexistent/nbde-fuzz-tpm", 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pin_opts o = { .quiet = true, .assume_yes = true, .deadline_ms = clock_mono_ms() + DEADLINE_MS };
	struct buf pt = { 0 };

	if (!pin_decrypt((const char *)data, size, &pt, &o) && !pt.p && pt.len)
		abort();	/* success must hand over the plaintext it claims */
	buf_free(&pt);
	return 0;
}
