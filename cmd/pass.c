/* pass.c - the pass applet: `clevis luks pass`.
 *
 * usage: nbde pass -d DEV -s SLOT [--timeout SEC]
 *
 * Decrypts the binding of one keyslot and prints its passphrase with no
 * trailing newline, for an on-site technician. It is the only applet that
 * prints a secret, and only because that is its purpose. */
#include "applets.h"
#include "volume/volume.h"
#include "pin/pin.h"
#include "runtime/runtime.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../luks/device.h"

static int usage(FILE *f, int rc)
{
	fprintf(f, "usage: nbde pass -d DEV -s SLOT [--timeout SEC]\n\n"
		   "Prints the passphrase bound to a keyslot (no trailing newline), as\n"
		   "`clevis luks pass`.\n"
		   "Exit status: 0 printed, 1 the binding could not be decrypted, 2 usage.\n");
	return rc;
}

int pass_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *dev = NULL;
	int slot = -1, c;
	long timeout_s = PIN_DEFAULT_TIMEOUT_MS / 1000;
	AUTO_LUKS d = NULL;
	AUTO_FREE char *jwe = NULL;
	AUTO_BUF pt = { 0 };
	struct pin_opts po = { 0 };

	if (!util_prog || !strcmp(util_prog, "nbde"))
		util_prog = "nbde pass";
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hd:s:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': return usage(stdout, 0);
		case 'd': dev = optarg; break;
		case 's': slot = parse_slot(optarg); if (slot < 0) return usage(stderr, 2); break;
		case 'W': timeout_s = atol(optarg); if (timeout_s <= 0) return usage(stderr, 2); break;
		default: return usage(stderr, 2);
		}
	}
	if (!dev || slot < 0 || optind != argc)
		return usage(stderr, 2);
	if (!(d = open_device(dev)))
		return 1;
	po.deadline_ms = clock_mono_ms() + timeout_s * 1000;
	if (!(jwe = slot_jwe(d, slot)) || pin_decrypt(jwe, strlen(jwe), &pt, &po)) {
		msg("It was not possible to decrypt the passphrase associated to slot %d in %s!", slot, dev);
		return 1;
	}
	if (write_all(1, pt.p, pt.len)) {
		msg("cannot write the passphrase to stdout");
		return 1;
	}
	return 0;
}
