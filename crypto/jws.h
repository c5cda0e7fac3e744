/* jws.h - JSON Web Signatures (RFC 7515) with ES256/ES384/ES512.
 * Produces flattened JSON for one signature and general JSON for several,
 * as tang does; reads compact, flattened and general forms. */
#ifndef NBDE_JWS_H
#define NBDE_JWS_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>
#include "jwk.h"
#include "secret.h"

/* Each signature's protected header is canonical(tmpl + {"alg": key alg}).
 * keys must hold private parts. */
cJSON *jws_sign(const void *payload, size_t len, const cJSON *tmpl,
		struct ec_key *const *keys, size_t nkeys, const char **err);
/* Any form to a JSON object; compact input becomes flattened JSON. */
cJSON *jws_parse(const char *text, size_t len);
/* True when at least one signature verifies with this public JWK. */
bool jws_verify(const cJSON *jws, const cJSON *jwk);
/* True when every key of the array verifies some signature (jose -a). */
bool jws_verify_all(const cJSON *jws, const cJSON *keys);
int jws_payload(const cJSON *jws, struct buf *out);
/* Compact form of a flattened JWS (one signature); NULL otherwise. */
char *jws_compact(const cJSON *jws);

#endif
