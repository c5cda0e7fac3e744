/* pin.c - the pin API (pins.h): dispatch to the tang, sss, tpm2 and null pins,
 * and the read-only views of a JWE that `list` needs.
 * Not an applet: encrypt.c, decrypt.c and the LUKS applets call it. */
#include "pin.h"
#include "../runtime/runtime.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../../crypto/json.h"

struct pin {
	const char *name;
	char *(*encrypt)(const cJSON *cfg, const void *pt, size_t len, const struct pin_opts *o);
	int (*decrypt)(const struct jwe *j, struct buf *pt, const struct pin_opts *o);
};

static const struct pin pins[] = {
	{ "tang", pin_tang_encrypt, pin_tang_decrypt },
	{ "sss", pin_sss_encrypt, pin_sss_decrypt },
	{ "tpm2", pin_tpm2_encrypt, pin_tpm2_decrypt },
	{ "tpm2pin", pin_tpm2pin_encrypt, pin_tpm2pin_decrypt },
	{ "null", pin_null_encrypt, pin_null_decrypt },
};

static const struct pin *find_pin(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(pins); i++)
		if (!strcmp(pins[i].name, name))
			return &pins[i];
	return NULL;
}

bool pin_cancelled(const struct pin_cancel *c)
{
	return c && atomic_load(&c->stop);
}

void pin_opts_keep_volume(struct pin_opts *o, char *copy)
{
	if (!o->volume)
		return;
	snprintf(copy, PIN_VOLUME_MAX, "%s", o->volume);
	o->volume = copy;
}

bool pin_abandoned(const struct pin_opts *o)
{
	return pin_cancelled(o->cancel);
}

static __thread struct pin_log *thread_log;

void pin_log_capture(struct pin_log *log)
{
	thread_log = log;
}

void pin_msg(const struct pin_opts *o, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (o->quiet || pin_abandoned(o))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (!thread_log) {
		msg("%s", line);
		return;
	}
	size_t room = sizeof(thread_log->text) - thread_log->len;
	int n = snprintf(thread_log->text + thread_log->len, room, "%s\n", line);
	thread_log->len += n < 0 ? 0 : (size_t)n < room ? (size_t)n : room - 1;
}

const cJSON *pin_header_data(const cJSON *hdr, const char *pin)
{
	return json_get_obj(json_get_obj(hdr, "clevis"), pin);
}

/* A copy of the caller's options with the default deadline filled in. */
static struct pin_opts with_deadline(const struct pin_opts *o)
{
	struct pin_opts r = o ? *o : (struct pin_opts){ 0 };
	if (!r.deadline_ms)
		r.deadline_ms = clock_mono_ms() + PIN_DEFAULT_TIMEOUT_MS;
	return r;
}

/* clevis-pin-tpm2 (Rust) names its tokens with signed/authorized policies
 * "tpm2plus": refused by name rather than as an unknown pin. */
static bool pin_not_built(const char *name, const struct pin_opts *o)
{
	if (strcmp(name, "tpm2plus"))
		return false;
	pin_msg(o, "tpm2plus tokens (clevis-pin-tpm2's signed PCR policies) are not supported by nbde; "
		   "only the tpm2 pin's PCR policies are");
	return true;
}

char *pin_encrypt(const char *pin, const cJSON *cfg, const void *pt, size_t len, const struct pin_opts *o)
{
	struct pin_opts opts = with_deadline(o);
	const struct pin *p = find_pin(pin);

	if (!p) {
		if (!pin_not_built(pin, &opts))
			pin_msg(&opts, "Unknown pin '%s' (nbde supports tang, sss, tpm2, tpm2pin and null)", pin);
		return NULL;
	}
	return p->encrypt(cfg, pt, len, &opts);
}

/* clevis.pin of a parsed JWE, or NULL after a message. */
static const char *header_pin(const struct jwe *j, const struct pin_opts *o)
{
	const char *pin = json_get_str(json_get_obj(j->hdr, "clevis"), "pin");
	if (!pin)
		pin_msg(o, "JWE is missing the required 'clevis.pin' header property!");
	return pin;
}

