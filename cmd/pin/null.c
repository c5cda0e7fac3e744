/* null.c - the null pin, as clevis has it for testing: the content key
 * travels in clear in the header (clevis.null.jwk); with {"fail":true} it is
 * left out, so decryption fails. Never protects anything. */
#include "pin.h"
#include "../runtime/runtime.h"

#include "../../crypto/json.h"
#include "../../crypto/jwk.h"

static cJSON *null_header(const cJSON *jwk, bool fail)
{
	AUTO_JSON hdr = cJSON_CreateObject();
	cJSON *clevis, *data;

	if (!hdr || !(clevis = cJSON_AddObjectToObject(hdr, "clevis")) ||
	    !cJSON_AddStringToObject(clevis, "pin", "null") || !(data = cJSON_AddObjectToObject(clevis, "null")))
		return NULL;
	if (!fail && !json_set(data, "jwk", cJSON_Duplicate(jwk, true)))
		return NULL;
	return TAKE_PTR(hdr);
}

char *pin_null_encrypt(const cJSON *cfg, const void *pt, size_t len, const struct pin_opts *o)
{
	AUTO_JSON tmpl = json_parse_str("{\"alg\":\"A256GCM\"}");
	AUTO_JSON_SECRET jwk = NULL;
	AUTO_JSON_SECRET hdr = NULL;
	AUTO_JWE j = { 0 };
	const char *err = "out of memory";
	char *out;

	if (!cJSON_IsObject(cfg)) {
		pin_msg(o, "Configuration is malformed!");
		return NULL;
	}
	if (!tmpl || !(jwk = jwk_generate(tmpl, &err)) ||
	    !(hdr = null_header(jwk, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cfg, "fail")))) ||
	    jwe_encrypt(&j, hdr, jwk, pt, len, &err) || !(out = jwe_compact(&j))) {
		pin_msg(o, "null pin: %s", err);
		return NULL;
	}
	return out;
}

int pin_null_decrypt(const struct jwe *j, struct buf *pt, const struct pin_opts *o)
{
	const cJSON *jwk = json_get_obj(pin_header_data(j->hdr, "null"), "jwk");
	const char *err;

	if (!jwk) {
		pin_msg(o, "JWE missing required 'clevis.null.jwk' header parameter!");
		return -1;
	}
	if (jwe_decrypt(j, jwk, pt, &err)) {
		pin_msg(o, "Unable to decrypt JWE: %s", err);
		return -1;
	}
	return 0;
}
