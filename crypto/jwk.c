/* jwk.c - EC and oct JWKs: validation into struct ec_key, generation,
 * public parts, RFC 7638 thumbprints and jose's key_ops/use permissions. */
#include "jwk.h"
#include "ec_internal.h"
#include "b64url.h"
#include "hash.h"
#include "json.h"
#include "rand.h"
#include "secret.h"

#include <stdlib.h>
#include <string.h>

static const struct curve curves[] = {
	{ "P-256", "ES256", "S256", MBEDTLS_ECP_DP_SECP256R1, 32 },
	{ "P-384", "ES384", "S384", MBEDTLS_ECP_DP_SECP384R1, 48 },
	{ "P-521", "ES512", "S512", MBEDTLS_ECP_DP_SECP521R1, 66 },
};

const struct curve *curve_by_name(const char *crv)
{
	for (size_t i = 0; crv && i < sizeof(curves) / sizeof(curves[0]); i++)
		if (!strcmp(curves[i].crv, crv))
			return &curves[i];
	return NULL;
}

const struct curve *curve_by_sig_alg(const char *alg)
{
	for (size_t i = 0; alg && i < sizeof(curves) / sizeof(curves[0]); i++)
		if (!strcmp(curves[i].sig_alg, alg))
			return &curves[i];
	return NULL;
}

int ec_rng(void *ctx, unsigned char *buf, size_t len)
{
	(void)ctx;
	return rand_bytes(buf, len) ? MBEDTLS_ERR_ECP_RANDOM_FAILED : 0;
}

struct ec_key *ec_key_new(const struct curve *c)
{
	struct ec_key *k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->c = c;
	mbedtls_ecp_group_init(&k->grp);
	mbedtls_ecp_point_init(&k->Q);
	mbedtls_mpi_init(&k->d);
	if (mbedtls_ecp_group_load(&k->grp, c->id)) {
		ec_key_free(k);
		return NULL;
	}
	return k;
}

void ec_key_free(struct ec_key *k)
{
	if (!k)
		return;
	mbedtls_mpi_free(&k->d);	/* zeroizes the limbs */
	mbedtls_ecp_point_free(&k->Q);
	mbedtls_ecp_group_free(&k->grp);
	free(k);
}

void cleanup_ec_key(struct ec_key **k)
{
	ec_key_free(*k);
	*k = NULL;
}

bool ec_key_has_private(const struct ec_key *k)
{
	return k->has_d;
}

const char *ec_key_crv(const struct ec_key *k)
{
	return k->c->crv;
}

const char *ec_key_sig_alg(const struct ec_key *k)
{
	return k->c->sig_alg;
}

static int decode_fixed(const cJSON *jwk, const char *name, size_t size, struct buf *out)
{
	const char *s = json_get_str(jwk, name);
	if (!s || b64url_decode_str(s, out))
		return -1;
	if (out->len != size) {
		buf_free(out);
		return -1;
	}
	return 0;
}

int ec_point_from_jwk(const struct ec_key *k, const cJSON *jwk, mbedtls_ecp_point *P, const char **err)
{
	const char *kty = json_get_str(jwk, "kty"), *crv = json_get_str(jwk, "crv");
	AUTO_BUF x = { 0 };
	AUTO_BUF y = { 0 };
	unsigned char raw[EC_POINT_MAX];
	size_t n = k->c->size;

	if (!kty || strcmp(kty, "EC")) {
		*err = "JWK \"kty\" is not \"EC\"";
		return -1;
	}
	if (!crv || !curve_by_name(crv)) {
		*err = "JWK \"crv\" is missing or not P-256, P-384 or P-521";
		return -1;
	}
	if (strcmp(crv, k->c->crv)) {
		*err = "JWK \"crv\" is not the expected curve";
		return -1;
	}
	if (decode_fixed(jwk, "x", n, &x) || decode_fixed(jwk, "y", n, &y)) {
		*err = "JWK \"x\" or \"y\" is missing, not base64url or of the wrong length";
		return -1;
	}
	raw[0] = 0x04;
	memcpy(raw + 1, x.p, n);
	memcpy(raw + 1 + n, y.p, n);
	if (mbedtls_ecp_point_read_binary(&k->grp, P, raw, 1 + 2 * n) ||
	    mbedtls_ecp_check_pubkey(&k->grp, P)) {
		*err = "JWK point is not on the curve";
		return -1;
	}
	return 0;
}