int pin_decrypt(const char *jwe, size_t len, struct buf *pt, const struct pin_opts *o)
{
	struct pin_opts opts = with_deadline(o);
	AUTO_JWE j = { 0 };
	const struct pin *p;
	const char *err, *name;
	char shape_err[128];

	pt->p = NULL;
	pt->len = 0;
	if (jwe_parse(jwe, len, &j, &err)) {
		pin_msg(&opts, "Invalid JWE: %s", err);
		return -1;
	}
	if (!(name = header_pin(&j, &opts)))
		return -1;
	if (!(p = find_pin(name))) {
		if (!pin_not_built(name, &opts))
			pin_msg(&opts, "Unable to locate pin '%s'!", name);
		return -1;
	}
	/* the whole tree, once, before any child thread or connection */
	if (!opts.depth && pin_check_shape(&j, shape_err, sizeof(shape_err))) {
		pin_msg(&opts, "Refusing JWE: %s", shape_err);
		return -1;
	}
	return p->decrypt(&j, pt, &opts);
}

char *pin_name(const char *jwe, size_t len, bool quiet)
{
	struct pin_opts o = { .quiet = quiet };
	AUTO_JWE j = { 0 };
	const char *err, *name;

	if (jwe_parse(jwe, len, &j, &err)) {
		pin_msg(&o, "Invalid JWE: %s", err);
		return NULL;
	}
	name = header_pin(&j, &o);
	return name ? str_dup(name) : NULL;
}

/* --- what `list` shows --- */

static cJSON *list_config_of(const char *jwe, size_t len, int depth, bool stored);

/* Appends cfg to pins[name], an array (or, for sss as clevis prints it, a
 * lone object that becomes an array when a second nested sss appears). */
static bool add_child_config(cJSON *pins_obj, const char *name, cJSON *cfg)
{
	cJSON *slot = cJSON_GetObjectItemCaseSensitive(pins_obj, name);

	if (!strcmp(name, "sss") && !slot)
		return cJSON_AddItemToObject(pins_obj, name, cfg);
	if (slot && !cJSON_IsArray(slot)) {
		cJSON *arr = cJSON_CreateArray();
		if (!arr || !cJSON_AddItemToArray(arr, cJSON_DetachItemViaPointer(pins_obj, slot))) {
			cJSON_Delete(arr);
			cJSON_Delete(cfg);
			return false;
		}
		cJSON_AddItemToObject(pins_obj, name, arr);
		slot = arr;
	}
	if (!slot && !(slot = cJSON_AddArrayToObject(pins_obj, name))) {
		cJSON_Delete(cfg);
		return false;
	}
	return cJSON_AddItemToArray(slot, cfg);
}

/* Child pin names in clevis's order of the "pins" members, then the rest. */
static const char *const list_order[] = { "tang", "tpm1", "tpm2", "tpm2pin", "pkcs11", "null", "sss" };

static cJSON *sss_list_config(const cJSON *sss, int depth, bool stored)
{
	AUTO_JSON cfg = cJSON_CreateObject();
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(sss, "t"), *child;
	const cJSON *jwes = json_get_arr(sss, "jwe");
	cJSON *pins_obj;

	if (!cfg || !cJSON_IsNumber(t) || !cJSON_AddNumberToObject(cfg, "t", t->valuedouble) ||
	    !(pins_obj = cJSON_AddObjectToObject(cfg, "pins")))
		return NULL;
	for (size_t k = 0; k < ARRAY_SIZE(list_order); k++) {
		cJSON_ArrayForEach(child, jwes) {
			AUTO_FREE char *name = NULL;
			if (!cJSON_IsString(child) ||
			    !(name = pin_name(child->valuestring, strlen(child->valuestring), true)))
				return NULL;
			if (strcmp(name, list_order[k]))
				continue;
			cJSON *c = list_config_of(child->valuestring, strlen(child->valuestring), depth + 1, stored);
			if (!c || !add_child_config(pins_obj, name, c))
				return NULL;
		}
	}
	return TAKE_PTR(cfg);
}

/* tang {"url":…}, plus the stored advertisement when stored (for regen). */
static cJSON *tang_list_config(const cJSON *tang, bool stored)
{
	AUTO_JSON cfg = cJSON_CreateObject();
	const char *url = json_get_str(tang, "url");
	const cJSON *adv = json_get_obj(tang, "adv");

	if (!cfg || (url && !cJSON_AddStringToObject(cfg, "url", url)) ||
	    (stored && adv && !json_set(cfg, PIN_TANG_STORED_ADV, cJSON_Duplicate(adv, true))))
		return NULL;
	return TAKE_PTR(cfg);
}

