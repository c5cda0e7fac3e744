/* encrypt.c - the encrypt applet: `clevis encrypt` for the tang, sss, tpm2
 * and null pins.
 *
 * Reads the whole of stdin (binary-safe) and writes a compact JWE without a
 * trailing newline. -y (only as the argument after CONFIG, as in clevis)
 * trusts a fetched tang advertisement without asking. */
#include "applets.h"
#include "pin/pin.h"
#include "runtime/options.h"
#include "runtime/runtime.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../crypto/json.h"


static const struct applet_help help = {
	.usage = "PIN CONFIG [-y] < PLAINTEXT > JWE",
	.about = "Encrypts stdin to a compact JWE (clevis format) with a pin:\n"
		 "  tang  '{\"url\":\"http[s]://HOST[:PORT]\"[,\"thp\":\"S256 or S1 thumbprint\"][,\"adv\":FILE|{JWS}]}'\n"
		 "  sss   '{\"t\":N,\"pins\":{\"tang\":[{...},...],\"sss\":{...},\"null\":{}}}'\n"
		 "  tpm2  '{[\"hash\":\"sha256\"][,\"key\":\"ecc|rsa\"][,\"pcr_bank\":\"sha256\"][,\"pcr_ids\":\"0,7\"]"
		 "[,\"pcr_digest\":B64]}'\n"
		 "        (the TPM: /dev/tpmrm0, or TPM2TOOLS_TCTI=device:PATH|swtpm:path=SOCKET|swtpm:host=H,port=P)\n"
		 "  tpm2pin  the tpm2 config; the TPM also checks a PIN: from the file NBDE_TPM_PIN_FILE names,\n"
		 "        else asked twice on /dev/tty\n"
		 "  null  '{}'   (no protection; for tests)",
	.opts = (const struct option_spec[]){
		{ 'y', NULL, NULL, "trust the tang advertisement without the prompt on /dev/tty" },
		{ 0 } },
};

/* 0 to go on, -1 when -h was answered, else the exit status. */
static int parse(int argc, char **argv, struct pin_opts *o)
{
	int c;

	while ((c = options_next(argc, argv, &help)) != OPTIONS_END) {
		switch (c) {
		case OPTIONS_HELP: return -1;
		case OPTIONS_ERROR: return exit_usage();
		case 'y': o->assume_yes = true; break;
		}
	}
	/* "" is accepted in -y's place: clevis's sss passes it along */
	if (argc - optind < 2 || argc - optind > 3 || (argc - optind == 3 && *argv[optind + 2]))
		return usage_error(&help, "PIN and CONFIG are the only arguments");
	if (isatty(0))
		return usage_error(&help, "the plaintext comes on stdin, not from a terminal");
	return 0;
}

int encrypt_main(int argc, char **argv)
{
	struct pin_opts o = { 0 };
	AUTO_BUF pt = { 0 };
	AUTO_JSON cfg = NULL;
	AUTO_FREE char *jwe = NULL;

	int r;

	if ((r = parse(argc, argv, &o)))
		return r < 0 ? 0 : r;
	if (read_fd_all(0, PLAINTEXT_MAX, &pt)) {
		msg("cannot read the plaintext from stdin (at most %d MiB)", PLAINTEXT_MAX >> 20);
		return 1;
	}
	cfg = json_parse_str(argv[optind + 1]);	/* NULL: the pin says the config is malformed */
	if (!(jwe = pin_encrypt(argv[optind], cfg, pt.p, pt.len, &o)))
		return 1;
	if (write_all(1, jwe, strlen(jwe))) {
		msg("cannot write the JWE to stdout");
		return 1;
	}
	return 0;
}
