/* encrypt.c - the encrypt applet: `clevis encrypt` for the tang, sss, tpm2
 * and null pins.
 *
 * usage: nbde encrypt PIN CONFIG [-y] < PLAINTEXT > JWE
 *
 * Reads the whole of stdin (binary-safe) and writes a compact JWE without a
 * trailing newline. -y (only as the argument after CONFIG, as in clevis)
 * trusts a fetched tang advertisement without asking. */
#include "applets.h"
#include "pin/pin.h"
#include "runtime/runtime.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../crypto/json.h"

#define PLAINTEXT_MAX (16 * 1024 * 1024)

static int usage(FILE *f, int rc)
{
	fprintf(f, "usage: nbde encrypt PIN CONFIG [-y] < PLAINTEXT > JWE\n\n"
		   "Encrypts stdin to a compact JWE (clevis format) with a pin:\n"
		   "  tang  '{\"url\":\"http://HOST[:PORT]\"[,\"thp\":\"S256 or S1 thumbprint\"][,\"adv\":FILE|{JWS}]}'\n"
		   "  sss   '{\"t\":N,\"pins\":{\"tang\":[{...},...],\"sss\":{...},\"null\":{}}}'\n"
		   "  tpm2  '{[\"hash\":\"sha256\"][,\"key\":\"ecc|rsa\"][,\"pcr_bank\":\"sha256\"][,\"pcr_ids\":\"0,7\"]"
		   "[,\"pcr_digest\":B64]}'\n"
		   "        (the TPM: /dev/tpmrm0, or TPM2TOOLS_TCTI=device:PATH|swtpm:path=SOCKET|swtpm:host=H,port=P)\n"
		   "  null  '{}'   (no protection; for tests)\n\n"
		   "  -y   trust the tang advertisement without the prompt on /dev/tty\n");
	return rc;
}

int encrypt_main(int argc, char **argv)
{
	struct pin_opts o = { 0 };
	AUTO_BUF pt = { 0 };
	AUTO_JSON cfg = NULL;
	AUTO_FREE char *jwe = NULL;

	util_prog = "nbde encrypt";
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
		return usage(stdout, 0);
	/* "" is accepted in -y's place: clevis's sss passes it along */
	if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "-y") && strcmp(argv[3], "")) || isatty(0))
		return usage(stderr, 2);
	o.assume_yes = argc == 4 && !strcmp(argv[3], "-y");
	if (read_fd_all(0, PLAINTEXT_MAX, &pt)) {
		msg("cannot read the plaintext from stdin (at most 16 MiB)");
		return 1;
	}
	cfg = json_parse_str(argv[2]);	/* NULL: the pin says the config is malformed */
	if (!(jwe = pin_encrypt(argv[1], cfg, pt.p, pt.len, &o)))
		return 1;
	if (write_all(1, jwe, strlen(jwe))) {
		msg("cannot write the JWE to stdout");
		return 1;
	}
	return 0;
}
