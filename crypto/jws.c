/* jws.c - ECDSA JWS sign and verify; signatures are raw R‖S, each padded
 * to the curve size (RFC 7518 §3.4). */
#include "jws.h"
#include "b64url.h"
#include "ec_internal.h"
#include "hash.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mbedtls/ecdsa.h>

static char *signing_input(const char *prot, const char *payload)
{
	size_t a = strlen(prot), b = strlen(payload);
	char *s = malloc(a + b + 2);
	if (!s)
		return NULL;
	memcpy(s, prot, a);
	s[a] = '.';
	memcpy(s + a + 1, payload, b + 1);
	return s;
}

static char *sign_one(const struct ec_key *k, const char *input)
{
	unsigned char md[HASH_MAX_LEN], sig[2 * EC_COORD_MAX];
	size_t mdlen = hash_compute(k->c->sig_hash, input, strlen(input), md);
	mbedtls_mpi r, s;
	char *out = NULL;

	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	if (mdlen && !mbedtls_ecdsa_sign((mbedtls_ecp_group *)&k->grp, &r, &s, &k->d, md, mdlen, ec_rng, NULL) &&
	    !mbedtls_mpi_write_binary(&r, sig, k->c->size) &&
	    !mbedtls_mpi_write_binary(&s, sig + k->c->size, k->c->size))
		out = b64url_encode(sig, 2 * k->c->size);
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	return out;
}

static cJSON *signature_entry(const char *payload, const cJSON *tmpl, const struct ec_key *k)
{
	AUTO_JSON hdr = tmpl ? cJSON_Duplicate(tmpl, true) : cJSON_CreateObject();
	AUTO_FREE char *text = NULL;
	AUTO_FREE char *prot = NULL;
	AUTO_FREE char *input = NULL;
	AUTO_FREE char *sig = NULL;
	cJSON *e;

	if (!hdr || !json_set_str(hdr, "alg", k->c->sig_alg) || !(text = json_canonical(hdr)) ||
	    !(prot = b64url_encode(text, strlen(text))) || !(input = signing_input(prot, payload)) ||
	    !(sig = sign_one(k, input)))
		return NULL;
	e = cJSON_CreateObject();
	if (!e || !json_set_str(e, "protected", prot) || !json_set_str(e, "signature", sig)) {
		cJSON_Delete(e);
		return NULL;
	}
	return e;
}

cJSON *jws_sign(const void *payload, size_t len, const cJSON *tmpl,
		struct ec_key *const *keys, size_t nkeys, const char **err)
{
	AUTO_FREE char *p64 = b64url_encode(payload, len);
	cJSON *jws = cJSON_CreateObject(), *sigs = NULL;

	*err = "JWS signing failed";
	if (!p64 || !jws || !nkeys || !json_set_str(jws, "payload", p64))
		goto fail;
	if (nkeys > 1 && (!(sigs = cJSON_AddArrayToObject(jws, "signatures"))))
		goto fail;
	for (size_t i = 0; i < nkeys; i++) {
		cJSON *e, *m;
		if (!keys[i]->has_d) {
			*err = "JWS signing key has no private part";
			goto fail;
		}
		if (!(e = signature_entry(p64, tmpl, keys[i])))
			goto fail;
		if (sigs) {
			cJSON_AddItemToArray(sigs, e);
			continue;
		}
		while ((m = e->child)) {
			cJSON_DetachItemViaPointer(e, m);
			cJSON_AddItemToObject(jws, m->string, m);
		}
		cJSON_Delete(e);
	}
	return jws;
fail:
	cJSON_Delete(jws);
	return NULL;
}

cJSON *jws_parse(const char *text, size_t len)
{
	char *part[3];
	cJSON *jws;

	while (len && strchr(" \t\r\n", text[0])) {
		text++;
		len--;
	}
	if (len && text[0] == '{')
		return json_parse_object(text, len);
	if (compact_split(text, len, part, 3))
		return NULL;
	jws = cJSON_CreateObject();
	if (!jws || !json_set_str(jws, "protected", part[0]) || !json_set_str(jws, "payload", part[1]) ||
	    !json_set_str(jws, "signature", part[2])) {
		cJSON_Delete(jws);
		jws = NULL;
	}
	compact_free(part, 3);
	return jws;
}

char *jws_compact(const cJSON *jws)
{
	const char *p = json_get_str(jws, "protected"), *pl = json_get_str(jws, "payload");
	const char *s = json_get_str(jws, "signature");
	char *out;
	if (!p || !pl || !s)
		return NULL;
	out = malloc(strlen(p) + strlen(pl) + strlen(s) + 3);
	if (out)
		sprintf(out, "%s.%s.%s", p, pl, s);
	return out;
}

int jws_payload(const cJSON *jws, struct buf *out)
{
	return b64url_decode_str(json_get_str(jws, "payload"), out);
}

/* Signature alg from the protected header, or the unprotected one. */
static const char *entry_alg(const cJSON *e, cJSON **hdr)
{
	AUTO_BUF raw = { 0 };
	const char *alg;

	*hdr = NULL;
	if (b64url_decode_str(json_get_str(e, "protected"), &raw) == 0)
		*hdr = json_parse_object((const char *)raw.p, raw.len);
	alg = json_get_str(*hdr, "alg");
	return alg ? alg : json_get_str(json_get_obj(e, "header"), "alg");
}

static bool verify_entry(const cJSON *e, const char *payload, const struct ec_key *k, const char *key_alg)
{
	AUTO_JSON hdr = NULL;
	const char *alg = entry_alg(e, &hdr), *prot = json_get_str(e, "protected");
	AUTO_BUF sig = { 0 };
	AUTO_FREE char *input = NULL;
	unsigned char md[HASH_MAX_LEN];
	size_t mdlen, n = k->c->size;
	mbedtls_mpi r, s;
	bool ok = false;

	if (!alg || strcmp(alg, k->c->sig_alg) || (key_alg && strcmp(key_alg, alg)) || !prot)
		return false;
	if (b64url_decode_str(json_get_str(e, "signature"), &sig) || sig.len != 2 * n)
		return false;
	if (!(input = signing_input(prot, payload)) ||
	    !(mdlen = hash_compute(k->c->sig_hash, input, strlen(input), md)))
		return false;
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	ok = !mbedtls_mpi_read_binary(&r, sig.p, n) && !mbedtls_mpi_read_binary(&s, sig.p + n, n) &&
	     !ec_verify(k, md, mdlen, &r, &s);
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	return ok;
}

bool jws_verify(const cJSON *jws, const cJSON *jwk)
{
	const char *payload = json_get_str(jws, "payload"), *err;
	const cJSON *sigs = json_get_arr(jws, "signatures"), *e;
	AUTO_EC_KEY k = NULL;

	if (!payload || !jwk_allows(jwk, "verify", false) || !(k = ec_key_from_jwk(jwk, &err)))
		return false;
	if (!sigs)
		return verify_entry(jws, payload, k, json_get_str(jwk, "alg"));
	cJSON_ArrayForEach(e, sigs) {
		if (verify_entry(e, payload, k, json_get_str(jwk, "alg")))
			return true;
	}
	return false;
}

bool jws_verify_all(const cJSON *jws, const cJSON *keys)
{
	const cJSON *k;
	if (!cJSON_IsArray(keys) || !cJSON_GetArraySize(keys))
		return false;
	cJSON_ArrayForEach(k, keys) {
		if (!jws_verify(jws, k))
			return false;
	}
	return true;
}
