/* fuzz_jwe.c - libFuzzer target: bytes → JWE (compact or JSON) → decrypt
 * attempts with a fixed EC key and a fixed oct key; re-serialisation. */
#include <stdint.h>
#include <stdlib.h>

#include "../../crypto/json.h"
#include "../../crypto/secret.h"
#include "../../crypto/jwe.h"
#include "../../crypto/jwk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static cJSON *ec, *oct;
	const char *err;
	struct jwe j;

	if (!ec) {
		cJSON *t = json_parse_str("{\"alg\":\"ECMR\",\"crv\":\"P-256\"}");
		cJSON *o = json_parse_str("{\"alg\":\"A256GCM\"}");
		ec = jwk_generate(t, &err);
		oct = jwk_generate(o, &err);
		cJSON_Delete(t);
		cJSON_Delete(o);
	}
	if (jwe_parse((const char *)data, size, &j, &err))
		return 0;
	AUTO_BUF a = { 0 };
	AUTO_BUF b = { 0 };
	(void)jwe_decrypt(&j, ec, &a, &err);
	(void)jwe_decrypt(&j, oct, &b, &err);
	AUTO_FREE char *c = jwe_compact(&j);
	AUTO_JSON f = jwe_flattened(&j);
	(void)c, (void)f;
	jwe_free(&j);
	return 0;
}
