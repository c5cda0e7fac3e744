/* decrypt.c - the decrypt applet: `clevis decrypt` for JWEs made by the
 * tang, sss, tpm2 and null pins (by nbde or clevis).
 *
 * usage: nbde decrypt [--timeout SEC] < JWE > PLAINTEXT
 *
 * Every network exchange (tang servers, sss children in parallel) ends
 * within the timeout (default 30 s); the plaintext is written only after its
 * authentication tag verified. */
#include "applets.h"
#include "pin/pin.h"
#include "runtime/runtime.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JWE_MAX (4 * 1024 * 1024)

static int usage(FILE *f, int rc)
{
	fprintf(f, "usage: nbde decrypt [--timeout SEC] < JWE > PLAINTEXT\n\n"
		   "Decrypts a compact JWE made by the tang, sss, tpm2 or null pin (nbde or clevis).\n"
		   "  --timeout SEC   give up on servers after SEC seconds (default %lld)\n",
		PIN_DEFAULT_TIMEOUT_MS / 1000);
	return rc;
}

int decrypt_main(int argc, char **argv)
{
	struct pin_opts o = { 0 };
	AUTO_BUF jwe = { 0 };
	AUTO_BUF pt = { 0 };
	long timeout_s = PIN_DEFAULT_TIMEOUT_MS / 1000;

	util_prog = "nbde decrypt";
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
		return usage(stdout, 0);
	if (argc == 3 && !strcmp(argv[1], "--timeout")) {
		if (!parse_seconds(argv[2], "--timeout", &timeout_s))
			return 2;
	} else if (argc != 1 || isatty(0)) {
		return usage(stderr, 2);
	}
	o.deadline_ms = clock_mono_ms() + timeout_s * 1000LL;
	if (read_fd_all(0, JWE_MAX, &jwe)) {
		msg("cannot read the JWE from stdin (at most 4 MiB)");
		return 1;
	}
	if (!jwe.len)
		return 1;	/* as clevis: nothing to decrypt, nothing to say */
	if (pin_decrypt((const char *)jwe.p, jwe.len, &pt, &o))
		return 1;
	if (write_all(1, pt.p, pt.len)) {
		msg("cannot write the plaintext to stdout");
		return 1;
	}
	return 0;
}