static bool may_sign(const cJSON *jwk)
{
	const char *alg = json_get_str(jwk, "alg");
	return !alg || strcmp(alg, "ECMR");
}

static int check_private(struct ec_key *k, const cJSON *jwk, const char **err)
{
	AUTO_BUF d = { 0 };
	mbedtls_ecp_point dG;
	int r;

	if (!cJSON_GetObjectItemCaseSensitive(jwk, "d"))
		return 0;
	if (decode_fixed(jwk, "d", k->c->size, &d) ||
	    mbedtls_mpi_read_binary(&k->d, d.p, d.len) ||
	    mbedtls_ecp_check_privkey(&k->grp, &k->d)) {
		*err = "JWK \"d\" is not a valid private scalar";
		return -1;
	}
	mbedtls_ecp_point_init(&dG);
	/* An ECMR key never signs; any other key primes Mbed TLS's G table
	 * here, before it is shared (see struct ec_key). */
	if (may_sign(jwk))
		r = mbedtls_ecp_mul(&k->grp, &dG, &k->d, &k->grp.G, ec_rng, NULL);
	else
		r = ec_mul(k, &dG, &k->d, &k->grp.G);
	if (!r)
		r = mbedtls_ecp_point_cmp(&dG, &k->Q);
	mbedtls_ecp_point_free(&dG);
	if (r) {
		*err = "JWK \"d\" does not match its public point";
		return -1;
	}
	k->has_d = true;
	return 0;
}

struct ec_key *ec_key_from_jwk(const cJSON *jwk, const char **err)
{
	const struct curve *c;
	struct ec_key *k;

	if (!cJSON_IsObject(jwk)) {
		*err = "JWK is not a JSON object";
		return NULL;
	}
	c = curve_by_name(json_get_str(jwk, "crv"));
	if (!c) {
		const char *kty = json_get_str(jwk, "kty");
		*err = kty && !strcmp(kty, "EC") ? "JWK \"crv\" is missing or not P-256, P-384 or P-521"
						 : "JWK \"kty\" is not \"EC\"";
		return NULL;
	}
	k = ec_key_new(c);
	if (!k) {
		*err = "out of memory";
		return NULL;
	}
	if (ec_point_from_jwk(k, jwk, &k->Q, err) || check_private(k, jwk, err)) {
		ec_key_free(k);
		return NULL;
	}
	return k;
}

struct ec_key *ec_key_generate(const char *crv, const char **err)
{
	const struct curve *c = curve_by_name(crv);
	struct ec_key *k = c ? ec_key_new(c) : NULL;

	if (!k || ec_gen_keypair(k)) {
		*err = c ? "EC key generation failed" : "key template: unsupported \"alg\" or \"crv\"";
		ec_key_free(k);
		return NULL;
	}
	k->has_d = true;
	return k;
}

static bool put_b64(cJSON *o, const char *name, const unsigned char *p, size_t n)
{
	char *s = b64url_encode(p, n);
	bool ok = s && json_set_str(o, name, s);
	if (s)
		str_free_secret(s);
	return ok;
}

