/* decrypt.c - the decrypt applet: `clevis decrypt` for JWEs made by the
 * tang, sss, tpm2 and null pins (by nbde or clevis).
 *
 * Every network exchange (tang servers, sss children in parallel) ends
 * within the timeout; the plaintext is written only after its
 * authentication tag verified. */
#include "applets.h"
#include "pin/pin.h"
#include "runtime/options.h"
#include "runtime/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


enum { OPT_TIMEOUT = OPTION_LONG(0) };

static const struct applet_help help = {
	.usage = "[--timeout SEC] < JWE > PLAINTEXT",
	.about = "Decrypts a compact JWE made by the tang, sss, tpm2, tpm2pin or null pin (nbde or clevis).",
	.opts = (const struct option_spec[]){
		{ OPT_TIMEOUT, "timeout", "SEC", "give up on servers after SEC seconds (default "
						 STRINGIFY(PIN_DEFAULT_TIMEOUT_S) ")" },
		{ 0 } },
};

/* 0 to go on, -1 when -h was answered, else the exit status. */
static int parse(int argc, char **argv, long *timeout_s)
{
	int c;

	while ((c = options_next(argc, argv, &help)) != OPTIONS_END) {
		switch (c) {
		case OPTIONS_HELP: return -1;
		case OPTIONS_ERROR: return exit_usage();
		case OPT_TIMEOUT: if (!parse_seconds(optarg, "--timeout", timeout_s)) return exit_usage(); break;
		}
	}
	if (optind != argc)
		return usage_error(&help, "unexpected argument '%s'", argv[optind]);
	if (isatty(0))
		return usage_error(&help, "the JWE comes on stdin, not from a terminal");
	return 0;
}

int decrypt_main(int argc, char **argv)
{
	struct pin_opts o = { 0 };
	AUTO_BUF jwe = { 0 };
	AUTO_BUF pt = { 0 };
	long timeout_s = PIN_DEFAULT_TIMEOUT_S;
	int r;

	if ((r = parse(argc, argv, &timeout_s)))
		return r < 0 ? 0 : r;
	o.deadline_ms = clock_mono_ms() + timeout_s * 1000LL;
	if (read_fd_all(0, JWE_MAX, &jwe)) {
		msg("cannot read the JWE from stdin (at most %d MiB)", JWE_MAX >> 20);
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
