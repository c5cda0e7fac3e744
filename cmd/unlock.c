/* unlock.c - the unlock applet: `clevis luks unlock`, with every binding
 * tried at once under one deadline.
 *
 * Each bound keyslot's JWE is decrypted in its own thread under the shared
 * absolute deadline (volume/slot_race.h); the main thread tries each
 * recovered passphrase on its keyslot as it arrives, and the first that
 * opens wins. Nothing secret is printed. */
#include "applets.h"
#include "volume/slot_race.h"
#include "volume/volume.h"
#include "pin/pin.h"
#include "runtime/options.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../luks/device.h"

struct unlock_opts {
	const char *dev, *name;
	uint32_t flags;
	bool test;
	int only_slot;		/* -t SLOT (clevis): test that keyslot's binding only; -1: all */
	long timeout_s;
};

enum { OPT_TEST = OPTION_LONG(0), OPT_TIMEOUT, OPT_CRYPTTAB };

static const struct applet_help help = {
	.usage = "-d DEV [-n NAME] [-o OPTS] [--crypttab-options OPTS] [--test | -t SLOT] [--timeout SEC]",
	.about = "Unlocks a LUKS volume with its clevis bindings, all tried at once.",
	.opts = (const struct option_spec[]){
		{ 'd', NULL, "DEV", "the LUKS device or image file" },
		{ 'n', NULL, "NAME", "device-mapper name (default: luks-<LUKS UUID>)" },
		{ 'o', NULL, "OPTS", "cryptsetup open options: --readonly, --allow-discards,\n"
				     "--perf-same_cpu_crypt, --perf-submit_from_crypt_cpus,\n"
				     "--perf-no_read_workqueue, --perf-no_write_workqueue" },
		{ OPT_CRYPTTAB, "crypttab-options", "OPTS", "crypttab's options field (discard, readonly, same-cpu-crypt,\n"
							    "...); those not about activating are ignored" },
		{ OPT_TEST, "test", NULL, "only check that a binding opens a keyslot; activate nothing" },
		{ 't', NULL, "SLOT", "--test with keyslot SLOT's binding only (clevis's -t)" },
		{ OPT_TIMEOUT, "timeout", "SEC", "overall deadline in seconds (default: nbde.timeout= on the\n"
							   "kernel command line, else " STRINGIFY(PIN_DEFAULT_TIMEOUT_S) ")" },
		{ 0 } },
	.epilogue = "Exit status: 0 unlocked (or --test passed), 1 no binding opened the volume\n"
		    "within the deadline, 2 usage, 3 the device cannot be read or is not LUKS,\n"
		    "4 no clevis binding on the device, 5 a binding opened a keyslot but\n"
		    "activating the volume failed.",
};

static int parse_open_options(const char *opts, uint32_t *flags)
{
	char copy[1024], *save = NULL;

	snprintf(copy, sizeof(copy), "%s", opts);
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		uint32_t f = luks_activate_flag(w);
		if (!f) {
			msg("-o: unsupported cryptsetup open option '%s'", w);
			return -1;
		}
		*flags |= f;
	}
	return 0;
}

/* crypttab's comma-separated options: the activation flags among them
 * (the boot hooks pass the field as it is). */
static void parse_crypttab_options(const char *opts, uint32_t *flags)
{
	char copy[1024], *save = NULL;

	snprintf(copy, sizeof(copy), "%s", opts);
	for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save))
		*flags |= luks_crypttab_flag(w);
}

/* 0 to go on, -1 when -h was answered, else the exit status. */
static int parse(int argc, char **argv, struct unlock_opts *o)
{
	int c;

	while ((c = options_next(argc, argv, &help)) != OPTIONS_END) {
		switch (c) {
		case OPTIONS_HELP: return -1;
		case OPTIONS_ERROR: return exit_usage();
		case 'd': o->dev = optarg; break;
		case 'n': o->name = optarg; break;
		case OPT_TEST: o->test = true; break;
		case 't':
			if (!parse_slot_arg(optarg, "keyslot", &o->only_slot))
				return exit_usage();
			o->test = true;
			break;
		case 'o':
			if (parse_open_options(optarg, &o->flags))
				return exit_usage();
			break;
		case OPT_CRYPTTAB: parse_crypttab_options(optarg, &o->flags); break;
		case OPT_TIMEOUT:
			if (!parse_seconds(optarg, "--timeout", &o->timeout_s))
				return exit_usage();
			break;
		}
	}
	if (!o->dev)
		return usage_error(&help, "-d DEV is required");
	return optind != argc ? usage_error(&help, "unexpected argument '%s'", argv[optind]) : 0;
}

/* Tries the recovered passphrases as they arrive until one opens its
 * keyslot. Returns the slot, -ETIMEDOUT when none opened by the deadline,
 * or another -errno when a keyslot opened but activating failed; *tried
 * counts the passphrases tried. */
static int open_first(struct slot_race *r, struct luks_dev *d, const struct unlock_opts *o, int *tried)
{
	struct buf pass = { 0 };
	int slot, rc;

	while ((slot = slot_race_next(r, &pass)) >= 0) {
		(*tried)++;
		rc = luks_activate(d, o->test ? NULL : o->name, slot, pass.p, pass.len, o->flags);
		buf_free(&pass);
		if (rc != -EPERM)	/* opened, or activation itself failed */
			return rc;
	}
	return -ETIMEDOUT;
}

static int report(const struct unlock_opts *o, int result, int tried)
{
	if (result >= 0)
		return 0;
	if (result == -ETIMEDOUT && tried)
		msg("%s: no clevis binding opened it within %lds", o->dev, o->timeout_s);
	else if (result == -ETIMEDOUT)
		msg("%s: no clevis binding could be decrypted within %lds", o->dev, o->timeout_s);
	else {
		msg("%s: a binding opened keyslot but activating '%s' failed: %s", o->dev, o->name,
		    strerror(-result));
		return EXIT_UNLOCK_ACTIVATE;
	}
	return 1;
}

int unlock_main(int argc, char **argv)
{
	struct unlock_opts o = { .timeout_s = boot_timeout(), .only_slot = -1 };
	AUTO_LUKS d = NULL;
	char name[128];
	struct slot_race *r;
	int result, tried = 0;

	if ((result = parse(argc, argv, &o)))
		return result < 0 ? 0 : result;
	if (!(d = open_device(o.dev)))
		return EXIT_UNLOCK_DEVICE;
	if (!o.name) {
		snprintf(name, sizeof(name), "luks-%s", luks_uuid(d) ? luks_uuid(d) : "");
		o.name = name;
	}
	char volume[PIN_VOLUME_MAX];
	snprintf(volume, sizeof(volume), "%s (%s)", o.name, o.dev);
	struct pin_opts po = { .deadline_ms = clock_mono_ms() + o.timeout_s * 1000, .volume = volume };
	int bound = slot_race_start(d, o.only_slot, &po, &r);
	if (bound < 0) {
		msg("out of memory");
		return 1;
	}
	if (!bound) {
		msg(o.only_slot < 0 ? "%s: no clevis binding on this device" : "%s: keyslot %d has no clevis binding", o.dev,
		    o.only_slot);
		return EXIT_UNLOCK_UNBOUND;
	}
	result = open_first(r, d, &o, &tried);
	slot_race_release(r);
	return report(&o, result, tried);
}
