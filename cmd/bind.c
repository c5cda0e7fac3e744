/* bind.c - the bind applet: `clevis luks bind`.
 *
 * Encrypts a fresh 54-character passphrase with PIN and CFG (trust prompts
 * happen here, before the disk is touched), then adds it in a PBKDF2 keyslot
 * and stores the JWE as clevis does (LUKS2 token, LUKS1 LUKSMeta slot) in
 * one all-or-nothing transaction (luks/bind.h). */
#include "applets.h"
#include "volume/volume.h"
#include "pin/pin.h"
#include "runtime/options.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../crypto/json.h"
#include "../luks/bind.h"
#include "../luks/device.h"
#include "../luks/token.h"

struct bind_opts {
	const char *dev, *keyfile, *pin, *cfg;
	int slot, token, existing_token;
	bool yes;
};

static const struct applet_help help = {
	.usage = "-d DEV [-s SLOT] [-k KEYFILE|- | -e TOKEN] [-t TOKEN] [-y] [-f] PIN CFG",
	.about = "Binds a LUKS1/LUKS2 volume to a pin (tang, sss, tpm2, tpm2pin, null), as `clevis luks bind`.",
	.opts = (const struct option_spec[]){
		{ 'd', NULL, "DEV", "the LUKS device or image file" },
		{ 's', NULL, "SLOT", "the keyslot for the new passphrase (default: the first free one)" },
		{ 'k', NULL, "KEYFILE", "the existing key from a file; -k - reads one line of stdin\n"
					"(default: the file in $KEY, else a prompt without echo)" },
		{ 'e', NULL, "TOKEN", "the existing key from the kernel keyring, through the LUKS2\n"
				      "keyring token TOKEN (cryptsetup token add --key-description)" },
		{ 't', NULL, "TOKEN", "LUKS2 token id for the binding (default: the first free one)" },
		{ 'y', NULL, NULL, "trust tang advertisements without asking (implies -f)" },
		{ 'f', NULL, NULL, "no questions about initialising LUKSMeta (LUKS1)" },
		{ 0 } },
	.epilogue = "Exit status: 0 bound, 1 failed (the volume is unchanged), 2 usage.",
	.in_order = true,
};

/* 0 to go on, -1 when -h was answered, else the exit status. */
static int parse(int argc, char **argv, struct bind_opts *o)
{
	int c;

	while ((c = options_next(argc, argv, &help)) != OPTIONS_END) {
		switch (c) {
		case OPTIONS_HELP: return -1;
		case OPTIONS_ERROR: return exit_usage();
		case 'f': break;	/* LUKSMeta is initialised without asking anyway */
		case 'y': o->yes = true; break;
		case 'd': o->dev = optarg; break;
		case 'k': o->keyfile = optarg; break;
		case 's': if (!parse_slot_arg(optarg, "keyslot", &o->slot)) return exit_usage(); break;
		case 't': if (!parse_slot_arg(optarg, "token id", &o->token)) return exit_usage(); break;
		case 'e': if (!parse_slot_arg(optarg, "existing token id", &o->existing_token)) return exit_usage(); break;
		}
	}
	if (!o->dev)
		return usage_error(&help, "-d DEV is required");
	/* clevis ignores arguments after PIN and CFG (a deployment role passes one) */
	if (argc - optind < 2)
		return usage_error(&help, "PIN and CFG are required");
	/* clevis's words; clevis lets -k - pass and then ignores it */
	if (o->existing_token >= 0 && o->keyfile) {
		msg("Cannot specify kernel keyring description together with key file");
		return 1;
	}
	o->pin = argv[optind];
	o->cfg = argv[optind + 1];
	return 0;
}

/* Everything that can be refused is checked before the pin runs. */
static int preflight(struct luks_dev *d, const struct bind_opts *o, const struct buf *key)
{
	int slot;

	if (o->token >= 0 && luks_version(d) != 2) {
		msg("%s: -t needs a LUKS2 volume", o->dev);
		return -1;
	}
	if (luks_check_passphrase(d, -1, key->p, key->len) < 0) {
		msg("%s: the existing passphrase does not open it", o->dev);
		return -1;
	}
	slot = bind_pick_slot(d, o->slot);
	if (slot < 0)
		msg("%s: %s", o->dev,
		    slot == -EBUSY    ? "the keyslot is in use"
		    : slot == -ERANGE ? "no such keyslot"
				      : "no free keyslot");
	return slot;
}

/* -e: through the LUKS2 keyring token (as clevis's `cryptsetup --token-id`),
 * else -k / $KEY / stdin / a prompt. */
static int existing_key(struct luks_dev *d, const struct bind_opts *o, struct buf *key)
{
	const char *err = NULL;

	if (o->existing_token < 0)
		return read_existing_key(o->keyfile, key);
	if (luks_version(d) != 2) {
		msg("%s: -e needs a LUKS2 volume", o->dev);
		return -1;
	}
	if (token_keyring_passphrase(d, o->existing_token, key, &err) < 0) {
		msg("%s: token %d: %s", o->dev, o->existing_token, err);
		return -1;
	}
	return 0;
}

static int bind_device(struct luks_dev *d, const struct bind_opts *o, const cJSON *cfg)
{
	struct pin_opts po = { .assume_yes = o->yes };
	AUTO_BUF key = { 0 };
	AUTO_BUF pass = { 0 };
	AUTO_FREE char *jwe = NULL;
	struct bind_request req = { .slot = o->slot, .token_id = o->token };
	const char *err = NULL;
	int slot;

	if (existing_key(d, o, &key) || preflight(d, o, &key) < 0 || new_passphrase(&pass))
		return 1;
	if (!(jwe = pin_encrypt(o->pin, cfg, pass.p, pass.len, &po)))
		return 1;
	req.old_pass = &key;
	req.new_pass = &pass;
	req.jwe = jwe;
	slot = bind_luks(d, &req, &err);
	if (slot < 0) {
		msg("%s: cannot bind: %s%s%s", o->dev, err, *bind_rescue_path() ? " " : "", bind_rescue_path());
		return 1;
	}
	return 0;
}

int bind_main(int argc, char **argv)
{
	struct bind_opts o = { .slot = -1, .token = -1, .existing_token = -1 };
	AUTO_LUKS d = NULL;
	AUTO_JSON cfg = NULL;
	int r;

	if ((r = parse(argc, argv, &o)))
		return r < 0 ? 0 : r;
	if (!(cfg = json_parse_str(o.cfg)) || !cJSON_IsObject(cfg)) {
		msg("Configuration is malformed; it should be valid JSON");
		return 1;
	}
	if (!(d = open_device(o.dev)))
		return 1;
	return bind_device(d, &o, cfg);
}
