/* report.c - the report applet: `clevis luks report`.
 *
 * Compares the advertisement each tang pin of a keyslot's binding stored
 * (nested in sss too) with what its server advertises now (signatures
 * checked). No key missing: exit 0, no output. Otherwise it lists the
 * missing keys' S256 thumbprints on stdout, as clevis does, then asks on
 * stdin whether to regenerate (unless -q or -r); -r, or a "y", runs
 * `regen -q -d DEV -s SLOT`, whose exit status it returns. */
#include "applets.h"
#include "volume/volume.h"
#include "pin/pin.h"
#include "runtime/runtime.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../crypto/json.h"
#include "../luks/device.h"


static const struct applet_help help = {
	.usage = "-d DEV -s SLOT [-q] [-r]",
	.about = "Reports the tang keys of a keyslot's binding that were rotated away, as\n"
		 "`clevis luks report`. Servers that do not answer are retried for "
		 STRINGIFY(REPORT_TIMEOUT_S) " s in all.",
	.opts = (const struct option_spec[]){
		LUKS_OPTION_DEV,
		LUKS_OPTION_SLOT("the bound keyslot"),
		{ 'q', NULL, NULL, "do not ask whether to regenerate the binding" },
		{ 'r', NULL, NULL, "regenerate it (regen -q -d DEV -s SLOT) when keys were rotated" },
		{ 0 } },
	.epilogue = "Exit status: 0 no key rotated (or regenerated), 1 keys rotated and not\n"
		    "regenerated, or an error, 2 usage.",
};

/* As clevis's `read -r -p`: the prompt only when stdin is a terminal. */
static bool ask_regen(const char *dev, int slot)
{
	AUTO_BUF ans = { 0 };

	if (isatty(0)) {
		fprintf(stderr, "Do you want to regenerate the binding with \"clevis luks regen -q -d %s -s %d\"? [ynYN] ",
			dev, slot);
		fflush(stderr);
	}
	if (read_line(0, 64, &ans) || ans.len != 1)
		return false;
	return ans.p[0] == 'y' || ans.p[0] == 'Y';
}

static int regen_slot(const char *dev, int slot)
{
	char s[16];
	char *argv[] = { "regen", "-q", "-d", (char *)dev, "-s", s, NULL };

	snprintf(s, sizeof(s), "%d", slot);
	return regen_main(6, argv);
}

int report_main(int argc, char **argv)
{
	struct luks_opts o;
	AUTO_LUKS d = NULL;
	AUTO_FREE char *jwe = NULL;
	AUTO_JSON rotated = cJSON_CreateArray();
	struct pin_opts po = { .deadline_ms = clock_mono_ms() + REPORT_TIMEOUT_S * 1000LL };
	const cJSON *k;
	int r;

	if ((r = luks_parse_opts(argc, argv, &help, true, &o)) >= 0)
		return r;
	if (!(d = open_device(o.dev)))
		return 1;
	if (!(jwe = slot_jwe(d, o.slot))) {
		msg("%s: keyslot %d has no clevis binding", o.dev, o.slot);
		return 1;
	}
	if (!rotated || pin_rotated_keys(jwe, strlen(jwe), rotated, &po)) {
		msg("Unable to verify whether there are rotated keys");
		return 1;
	}
	if (!cJSON_GetArraySize(rotated))
		return 0;
	printf("The following keys are not in the current advertisement and were probably rotated:\n");
	cJSON_ArrayForEach(k, rotated) {
		printf("  ");
		fput_escaped(stdout, k->valuestring);
		printf("\n");
	}
	fflush(stdout);
	if (o.flags & LUKS_FLAG('r') || (!(o.flags & LUKS_FLAG('q')) && ask_regen(o.dev, o.slot))) {
		luks_close(d);
		d = NULL;
		return regen_slot(o.dev, o.slot);
	}
	return 1;
}
