/* jwe.c - A256GCM JWEs with ECDH-ES or dir key management. */
#include "jwe.h"
#include "b64url.h"
#include "ecmr.h"
#include "json.h"
#include "kdf.h"
#include "rand.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mbedtls/gcm.h>

#define IV_LEN 12
#define TAG_LEN 16

void jwe_free(struct jwe *j)
{
	if (!j)
		return;
	free(j->protected);
	free(j->aad);
	cJSON_Delete(j->hdr);
	buf_free(&j->ek);
	buf_free(&j->iv);
	buf_free(&j->ct);
	buf_free(&j->tag);
	memset(j, 0, sizeof(*j));
}

void cleanup_jwe(struct jwe *j)
{
	jwe_free(j);
}

/* Merges the members of src into dst; a name in both is an error (RFC 7516 §7.2.1). */
static int merge_header(cJSON *dst, const cJSON *src)
{
	const cJSON *m;
	if (!src)
		return 0;
	if (!cJSON_IsObject(src))
		return -1;
	cJSON_ArrayForEach(m, src) {
		if (cJSON_GetObjectItemCaseSensitive(dst, m->string))
			return -1;
		if (!cJSON_AddItemToObject(dst, m->string, cJSON_Duplicate(m, true)))
			return -1;
	}
	return 0;
}

static int decode_protected(struct jwe *j, const char **err)
{
	AUTO_BUF raw = { 0 };
	if (b64url_decode_str(j->protected, &raw) ||
	    !(j->hdr = json_parse_object((const char *)raw.p, raw.len))) {
		*err = "JWE protected header is not base64url JSON object";
		return -1;
	}
	return 0;
}

static int decode_parts(struct jwe *j, const char *ek, const char *iv, const char *ct, const char *tag,
			const char **err)
{
	if (b64url_decode_str(ek ? ek : "", &j->ek) || b64url_decode_str(iv, &j->iv) ||
	    b64url_decode_str(ct, &j->ct) || b64url_decode_str(tag, &j->tag)) {
		*err = "JWE member is missing or not base64url";
		return -1;
	}
	return 0;
}

int jwe_parse(const char *text, size_t len, struct jwe *out, const char **err)
{
	char *p[5];
	int r;

	memset(out, 0, sizeof(*out));
	while (len && strchr(" \t\r\n", text[0])) {
		text++;
		len--;
	}
	if (len && text[0] == '{') {
		AUTO_JSON o = json_parse_object(text, len);
		if (!o) {
			*err = "JWE is not valid JSON";
			return -1;
		}
		return jwe_from_json(o, out, err);
	}
	if (compact_split(text, len, p, 5)) {
		*err = "JWE is not five base64url fields separated by dots";
		return -1;
	}
	out->protected = p[0];
	p[0] = NULL;
	r = decode_protected(out, err) || decode_parts(out, p[1], p[2], p[3], p[4], err) ? -1 : 0;
	compact_free(p + 1, 4);
	if (r)
		jwe_free(out);
	return r;
}

int jwe_from_json(const cJSON *o, struct jwe *out, const char **err)
{
	const cJSON *recips = json_get_arr(o, "recipients"), *r = o;
	const char *prot = json_get_str(o, "protected"), *aad = json_get_str(o, "aad");

	memset(out, 0, sizeof(*out));
	*err = NULL;
	if (recips) {
		if (cJSON_GetArraySize(recips) != 1) {
			*err = "JWE with several recipients is not supported";
			return -1;
		}
		r = recips->child;
	}
	if (!prot) {
		*err = "JWE has no \"protected\" header";
		return -1;
	}
	if (!(out->protected = strdup(prot)) || (aad && !(out->aad = strdup(aad))) ||
	    decode_protected(out, err))
		goto fail;
	if (merge_header(out->hdr, json_get_obj(o, "unprotected")) ||
	    merge_header(out->hdr, json_get_obj(r, "header"))) {
		*err = "JWE header members are duplicated or malformed";
		goto fail;
	}
	if (decode_parts(out, json_get_str(r, "encrypted_key"), json_get_str(o, "iv"),
			 json_get_str(o, "ciphertext"), json_get_str(o, "tag"), err))
		goto fail;
	return 0;
fail:
	if (!*err)
		*err = "out of memory";
	jwe_free(out);
	return -1;
}

static char *enc64(const struct buf *b)
{
	return b64url_encode(b->p ? b->p : (const unsigned char *)"", b->len);
}

char *jwe_compact(const struct jwe *j)
{
	AUTO_FREE char *ek = enc64(&j->ek);
	AUTO_FREE char *iv = enc64(&j->iv);
	AUTO_FREE char *ct = enc64(&j->ct);
	AUTO_FREE char *tag = enc64(&j->tag);
	char *out;

	if (!ek || !iv || !ct || !tag || !j->protected)
		return NULL;
	out = malloc(strlen(j->protected) + strlen(ek) + strlen(iv) + strlen(ct) + strlen(tag) + 5);
	if (out)
		sprintf(out, "%s.%s.%s.%s.%s", j->protected, ek, iv, ct, tag);
	return out;
}

