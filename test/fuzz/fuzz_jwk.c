/* fuzz_jwk.c - libFuzzer target: bytes → JSON → JWK validation, public
 * part, thumbprints and an ECMR multiplication with a fixed key. */
#include <stdint.h>
#include <stdlib.h>

#include "../../crypto/ecmr.h"
#include "../../crypto/json.h"
#include "../../crypto/secret.h"
#include "../../crypto/jwk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ec_key *server;
	const char *err;

	if (!server) {
		cJSON *t = json_parse_str("{\"alg\":\"ECMR\"}");
		cJSON *k = jwk_generate(t, &err);
		server = ec_key_from_jwk(k, &err);
		cJSON_Delete(t);
		json_delete_secret(k);
	}
	AUTO_JSON jwk = json_parse((const char *)data, size);
	if (!jwk)
		return 0;
	AUTO_EC_KEY k = ec_key_from_jwk(jwk, &err);
	AUTO_JSON pub = jwk_public(jwk);
	AUTO_FREE char *thp = jwk_thumbprint(jwk, "S256");
	AUTO_FREE char *canon = json_canonical(jwk);
	AUTO_JSON r = ecmr_mul(server, jwk, &err);
	(void)jwk_allows(jwk, "deriveKey", false);
	(void)k, (void)pub, (void)thp, (void)canon, (void)r;
	return 0;
}
