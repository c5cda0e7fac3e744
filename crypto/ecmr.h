/* ecmr.h - McCallum–Relyea exchange: EC point arithmetic on JWKs.
 *
 * Every input point is validated (on the curve, the expected curve, not
 * infinity) before it enters a multiplication or an addition, and results at
 * infinity are refused. Results are public JWKs {"crv","kty","x","y"}. */
#ifndef NBDE_ECMR_H
#define NBDE_ECMR_H

#include <cjson/cJSON.h>
#include "jwk.h"

/* d(priv) · P(pub); pub must be on priv's curve. The tang /rec operation. */
cJSON *ecmr_mul(const struct ec_key *priv, const cJSON *pub, const char **err);
/* A + B and A − B on A's curve. */
cJSON *ecmr_add(const cJSON *a, const cJSON *b, const char **err);
cJSON *ecmr_sub(const cJSON *a, const cJSON *b, const char **err);
/* `jose jwk exc -l LOCAL -r REMOTE`: local with "d" → d·remote; otherwise
 * local + remote when remote has "d", else local − remote. */
cJSON *ecmr_exchange(const cJSON *local, const cJSON *remote, const char **err);

#endif