cJSON *jwe_flattened(const struct jwe *j)
{
	AUTO_FREE char *ek = enc64(&j->ek);
	AUTO_FREE char *iv = enc64(&j->iv);
	AUTO_FREE char *ct = enc64(&j->ct);
	AUTO_FREE char *tag = enc64(&j->tag);
	cJSON *o = cJSON_CreateObject();

	if (!o || !ek || !iv || !ct || !tag || !j->protected || !json_set_str(o, "ciphertext", ct) ||
	    !json_set_str(o, "encrypted_key", ek) || !json_set_str(o, "iv", iv) ||
	    !json_set_str(o, "protected", j->protected) || !json_set_str(o, "tag", tag)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* AAD = ASCII(protected) or ASCII(protected "." aad) (RFC 7516 §5.1). */
static char *make_aad(const struct jwe *j)
{
	char *s = malloc(strlen(j->protected) + (j->aad ? strlen(j->aad) + 1 : 0) + 1);
	if (s)
		sprintf(s, j->aad ? "%s.%s" : "%s", j->protected, j->aad);
	return s;
}

int jwe_seal(struct jwe *out, const cJSON *hdr, const unsigned char cek[JWE_CEK_LEN],
	     const void *pt, size_t len, const char **err)
{
	AUTO_FREE char *text = NULL;
	mbedtls_gcm_context g;
	int r;

	memset(out, 0, sizeof(*out));
	*err = "JWE encryption failed";
	out->hdr = cJSON_Duplicate(hdr, true);
	if (!out->hdr || !json_set_str(out->hdr, "enc", "A256GCM") || !(text = json_canonical(out->hdr)) ||
	    !(out->protected = b64url_encode(text, strlen(text))) || buf_alloc(&out->ek, 0) ||
	    buf_alloc(&out->iv, IV_LEN) || buf_alloc(&out->tag, TAG_LEN) || buf_alloc(&out->ct, len) ||
	    rand_bytes(out->iv.p, IV_LEN))
		goto fail;
	mbedtls_gcm_init(&g);
	r = mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, cek, 256) ||
	    mbedtls_gcm_crypt_and_tag(&g, MBEDTLS_GCM_ENCRYPT, len, out->iv.p, IV_LEN,
				      (const unsigned char *)out->protected, strlen(out->protected),
				      pt, out->ct.p, TAG_LEN, out->tag.p);
	mbedtls_gcm_free(&g);
	if (r)
		goto fail;
	return 0;
fail:
	jwe_free(out);
	return -1;
}

int jwe_open(const struct jwe *in, const unsigned char cek[JWE_CEK_LEN], struct buf *pt, const char **err)
{
	const char *enc = json_get_str(in->hdr, "enc");
	AUTO_FREE char *aad = NULL;
	mbedtls_gcm_context g;
	int r;

	pt->p = NULL;
	pt->len = 0;
	if (!enc || strcmp(enc, "A256GCM")) {
		*err = "JWE \"enc\" is not A256GCM";
		return -1;
	}
	if (cJSON_GetObjectItemCaseSensitive(in->hdr, "zip")) {
		*err = "JWE \"zip\" is not supported";
		return -1;
	}
	if (in->iv.len != IV_LEN || in->tag.len != TAG_LEN) {
		*err = "JWE \"iv\" or \"tag\" has the wrong length";
		return -1;
	}
	if (!(aad = make_aad(in)) || buf_alloc(pt, in->ct.len)) {
		*err = "out of memory";
		return -1;
	}
	mbedtls_gcm_init(&g);
	/* auth_decrypt checks the tag and wipes the output when it does not match. */
	r = mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, cek, 256);
	if (!r)
		r = mbedtls_gcm_auth_decrypt(&g, in->ct.len, in->iv.p, IV_LEN, (const unsigned char *)aad,
					     strlen(aad), in->tag.p, TAG_LEN, in->ct.p, pt->p);
	mbedtls_gcm_free(&g);
	if (r) {
		buf_free(pt);
		*err = "JWE authentication tag does not match (wrong key or tampered data)";
		return -1;
	}
	return 0;
}

static int decode_opt(const cJSON *hdr, const char *name, struct buf *out)
{
	const char *s = json_get_str(hdr, name);
	if (!cJSON_GetObjectItemCaseSensitive(hdr, name))
		return buf_alloc(out, 0);
	return b64url_decode_str(s, out);
}