/* tpm2: the config members clevis prints, those the header has */
static cJSON *tpm2_list_config(const cJSON *tpm2)
{
	static const char *const keys[] = { "hash", "key", "pcr_bank", "pcr_ids" };
	AUTO_JSON cfg = cJSON_CreateObject();
	const char *v;

	if (!cfg)
		return NULL;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if ((v = json_get_str(tpm2, keys[i])) && !json_set_str(cfg, keys[i], v))
			return NULL;
	cJSON *r = cfg;
	cfg = NULL;
	return r;
}

static cJSON *list_config_of(const char *jwe, size_t len, int depth, bool stored)
{
	AUTO_JWE j = { 0 };
	const char *err, *pin;

	if (depth > 32 || jwe_parse(jwe, len, &j, &err) ||
	    !(pin = json_get_str(json_get_obj(j.hdr, "clevis"), "pin")))
		return NULL;
	if (!strcmp(pin, "sss"))
		return sss_list_config(pin_header_data(j.hdr, "sss"), depth, stored);
	if (!strcmp(pin, "tang"))
		return tang_list_config(pin_header_data(j.hdr, "tang"), stored);
	if (!strcmp(pin, "tpm2") || !strcmp(pin, "tpm2pin"))
		return tpm2_list_config(pin_header_data(j.hdr, pin));
	return cJSON_CreateObject();
}

cJSON *pin_list_config(const char *jwe, size_t len)
{
	return list_config_of(jwe, len, 0, false);
}

cJSON *pin_regen_config(const char *jwe, size_t len)
{
	return list_config_of(jwe, len, 0, true);
}

static bool add_unique(cJSON *names, const char *name)
{
	if (json_array_has_str(names, name))
		return true;
	cJSON *s = cJSON_CreateString(name);
	return s && cJSON_AddItemToArray(names, s);
}

static int used_names(const char *jwe, size_t len, cJSON *names, int depth)
{
	AUTO_JWE j = { 0 };
	const char *err, *pin;
	const cJSON *child;

	if (depth > 32 || jwe_parse(jwe, len, &j, &err) ||
	    !(pin = json_get_str(json_get_obj(j.hdr, "clevis"), "pin")) || !add_unique(names, pin))
		return -1;
	if (strcmp(pin, "sss"))
		return 0;
	cJSON_ArrayForEach(child, json_get_arr(pin_header_data(j.hdr, "sss"), "jwe")) {
		if (!cJSON_IsString(child) ||
		    used_names(child->valuestring, strlen(child->valuestring), names, depth + 1))
			return -1;
	}
	return 0;
}

bool pin_asks_person(const char *jwe, size_t len)
{
	AUTO_JSON names = cJSON_CreateArray();
	const cJSON *n;

	if (!names || pin_used_names(jwe, len, names))
		return false;
	cJSON_ArrayForEach(n, names)
		if (cJSON_IsString(n) && !strcmp(n->valuestring, "tpm2pin"))
			return true;
	return false;
}

int pin_used_names(const char *jwe, size_t len, cJSON *names)
{
	return used_names(jwe, len, names, 0);
}

/* --- what `report` checks --- */

static int rotated_keys(const char *jwe, size_t len, cJSON *rotated, const struct pin_opts *o, int depth)
{
	AUTO_JWE j = { 0 };
	const char *err, *pin;
	const cJSON *data, *child;

	if (depth > 32 || jwe_parse(jwe, len, &j, &err)) {
		pin_msg(o, "Unable to decode metadata");
		return -1;
	}
	if (!(pin = header_pin(&j, o)))
		return -1;
	if (!(data = pin_header_data(j.hdr, pin))) {
		pin_msg(o, "Invalid pin metadata; no content found");
		return -1;
	}
	if (!strcmp(pin, "tang"))
		return pin_tang_rotated(data, rotated, o);
	if (strcmp(pin, "sss"))
		return 0;	/* no server, nothing rotates */
	cJSON_ArrayForEach(child, json_get_arr(data, "jwe")) {
		if (!cJSON_IsString(child) ||
		    rotated_keys(child->valuestring, strlen(child->valuestring), rotated, o, depth + 1))
			return -1;
	}
	return 0;
}

int pin_rotated_keys(const char *jwe, size_t len, cJSON *rotated, const struct pin_opts *o)
{
	struct pin_opts opts = with_deadline(o);
	return rotated_keys(jwe, len, rotated, &opts, 0);
}
