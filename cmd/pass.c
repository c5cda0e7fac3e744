/* pass.c - the pass applet: `clevis luks pass`.
 *
 * Decrypts the binding of one keyslot and prints its passphrase with no
 * trailing newline, for an on-site technician. It is the only applet that
 * prints a secret, and only because that is its purpose. */
#include "applets.h"
#include "volume/volume.h"
#include "pin/pin.h"
#include "runtime/options.h"
#include "runtime/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../luks/device.h"

enum { OPT_TIMEOUT = OPTION_LONG(0) };

static const struct applet_help help = {
	.usage = "-d DEV -s SLOT [--timeout SEC]",
	.about = "Prints the passphrase bound to a keyslot (no trailing newline), as\n"
		 "`clevis luks pass`.",
	.opts = (const struct option_spec[]){
		LUKS_OPTION_DEV,
		LUKS_OPTION_SLOT("the bound keyslot"),
		{ OPT_TIMEOUT, "timeout", "SEC", "give up on servers after SEC seconds (default "
						 STRINGIFY(PIN_DEFAULT_TIMEOUT_S) ")" },
		{ 0 } },
	.epilogue = "Exit status: 0 printed, 1 the binding could not be decrypted, 2 usage.",
};

/* 0 to go on, -1 when -h was answered, else the exit status. */
static int parse(int argc, char **argv, const char **dev, int *slot, long *timeout_s)
{
	int c;

	while ((c = options_next(argc, argv, &help)) != OPTIONS_END) {
		switch (c) {
		case OPTIONS_HELP: return -1;
		case OPTIONS_ERROR: return exit_usage();
		case 'd': *dev = optarg; break;
		case 's': if (!parse_slot_arg(optarg, "keyslot", slot)) return exit_usage(); break;
		case OPT_TIMEOUT: if (!parse_seconds(optarg, "--timeout", timeout_s)) return exit_usage(); break;
		}
	}
	if (!*dev || *slot < 0)
		return usage_error(&help, "%s is required", !*dev ? "-d DEV" : "-s SLOT");
	return optind != argc ? usage_error(&help, "unexpected argument '%s'", argv[optind]) : 0;
}

int pass_main(int argc, char **argv)
{
	const char *dev = NULL;
	int slot = -1, r;
	long timeout_s = PIN_DEFAULT_TIMEOUT_S;
	AUTO_LUKS d = NULL;
	AUTO_FREE char *jwe = NULL;
	AUTO_BUF pt = { 0 };
	struct pin_opts po = { 0 };

	if ((r = parse(argc, argv, &dev, &slot, &timeout_s)))
		return r < 0 ? 0 : r;
	if (!(d = open_device(dev)))
		return 1;
	po.deadline_ms = clock_mono_ms() + timeout_s * 1000LL;
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