int jwe_ecdh_es_cek(const cJSON *hdr, const unsigned char *z, size_t zlen,
		    unsigned char cek[JWE_CEK_LEN], const char **err)
{
	const char *alg = json_get_str(hdr, "alg"), *enc = json_get_str(hdr, "enc");
	AUTO_BUF apu = { 0 };
	AUTO_BUF apv = { 0 };

	if (!alg || strcmp(alg, "ECDH-ES") || !enc || strcmp(enc, "A256GCM")) {
		*err = "JWE is not ECDH-ES with A256GCM";
		return -1;
	}
	if (decode_opt(hdr, "apu", &apu) || decode_opt(hdr, "apv", &apv)) {
		*err = "JWE \"apu\" or \"apv\" is not base64url";
		return -1;
	}
	if (concat_kdf(z, zlen, enc, apu.p, apu.len, apv.p, apv.len, cek, 256)) {
		*err = "ConcatKDF failed";
		return -1;
	}
	return 0;
}

/* Z = x coordinate of d(k) · pub, already padded to the field size. */
static int shared_z(const struct ec_key *k, const cJSON *pub, struct buf *z, const char **err)
{
	AUTO_JSON_SECRET p = ecmr_mul(k, pub, err);

	if (!p)
		return -1;
	if (b64url_decode_str(json_get_str(p, "x"), z)) {
		*err = "shared point has no x";
		return -1;
	}
	return 0;
}

static int encrypt_ecdh_es(struct jwe *out, cJSON *h, const cJSON *jwk, const void *pt, size_t len,
			   const char **err)
{
	AUTO_EC_KEY eph = NULL;
	AUTO_BUF z = { 0 };
	unsigned char cek[JWE_CEK_LEN];
	const char *crv = json_get_str(jwk, "crv");
	int r = -1;

	if (!crv) {
		*err = "JWE recipient key has no \"crv\"";
		return -1;
	}
	if (!(eph = ec_key_generate(crv, err)) || shared_z(eph, jwk, &z, err))
		return -1;
	if (!json_set(h, "epk", ec_key_public_jwk(eph)) || !json_set_str(h, "alg", "ECDH-ES") ||
	    !json_set_str(h, "enc", "A256GCM"))
		return -1;
	if (!jwe_ecdh_es_cek(h, z.p, z.len, cek, err))
		r = jwe_seal(out, h, cek, pt, len, err);
	wipe(cek, sizeof(cek));
	return r;
}

static int oct_cek(const cJSON *jwk, struct buf *k, const char **err)
{
	if (b64url_decode_str(json_get_str(jwk, "k"), k) || k->len != JWE_CEK_LEN) {
		*err = "JWK \"k\" is not a 256-bit base64url key";
		return -1;
	}
	return 0;
}

int jwe_encrypt(struct jwe *out, const cJSON *hdr, const cJSON *jwk, const void *pt, size_t len,
		const char **err)
{
	AUTO_JSON h = hdr ? cJSON_Duplicate(hdr, true) : cJSON_CreateObject();
	const char *kty = json_get_str(jwk, "kty");
	AUTO_BUF k = { 0 };

	memset(out, 0, sizeof(*out));
	if (!h || !cJSON_IsObject(h)) {
		*err = "JWE header is not an object";
		return -1;
	}
	if (kty && !strcmp(kty, "EC"))
		return encrypt_ecdh_es(out, h, jwk, pt, len, err);
	if (!kty || strcmp(kty, "oct")) {
		*err = "JWK \"kty\" is neither EC nor oct";
		return -1;
	}
	if (oct_cek(jwk, &k, err) || !json_set_str(h, "alg", "dir"))
		return -1;
	return jwe_seal(out, h, k.p, pt, len, err);
}

int jwe_decrypt(const struct jwe *in, const cJSON *jwk, struct buf *pt, const char **err)
{
	const char *alg = json_get_str(in->hdr, "alg");
	unsigned char cek[JWE_CEK_LEN];
	AUTO_BUF k = { 0 };
	int r = -1;

	pt->p = NULL;
	pt->len = 0;
	if (alg && !strcmp(alg, "dir")) {
		if (in->ek.len) {
			*err = "JWE \"dir\" must have an empty encrypted key";
			return -1;
		}
		return oct_cek(jwk, &k, err) ? -1 : jwe_open(in, k.p, pt, err);
	}
	if (!alg || strcmp(alg, "ECDH-ES")) {
		*err = "JWE \"alg\" is neither ECDH-ES nor dir";
		return -1;
	}
	if (in->ek.len) {
		*err = "JWE \"ECDH-ES\" must have an empty encrypted key";
		return -1;
	}
	const cJSON *epk = json_get_obj(in->hdr, "epk");
	if (!epk) {
		*err = "JWE header has no \"epk\"";
		return -1;
	}
	AUTO_EC_KEY priv = ec_key_from_jwk(jwk, err);
	if (!priv || shared_z(priv, epk, &k, err))
		return -1;
	if (!jwe_ecdh_es_cek(in->hdr, k.p, k.len, cek, err))
		r = jwe_open(in, cek, pt, err);
	wipe(cek, sizeof(cek));
	return r;
}
