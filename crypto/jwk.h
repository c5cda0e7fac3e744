/* jwk.h - JSON Web Keys (RFC 7517/7518): EC P-256/P-384/P-521 and oct.
 *
 * JWKs travel as cJSON objects. An EC key that is about to be used is first
 * turned into a struct ec_key, which exists only after the point has been
 * checked (right coordinate lengths, on the named curve, not infinity) and,
 * when "d" is present, after d·G == (x, y) has been verified. */
#ifndef NBDE_JWK_H
#define NBDE_JWK_H

#include <stdbool.h>
#include <cjson/cJSON.h>

struct ec_key;

/* Bytes of the largest coordinate nbde handles (P-521: 521 bits), and of an
 * uncompressed point of that size (0x04, x, y). */
#define EC_COORD_MAX 66
#define EC_POINT_MAX (1 + 2 * EC_COORD_MAX)

/* NULL on failure with *err naming what is wrong (a static string). */
struct ec_key *ec_key_from_jwk(const cJSON *jwk, const char **err);
void ec_key_free(struct ec_key *k);
bool ec_key_has_private(const struct ec_key *k);
const char *ec_key_crv(const struct ec_key *k);
/* The JWS algorithm of the key's curve: ES256, ES384 or ES512. */
const char *ec_key_sig_alg(const struct ec_key *k);
/* A fresh key pair on the curve named crv, for one exchange: it never
 * becomes a JWK, so it needs no d·G check (ec_key_from_jwk() would repeat
 * the multiplication). NULL on failure with *err set. */
struct ec_key *ec_key_generate(const char *crv, const char **err);
/* Public JWK {"crv","kty","x","y"} of the key. */
cJSON *ec_key_public_jwk(const struct ec_key *k);

void cleanup_ec_key(struct ec_key **k);
#define AUTO_EC_KEY __attribute__((cleanup(cleanup_ec_key))) struct ec_key *

/* Generates a key from a template as `jose jwk gen -i TMPL` does:
 * {"alg":"ES256|ES384|ES512"} signing keys, {"alg":"ECMR"} exchange keys
 * (P-521 unless "crv" says otherwise), {"alg":"A256GCM"} oct keys.
 * Template members are kept; key_ops is filled in when absent. */
cJSON *jwk_generate(const cJSON *tmpl, const char **err);

/* Copy without private members; private-only key_ops removed. */
cJSON *jwk_public(const cJSON *jwk);

/* RFC 7638 thumbprint under S1/S224/S256/S384/S512, base64url; NULL on error. */
char *jwk_thumbprint(const cJSON *jwk, const char *hash);
/* True when jwk's thumbprint under any of the five hashes equals thp. */
bool jwk_thumbprint_matches(const cJSON *jwk, const char *thp);

/* jose's permission rule: key_ops contains op, or use maps to op
 * ("sig": sign/verify; "enc": encrypt/decrypt/wrapKey/unwrapKey). A key with
 * neither member is permitted unless strict. */
bool jwk_allows(const cJSON *jwk, const char *op, bool strict);

/* Wipes every string inside v (private scalars, symmetric keys) then frees it. */
void json_delete_secret(cJSON *v);
void cleanup_json_secret(cJSON **p);
#define AUTO_JSON_SECRET __attribute__((cleanup(cleanup_json_secret))) cJSON *

#endif
