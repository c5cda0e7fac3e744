/* regen.c - the regen applet: `clevis luks regen`.
 *
 * Re-binds a keyslot with its own pin and configuration (tang: the URL, with
 * the advertisement fetched again), for after a server rotated its keys. The
 * keyslot gets a new passphrase and the token / LUKSMeta slot a new JWE, all
 * in one transaction. The existing passphrase comes from the old binding,
 * else from -k / $KEY / a prompt.
 *
 * Trust: clevis re-binds with -y, trusting whatever answers at the URL. Here a
 * new advertisement is trusted without asking only when a signing key of the
 * one the old binding stored signed it (tang signs url/adv/THP with the key
 * THP names, rotated keys included, for exactly this); when the server no
 * longer has any old signing key, bind's rules: the /dev/tty prompt, or a
 * refusal without a terminal unless -y. */
#include "applets.h"
#include "volume/volume.h"
#include "pin/pin.h"
#include "runtime/runtime.h"

#include <stdio.h>
#include <string.h>

#include "../crypto/json.h"
#include "../luks/bind.h"
#include "../luks/device.h"

static const struct applet_help help = {
	.usage = "-d DEV -s SLOT [-q] [-y] [-k KEYFILE|-]",
	.about = "Regenerates the clevis binding of a keyslot, as `clevis luks regen`.",
	.opts = (const struct option_spec[]){
		LUKS_OPTION_DEV,
		LUKS_OPTION_SLOT("the bound keyslot"),
		{ 'q', NULL, NULL, "do not ask for confirmation on /dev/tty" },
		{ 'y', NULL, NULL, "trust the server's new advertisement even when no signing\n"
				   "key of the stored one vouches for it (clevis's behaviour)" },
		{ 'k', NULL, "KEYFILE", "the existing key when the old binding cannot be decrypted" },
		{ 0 } },
	.epilogue = "Exit status: 0 regenerated, 1 error (the volume is unchanged), 2 usage.",
};

/* The old binding's passphrase, else one from the user. */
static int existing_key(const char *jwe, const char *keyfile, struct buf *key)
{
	struct pin_opts po = { .quiet = true, .deadline_ms = clock_mono_ms() + PIN_DEFAULT_TIMEOUT_MS };

	if (pin_decrypt(jwe, strlen(jwe), key, &po) == 0)
		return 0;
	return read_existing_key(keyfile, key);
}

static int regen(struct luks_dev *d, const char *dev, int slot, const char *keyfile, bool quiet, bool yes)
{
	AUTO_FREE char *jwe = slot_jwe(d, slot), *pin = NULL, *cfg_text = NULL, *new_jwe = NULL;
	AUTO_JSON cfg = NULL;
	AUTO_JSON regen_cfg = NULL;
	AUTO_BUF key = { 0 };
	AUTO_BUF pass = { 0 };
	struct pin_opts po = { .assume_yes = yes, .regen = true };
	struct bind_request req = { .slot = slot, .token_id = -1, .replace = 1 };
	const char *err = NULL;

	if (!jwe || !(pin = pin_name(jwe, strlen(jwe), true)) || !(cfg = pin_list_config(jwe, strlen(jwe))) ||
	    !(cfg_text = cJSON_PrintUnformatted(cfg)) || !(regen_cfg = pin_regen_config(jwe, strlen(jwe)))) {
		msg("%s: keyslot %d has no clevis binding", dev, slot);
		return 1;
	}
	/* pin and config come from the token: escaped for the terminal */
	printf("Regenerating binding (device %s, slot %d):\nPin: ", dev, slot);
	fput_escaped(stdout, pin);
	printf(", Config: '");
	fput_escaped(stdout, cfg_text);
	printf("'\n");
	fflush(stdout);
	if (!quiet && !tty_confirm("Do you want to proceed? [ynYN] "))
		return 1;
	if (existing_key(jwe, keyfile, &key) || new_passphrase(&pass))
		return 1;
	/* cfg plus the stored advertisements, which vouch for the new ones */
	if (!(new_jwe = pin_encrypt(pin, regen_cfg, pass.p, pass.len, &po)))
		return 1;
	req.old_pass = &key;
	req.new_pass = &pass;
	req.jwe = new_jwe;
	if (bind_luks(d, &req, &err) < 0) {
		msg("%s: cannot regenerate keyslot %d: %s%s%s", dev, slot, err, *bind_rescue_path() ? " " : "",
		    bind_rescue_path());
		return 1;
	}
	fprintf(stderr, "Binding regenerated successfully\n");
	return 0;
}

int regen_main(int argc, char **argv)
{
	struct luks_opts o;
	AUTO_LUKS d = NULL;
	int r;

	if ((r = luks_parse_opts(argc, argv, &help, true, &o)) >= 0)
		return r;
	if (!(d = open_device(o.dev)))
		return 1;
	return regen(d, o.dev, o.slot, o.keyfile, o.flags & LUKS_FLAG('q'), o.flags & LUKS_FLAG('y'));
}