cJSON *ec_point_jwk(const struct ec_key *k, const mbedtls_ecp_point *P)
{
	unsigned char raw[EC_POINT_MAX];
	size_t olen = 0, n = k->c->size;
	cJSON *o;

	if (mbedtls_ecp_is_zero((mbedtls_ecp_point *)P) ||
	    mbedtls_ecp_point_write_binary(&k->grp, P, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, raw, sizeof(raw)) ||
	    olen != 1 + 2 * n)
		return NULL;
	o = cJSON_CreateObject();
	if (!o || !json_set_str(o, "kty", "EC") || !json_set_str(o, "crv", k->c->crv) ||
	    !put_b64(o, "x", raw + 1, n) || !put_b64(o, "y", raw + 1 + n, n)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

cJSON *ec_key_public_jwk(const struct ec_key *k)
{
	return ec_point_jwk(k, &k->Q);
}

static cJSON *ops_array(const char *a, const char *b)
{
	cJSON *arr = cJSON_CreateArray();
	if (arr && a)
		cJSON_AddItemToArray(arr, cJSON_CreateString(a));
	if (arr && b)
		cJSON_AddItemToArray(arr, cJSON_CreateString(b));
	return arr;
}

static cJSON *generate_ec(const cJSON *tmpl, const struct curve *c, const char **err)
{
	AUTO_EC_KEY k = ec_key_new(c);
	unsigned char d[EC_COORD_MAX];
	cJSON *out = NULL;

	if (!k || ec_gen_keypair(k) ||
	    mbedtls_mpi_write_binary(&k->d, d, c->size)) {
		*err = "EC key generation failed";
		goto done;
	}
	out = cJSON_Duplicate(tmpl, true);
	cJSON *pub = ec_point_jwk(k, &k->Q);
	const cJSON *m;
	if (!out || !pub) {
		cJSON_Delete(pub);
		json_delete_secret(out);
		out = NULL;
		*err = "out of memory";
		goto done;
	}
	cJSON_ArrayForEach(m, pub) json_set(out, m->string, cJSON_Duplicate(m, true));
	cJSON_Delete(pub);
	if (!put_b64(out, "d", d, c->size)) {
		json_delete_secret(out);
		out = NULL;
		*err = "out of memory";
	}
done:
	wipe(d, sizeof(d));
	return out;
}

static cJSON *generate_oct(const cJSON *tmpl, size_t bytes, const char **err)
{
	unsigned char k[64];
	cJSON *out = cJSON_Duplicate(tmpl, true);

	if (!out || rand_bytes(k, bytes) || !json_set_str(out, "kty", "oct") || !put_b64(out, "k", k, bytes)) {
		json_delete_secret(out);
		out = NULL;
		*err = "oct key generation failed";
	}
	if (out && !cJSON_GetObjectItemCaseSensitive(out, "key_ops"))
		json_set(out, "key_ops", ops_array("encrypt", "decrypt"));
	wipe(k, sizeof(k));
	return out;
}

cJSON *jwk_generate(const cJSON *tmpl, const char **err)
{
	const char *alg = json_get_str(tmpl, "alg");
	const char *crv = json_get_str(tmpl, "crv");
	const struct curve *c;
	cJSON *out;

	if (!cJSON_IsObject(tmpl) || !alg) {
		*err = "key template needs an \"alg\"";
		return NULL;
	}
	if (!strcmp(alg, "A256GCM"))
		return generate_oct(tmpl, 32, err);
	if (!strcmp(alg, "ECMR")) {
		c = curve_by_name(crv ? crv : "P-521");
	} else {
		c = curve_by_sig_alg(alg);
		if (c && crv && strcmp(crv, c->crv))
			c = NULL;
	}
	if (!c) {
		*err = "key template: unsupported \"alg\" or \"crv\"";
		return NULL;
	}
	out = generate_ec(tmpl, c, err);
	if (out && !cJSON_GetObjectItemCaseSensitive(out, "key_ops")) {
		bool ecmr = !strcmp(alg, "ECMR");
		json_set(out, "key_ops", ecmr ? ops_array("deriveKey", NULL) : ops_array("sign", "verify"));
	}
	return out;
}

static bool is_private_member(const char *name)
{
	static const char *const priv[] = { "d", "p", "q", "dp", "dq", "qi", "k", "oth" };
	for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++)
		if (!strcmp(name, priv[i]))
			return true;
	return false;
}

static bool is_private_op(const char *op)
{
	return !strcmp(op, "sign") || !strcmp(op, "decrypt") || !strcmp(op, "unwrapKey");
}

cJSON *jwk_public(const cJSON *jwk)
{
	cJSON *out = cJSON_CreateObject();
	const cJSON *m, *op;

	if (!out || !cJSON_IsObject(jwk))
		goto fail;
	cJSON_ArrayForEach(m, jwk) {
		cJSON *copy;
		if (is_private_member(m->string))
			continue;
		if (!strcmp(m->string, "key_ops") && cJSON_IsArray(m)) {
			copy = cJSON_CreateArray();
			cJSON_ArrayForEach(op, m) {
				if (!cJSON_IsString(op) || !is_private_op(op->valuestring))
					cJSON_AddItemToArray(copy, cJSON_Duplicate(op, true));
			}
		} else {
			copy = cJSON_Duplicate(m, true);
		}
		if (!copy || !cJSON_AddItemToObject(out, m->string, copy))
			goto fail;
	}
	return out;
fail:
	cJSON_Delete(out);
	return NULL;
}

char *jwk_thumbprint(const cJSON *jwk, const char *hash)
{
	static const char *const ec[] = { "crv", "kty", "x", "y", NULL };
	static const char *const oct[] = { "k", "kty", NULL };
	static const char *const rsa[] = { "e", "kty", "n", NULL };
	const char *kty = json_get_str(jwk, "kty");
	const char *const *req;
	unsigned char md[HASH_MAX_LEN];
	size_t mdlen;
	char *text, *thp = NULL;

	if (!kty || !hash_len(hash))
		return NULL;
	req = !strcmp(kty, "EC") ? ec : !strcmp(kty, "oct") ? oct : !strcmp(kty, "RSA") ? rsa : NULL;
	if (!req)
		return NULL;
	AUTO_JSON_SECRET t = cJSON_CreateObject();
	for (; t && *req; req++) {
		const char *v = json_get_str(jwk, *req);
		if (!v || !json_set_str(t, *req, v))
			return NULL;
	}
	text = json_canonical(t);
	if (!text)
		return NULL;
	mdlen = hash_compute(hash, text, strlen(text), md);
	str_free_secret(text);
	if (mdlen)
		thp = b64url_encode(md, mdlen);
	return thp;
}

bool jwk_thumbprint_matches(const cJSON *jwk, const char *thp)
{
	for (size_t i = 0; thp && i < HASH_COUNT; i++) {
		AUTO_FREE char *t = jwk_thumbprint(jwk, hash_names[i]);
		if (t && !strcmp(t, thp))
			return true;
	}
	return false;
}

static bool use_maps_to(const char *use, const char *op)
{
	if (!strcmp(use, "sig"))
		return !strcmp(op, "sign") || !strcmp(op, "verify");
	if (!strcmp(use, "enc"))
		return !strcmp(op, "encrypt") || !strcmp(op, "decrypt") || !strcmp(op, "wrapKey") ||
		       !strcmp(op, "unwrapKey");
	return false;
}

bool jwk_allows(const cJSON *jwk, const char *op, bool strict)
{
	const cJSON *ops = cJSON_GetObjectItemCaseSensitive(jwk, "key_ops");
	const cJSON *use = cJSON_GetObjectItemCaseSensitive(jwk, "use");

	if (!ops && !use)
		return !strict;
	if (json_array_has_str(ops, op))
		return true;
	return cJSON_IsString(use) && use_maps_to(use->valuestring, op);
}

static void wipe_strings(cJSON *v)
{
	for (; v; v = v->next) {
		if (cJSON_IsString(v) && v->valuestring)
			wipe(v->valuestring, strlen(v->valuestring));
		wipe_strings(v->child);
	}
}

void json_delete_secret(cJSON *v)
{
	if (!v)
		return;
	if (cJSON_IsString(v) && v->valuestring)
		wipe(v->valuestring, strlen(v->valuestring));
	wipe_strings(v->child);
	cJSON_Delete(v);
}

void cleanup_json_secret(cJSON **p)
{
	json_delete_secret(*p);
	*p = NULL;
}
