/* list.c - the list applet: `clevis luks list`.
 *
 * One line per bound keyslot in clevis's format, `1: tang '{"url":"…"}'`
 * (sss rebuilt recursively), or with -p the pins used, `1: sss tang`. With
 * -s on a keyslot that is not bound: exit 1 and no output (deployment
 * scripts test bindings this way). */
#include "applets.h"
#include "volume/volume.h"
#include "pin/pin.h"
#include "runtime/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../crypto/json.h"
#include "../luks/device.h"
#include "../luks/luksmeta.h"

static const struct applet_help help = {
	.usage = "-d DEV [-s SLOT] [-p]",
	.about = "Lists the clevis bindings of a LUKS volume, as `clevis luks list`:\n"
		 "  SLOT: PIN 'CONFIG'    or with -p    SLOT: PIN PIN...",
	.opts = (const struct option_spec[]){
		LUKS_OPTION_DEV,
		LUKS_OPTION_SLOT("only that keyslot"),
		{ 'p', NULL, NULL, "only the pins used (nested ones included)" },
		{ 0 } },
	.epilogue = "Exit status: 0 listed, 1 error or (with -s) the keyslot is not bound, 2 usage.",
};

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "sss tang": the pins, sorted, each once. */
static int print_pins(int slot, const char *jwe)
{
	AUTO_JSON names = cJSON_CreateArray();
	const char *v[64];
	int n = 0;
	const cJSON *it;

	if (!names || pin_used_names(jwe, strlen(jwe), names))
		return -1;
	cJSON_ArrayForEach(it, names)
		if (n < 64)
			v[n++] = it->valuestring;
	qsort(v, (size_t)n, sizeof(v[0]), cmp_names);
	printf("%d:", slot);
	for (int i = 0; i < n; i++) {
		putchar(' ');
		fput_escaped(stdout, v[i]);	/* names come from the token */
	}
	printf("\n");
	return 0;
}

static int print_config(int slot, const char *jwe)
{
	AUTO_FREE char *pin = pin_name(jwe, strlen(jwe), true);
	AUTO_JSON cfg = pin_list_config(jwe, strlen(jwe));
	/* clevis prints jq -c output: members in the order built (t before pins) */
	AUTO_FREE char *text = cfg ? cJSON_PrintUnformatted(cfg) : NULL;

	if (!pin || !text)
		return -1;
	/* pin and config come from the token: escaped for the terminal */
	printf("%d: ", slot);
	fput_escaped(stdout, pin);
	printf(" '");
	fput_escaped(stdout, text);
	printf("'\n");
	return 0;
}

static int list_slot(struct luks_dev *d, int slot, bool pins_only)
{
	AUTO_FREE char *jwe = slot_jwe(d, slot);

	if (!jwe)
		return -1;
	return pins_only ? print_pins(slot, jwe) : print_config(slot, jwe);
}

int list_main(int argc, char **argv)
{
	struct luks_opts o;
	const char *dev;
	int slot, r;
	bool pins_only;
	AUTO_LUKS d = NULL;
	struct luksmeta lm;

	if ((r = luks_parse_opts(argc, argv, &help, false, &o)) >= 0)
		return r;
	dev = o.dev;
	slot = o.slot;
	pins_only = o.flags & LUKS_FLAG('p');
	if (!(d = open_device(dev)))
		return 1;
	if (luks_version(d) == 1 && luksmeta_read(d, &lm) < 0) {
		msg("The %s device is not valid!", dev);
		return 1;
	}
	if (slot >= 0)
		return list_slot(d, slot, pins_only) < 0 ? 1 : 0;
	for (int i = 0; i < luks_slot_count(d); i++)
		list_slot(d, i, pins_only);	/* unbound keyslots are skipped */
	return 0;
}
