/* fuzz_jws.c - libFuzzer target: bytes → JWS (compact or JSON) → payload
 * and verification against a fixed key. */
#include <stdint.h>
#include <stdlib.h>

#include "../../crypto/json.h"
#include "../../crypto/secret.h"
#include "../../crypto/jwk.h"
#include "../../crypto/jws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static cJSON *pub;
	const char *err;

	if (!pub) {
		cJSON *t = json_parse_str("{\"alg\":\"ES512\"}");
		cJSON *k = jwk_generate(t, &err);
		pub = jwk_public(k);
		cJSON_Delete(t);
		json_delete_secret(k);
	}
	AUTO_JSON jws = jws_parse((const char *)data, size);
	AUTO_BUF p = { 0 };
	if (!jws)
		return 0;
	(void)jws_payload(jws, &p);
	(void)jws_verify(jws, pub);
	return 0;
}
