/* tang.c - the tang pin: McCallum-Relyea key exchange with a Tang server,
 * byte-compatible with clevis-encrypt-tang / clevis-decrypt-tang.
 *
 * Encrypt: get the advertisement (config "adv", or GET $url/adv/$thp), check
 * every verify key signed it, decide trust (thp, adv, -y, for regen the old
 * binding's signing keys, or a /dev/tty prompt), then ECDH-ES to the first
 * deriveKey key. Decrypt: blind the ephemeral public key, POST it to
 * $url/rec/$kid, unblind the reply. The server never sees the key it helps
 * recover. */
#include "pin.h"
#include "../runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../crypto/b64url.h"
#include "../../crypto/ecmr.h"
#include "../../crypto/json.h"
#include "../../crypto/jwk.h"
#include "../../crypto/jws.h"
#include "../../net/clock.h"
#include "../../net/http_client.h"

#define S256_THP_LEN 43

struct adv {
	cJSON *jws;	/* the advertisement as a JWS object */
	cJSON *jwks;	/* its payload {"keys":[...]}, embedded in the JWE */
	bool trusted;	/* came from the config, so needs no trust decision */
};

static void adv_free(struct adv *a)
{
	cJSON_Delete(a->jws);
	cJSON_Delete(a->jwks);
}

static bool http_cancelled(const void *ctx)
{
	return pin_abandoned(ctx);
}

/* A person at a terminal waiting on a server that refuses or does not
 * answer hears once per process (however many servers an sss tree holds)
 * that the wait goes on until the deadline, instead of silence. */
static atomic_bool retry_told;

static void tell_retrying(const void *ctx, const char *url, const char *err, long long deadline_ms)
{
	const struct pin_opts *o = ctx;
	long long left_s = (deadline_ms - clock_mono_ms() + 999) / 1000;

	if (o->quiet || pin_abandoned(o) || !isatty(STDERR_FILENO) || atomic_exchange(&retry_told, true))
		return;
	msg("%s: %s; retrying until the deadline (%lld s)", url, err, left_s);
}

/* An HTTP exchange with the pin's deadline; err gets the transport reason. */
static int tang_http(const struct pin_opts *o, const char *method, const char *url, const char *body,
		     struct http_reply *reply, char *err, size_t errlen)
{
	struct http_client_request rq = {
		.method = method, .url = url, .deadline_ms = o->deadline_ms,
		.cancelled = http_cancelled, .cancel_ctx = o,
		.on_retry = tell_retrying, .retry_ctx = o,
	};
	if (body) {
		rq.content_type = "application/jwk+json";
		rq.body = body;
		rq.body_len = strlen(body);
	}
	return http_client_send(&rq, reply, err, errlen);
}

/* --- getting the advertisement --- */

static cJSON *parse_jws_text(const char *text, size_t len)
{
	return text ? jws_parse(text, len) : NULL;
}

static int adv_from_file(const char *path, struct adv *a, const struct pin_opts *o)
{
	AUTO_BUF text = { 0 };

	if (read_file(path, ADV_FILE_MAX, &text)) {
		pin_msg(o, "Advertisement file '%s' not found!", path);
		return -1;
	}
	if (!(a->jws = parse_jws_text((const char *)text.p, text.len))) {
		pin_msg(o, "Advertisement file '%s' is malformed!", path);
		return -1;
	}
	return 0;
}

/* 0 with a->jws, or -1 after a message; 1 (silently) on a 404 when
 * absent_ok: tang's answer to a thp it has no signing key for. */
static int adv_from_server(const char *url, const char *thp, struct adv *a, const struct pin_opts *o,
			   bool absent_ok)
{
	struct http_reply reply;
	AUTO_FREE char *where = NULL;
	char err[256];
	int r;

	/* clevis fetches "$url/adv/$thp": "/adv/" with a trailing slash when no thp */
	if (asprintf(&where, "%s/adv/%s", url, thp ? thp : "") < 0)
		return -1;
	r = tang_http(o, "GET", where, NULL, &reply, err, sizeof(err));
	if (!r && absent_ok && reply.status == 404) {
		http_reply_free(&reply);
		return 1;
	}
	if (r || reply.status >= 400) {
		if (reply.status >= 400)
			snprintf(err, sizeof(err), "HTTP status %d", reply.status);
		pin_msg(o, "Unable to fetch advertisement: '%s'! (%s)", where, err);
		http_reply_free(&reply);
		return -1;
	}
	/* no redirects are followed: a 3xx body is parsed, and found malformed, as with clevis */
	a->jws = parse_jws_text((const char *)reply.body.p, reply.body.len);
	http_reply_free(&reply);
	if (!a->jws) {
		pin_msg(o, "Advertisement is malformed!");
		return -1;
	}
	return 0;
}

static int load_adv(const cJSON *cfg, const char *url, const char *thp, struct adv *a, const struct pin_opts *o)
{
	const cJSON *adv = cJSON_GetObjectItemCaseSensitive(cfg, "adv");
	int r;

	if (!adv)
		return adv_from_server(url, thp, a, o, false);
	a->trusted = true;
	if (cJSON_IsString(adv))
		return adv_from_file(adv->valuestring, a, o);
	if (cJSON_IsObject(adv)) {
		AUTO_FREE char *text = cJSON_PrintUnformatted(adv);
		r = (a->jws = parse_jws_text(text, text ? strlen(text) : 0)) ? 0 : -1;
	} else {
		r = -1;
	}
	if (r)
		pin_msg(o, "Advertisement is malformed!");
	return r;
}

/* The payload must be {"keys":[...]}; it is what the JWE embeds. */
static int adv_keys(struct adv *a, const struct pin_opts *o)
{
	AUTO_BUF payload = { 0 };

	if (jws_payload(a->jws, &payload) ||
	    !(a->jwks = json_parse_object((const char *)payload.p, payload.len)) || !json_get_arr(a->jwks, "keys")) {
		pin_msg(o, "Advertisement is malformed!");
		return -1;
	}
	return 0;
}

/* --- trust --- */

/* Keys allowed to verify under jose's strict rule (key_ops or use=sig). */
static cJSON *verify_keys(const cJSON *jwks)
{
	cJSON *ver = cJSON_CreateArray();
	const cJSON *k;

	cJSON_ArrayForEach(k, json_get_arr(jwks, "keys")) {
		if (ver && cJSON_IsObject(k) && jwk_allows(k, "verify", true))
			cJSON_AddItemToArray(ver, cJSON_Duplicate(k, true));
	}
	return ver;
}

static bool thumbprint_is(const cJSON *jwk, const char *hash, const char *thp)
{
	AUTO_FREE char *t = jwk_thumbprint(jwk, hash);
	return t && !strcmp(t, thp);
}

/* thp must name a verify key by its S256 or S1 thumbprint, nothing else
 * (clevis rejects the other hashes tangd would serve). */
static bool thp_signed(const cJSON *ver, const char *thp)
{
	const cJSON *k;
	cJSON_ArrayForEach(k, ver) {
		if (thumbprint_is(k, "S256", thp) || thumbprint_is(k, "S1", thp))
			return true;
	}
	return false;
}

/* Trust on first use, as clevis asks it: keys on stderr, answer from the
 * terminal (stdin carries the plaintext). Only "y" or "Y" accepts. */
static bool ask_trust(const cJSON *ver, const struct pin_opts *o)
{
	const cJSON *k;
	char answer[16] = "";
	FILE *tty = fopen("/dev/tty", "r");

	if (!tty) {
		pin_msg(o, "Cannot ask whether to trust the advertisement: no terminal (use -y, thp or adv)");
		return false;
	}
	fprintf(stderr, "The advertisement contains the following signing keys:\n\n");
	cJSON_ArrayForEach(k, ver) {
		AUTO_FREE char *t = jwk_thumbprint(k, "S256");
		fprintf(stderr, "%s\n", t ? t : "?");
	}
	fprintf(stderr, "\nDo you wish to trust these keys? [ynYN] ");
	fflush(stderr);
	if (!fgets(answer, sizeof(answer), tty))
		answer[0] = 0;
	fclose(tty);
	answer[strcspn(answer, "\n")] = 0;
	return !strcmp(answer, "y") || !strcmp(answer, "Y");
}

/* An advertisement with its payload, signed by every verify key in it (and
 * there is one): the verify keys, else NULL after a message. */
static cJSON *self_signed(struct adv *a, const struct pin_opts *o)
{
	cJSON *ver = verify_keys(a->jwks);

	if (!ver || !cJSON_GetArraySize(ver) || !jws_verify_all(a->jws, ver)) {
		pin_msg(o, "Advertisement is missing signatures!");
		cJSON_Delete(ver);
		return NULL;
	}
	return ver;
}

/* GET url/adv/THP of the old signing key old: tang adds that key's signature
 * to its advertisement. 0 with *a replaced by the advertisement old vouches
 * for; 1 when the server no longer has old (404); -1 refused after a message. */
static int vouch_of(const cJSON *old, const char *url, struct adv *a, const struct pin_opts *o)
{
	AUTO_FREE char *thp = jwk_thumbprint(old, "S256");
	AUTO_JSON ver = NULL;
	struct adv v = { 0 };
	int r;

	if (!thp) {
		pin_msg(o, "Keys from clevis metadata are malformed");
		return -1;
	}
	if ((r = adv_from_server(url, thp, &v, o, true)))
		return r;
	if (adv_keys(&v, o) || !(ver = self_signed(&v, o))) {
		adv_free(&v);
		return -1;
	}
	if (!jws_verify(v.jws, old)) {
		pin_msg(o, "The advertisement at '%s/adv/%s' is not signed by that old signing key: not trusted", url,
			thp);
		adv_free(&v);
		return -1;
	}
	pin_msg(o, "%s: the new advertisement is signed by the old signing key %s", url, thp);
	adv_free(a);
	*a = v;
	return 0;
}

/* regen: trusts the fetched advertisement a when a signing key of the stored
 * one (the keys the old binding was made to) signed it, or signs the new one
 * at url/adv/THP after a rotation. 0 trusted (a may now be that one), 1 no
 * old signing key is left on the server (bind's rules decide), -1 refused. */
static int vouched(struct adv *a, const cJSON *stored, const char *url, const struct pin_opts *o)
{
	AUTO_JSON old = verify_keys(stored);
	const cJSON *k;
	int r;

	cJSON_ArrayForEach(k, old) {
		if (jws_verify(a->jws, k))
			return 0;	/* the signing keys did not change */
	}
	cJSON_ArrayForEach(k, old) {
		if ((r = vouch_of(k, url, a, o)) <= 0)
			return r;
	}
	pin_msg(o, "%s: no signing key of the stored advertisement is left on the server to vouch for the new one",
		url);
	return 1;
}

/* stored: the old binding's advertisement (regen only), else NULL. */
static int check_trust(struct adv *a, const char *url, const char *thp, const cJSON *stored,
		       const struct pin_opts *o)
{
	AUTO_JSON ver = self_signed(a, o);
	int r;

	if (!ver)
		return -1;
	if (a->trusted || o->assume_yes)
		return 0;
	if (thp) {
		if (thp_signed(ver, thp))
			return 0;
		pin_msg(o, "Trusted JWK '%s' did not sign the advertisement!", thp);
		return -1;
	}
	if (stored && (r = vouched(a, stored, url, o)) <= 0)
		return r;
	return ask_trust(ver, o) ? 0 : -1;
}

/* --- encryption --- */

/* The first deriveKey key in advertisement order, without key_ops and alg
 * (clevis#542: thp does not choose it). */
static cJSON *exchange_key(const cJSON *jwks, const struct pin_opts *o)
{
	const cJSON *k;
	cJSON_ArrayForEach(k, json_get_arr(jwks, "keys")) {
		if (!json_array_has_str(json_get_arr(k, "key_ops"), "deriveKey"))
			continue;
		cJSON *jwk = cJSON_Duplicate(k, true);
		cJSON_DeleteItemFromObjectCaseSensitive(jwk, "key_ops");
		cJSON_DeleteItemFromObjectCaseSensitive(jwk, "alg");
		return jwk;
	}
	pin_msg(o, "Key derivation key not available!");
	return NULL;
}

/* {"alg":"ECDH-ES","clevis":{"pin":"tang","tang":{"adv":…,"url":…}},"kid":…};
 * jwe_encrypt adds enc and epk, and the canonical form sorts it all. */
static cJSON *tang_header(const char *url, const cJSON *jwks, const char *kid)
{
	AUTO_JSON hdr = cJSON_CreateObject();
	cJSON *clevis, *tang;

	if (!hdr || !json_set_str(hdr, "alg", "ECDH-ES") || !json_set_str(hdr, "kid", kid) ||
	    !(clevis = cJSON_AddObjectToObject(hdr, "clevis")) || !json_set_str(clevis, "pin", "tang") ||
	    !(tang = cJSON_AddObjectToObject(clevis, "tang")) || !json_set_str(tang, "url", url) ||
	    !json_set(tang, "adv", cJSON_Duplicate(jwks, true)))
		return NULL;
	return TAKE_PTR(hdr);
}

static char *seal_to(const char *url, const cJSON *jwks, const void *pt, size_t len, const struct pin_opts *o)
{
	AUTO_JSON jwk = exchange_key(jwks, o);
	AUTO_FREE char *kid = NULL;
	AUTO_JSON hdr = NULL;
	AUTO_JWE j = { 0 };
	const char *err = "out of memory";
	char *out = NULL;

	if (!jwk)
		return NULL;
	if (!(kid = jwk_thumbprint(jwk, "S256"))) {
		pin_msg(o, "Key derivation key not available!");
		return NULL;
	}
	if (!(hdr = tang_header(url, jwks, kid)) || jwe_encrypt(&j, hdr, jwk, pt, len, &err) ||
	    !(out = jwe_compact(&j)))
		pin_msg(o, "tang pin: encryption failed: %s", err);
	return out;
}

char *pin_tang_encrypt(const cJSON *cfg, const void *pt, size_t len, const struct pin_opts *o)
{
	struct adv a = { 0 };
	const cJSON *stored;
	const char *url, *thp;
	char *out = NULL;

	if (!cJSON_IsObject(cfg)) {
		pin_msg(o, "Configuration is malformed!");
		return NULL;
	}
	if (!(url = json_get_str(cfg, "url"))) {
		pin_msg(o, "Missing the required 'url' property!");
		return NULL;
	}
	thp = json_get_str(cfg, "thp");
	stored = o->regen ? json_get_obj(cfg, PIN_TANG_STORED_ADV) : NULL;
	if (!load_adv(cfg, url, thp, &a, o) && !adv_keys(&a, o) && !check_trust(&a, url, thp, stored, o))
		out = seal_to(url, a.jwks, pt, len, o);
	adv_free(&a);
	return out;
}

/* --- key rotation (report) --- */

static bool advertised(const cJSON *jwks, const char *thp)
{
	const cJSON *k;
	cJSON_ArrayForEach(k, json_get_arr(jwks, "keys")) {
		if (cJSON_IsObject(k) && thumbprint_is(k, "S256", thp))
			return true;
	}
	return false;
}

int pin_tang_rotated(const cJSON *tang, cJSON *rotated, const struct pin_opts *o)
{
	struct adv a = { 0 };
	AUTO_JSON ver = NULL;
	const cJSON *k, *stored = json_get_arr(json_get_obj(tang, "adv"), "keys");
	const char *url = json_get_str(tang, "url");
	int r = -1;

	if (!url || !*url) {
		pin_msg(o, "Invalid tang metadata; URL not found");
		return -1;
	}
	if (adv_from_server(url, NULL, &a, o, false) || adv_keys(&a, o))
		goto out;
	if (!(ver = verify_keys(a.jwks)) || !cJSON_GetArraySize(ver)) {
		pin_msg(o, "Unable to validate advertisement");
		goto out;
	}
	if (!jws_verify_all(a.jws, ver)) {
		pin_msg(o, "Advertisement is missing signatures");
		goto out;
	}
	if (!cJSON_GetArraySize(stored)) {
		pin_msg(o, "Keys from clevis metadata not found");
		goto out;
	}
	r = 0;
	cJSON_ArrayForEach(k, stored) {
		AUTO_FREE char *thp = cJSON_IsObject(k) ? jwk_thumbprint(k, "S256") : NULL;
		cJSON *s;

		if (!thp) {
			pin_msg(o, "Keys from clevis metadata are malformed");
			r = -1;
			break;
		}
		if (advertised(a.jwks, thp) || json_array_has_str(rotated, thp))
			continue;
		if (!(s = cJSON_CreateString(thp)) || !cJSON_AddItemToArray(rotated, s)) {
			cJSON_Delete(s);
			r = -1;
			break;
		}
	}
out:
	adv_free(&a);
	return r;
}

/* --- decryption --- */

struct tang_jwe {
	const cJSON *epk, *adv;
	const char *kid, *url, *crv;
};

static bool missing(const void *v, const char *what, const struct pin_opts *o)
{
	if (!v)
		pin_msg(o, "JWE missing required '%s' header parameter!", what);
	return !v;
}

static int read_header(const cJSON *hdr, struct tang_jwe *t, const struct pin_opts *o)
{
	const cJSON *tang = pin_header_data(hdr, "tang");

	t->epk = json_get_obj(hdr, "epk");
	t->kid = json_get_str(hdr, "kid");
	t->adv = json_get_obj(tang, "adv");
	t->url = json_get_str(tang, "url");
	if (missing(t->epk, "epk", o) || missing(t->kid, "kid", o) || missing(t->adv, "clevis.tang.adv", o) ||
	    missing(t->url, "clevis.tang.url", o))
		return -1;
	if (!(t->crv = json_get_str(t->epk, "crv"))) {
		pin_msg(o, "Unable to determine EPK's curve!");
		return -1;
	}
	if (strlen(t->kid) < S256_THP_LEN)
		pin_msg(o, "WARNING: tang using a deprecated hash for the JWK thumbprints");
	return 0;
}

/* The server key the JWE names: kid is its S256 thumbprint, or S1 in old JWEs. */
static const cJSON *server_key(const struct tang_jwe *t, const struct pin_opts *o)
{
	static const char *const hashes[] = { "S256", "S1" };
	const cJSON *k;

	for (size_t h = 0; h < 2; h++) {
		cJSON_ArrayForEach(k, json_get_arr(t->adv, "keys")) {
			if (cJSON_IsObject(k) && thumbprint_is(k, hashes[h], t->kid))
				return k;
		}
	}
	pin_msg(o, "JWE header validation of 'clevis.tang.adv' failed: key thumbprint does not match");
	return NULL;
}

/* X = epk + E as the sorted compact ECMR JWK clevis posts (with its "\n"). */
static char *recovery_request(const struct tang_jwe *t, const struct ec_key *eph)
{
	AUTO_JSON pub = ec_key_public_jwk(eph);
	AUTO_JSON x = NULL;
	AUTO_FREE char *text = NULL;
	const char *err;
	char *body = NULL;

	if (!pub || !(x = ecmr_add(t->epk, pub, &err)) || !json_set_str(x, "alg", "ECMR") ||
	    !(text = json_canonical(x)) || asprintf(&body, "%s\n", text) < 0)
		return NULL;
	return body;
}

/* POSTs X to $url/rec/$kid; returns the server's Y after the checks clevis makes. */
static cJSON *recover(const struct tang_jwe *t, const char *body, const struct pin_opts *o)
{
	struct http_reply reply;
	AUTO_FREE char *where = NULL;
	char err[256];
	cJSON *y = NULL;
	const char *kty, *crv;

	if (asprintf(&where, "%s/rec/%s", t->url, t->kid) < 0)
		return NULL;
	if (tang_http(o, "POST", where, body, &reply, err, sizeof(err)) || reply.status >= 400) {
		if (reply.status >= 400)
			snprintf(err, sizeof(err), "HTTP status %d", reply.status);
		pin_msg(o, "Error communicating with server %s (%s)", t->url, err);
		http_reply_free(&reply);
		return NULL;
	}
	if (reply.status < 300)
		y = json_parse_object((const char *)reply.body.p, reply.body.len);
	http_reply_free(&reply);
	if (!y || !(kty = json_get_str(y, "kty")) || strcmp(kty, "EC") || !(crv = json_get_str(y, "crv")) ||
	    strcmp(crv, t->crv)) {
		pin_msg(o, "Received invalid server reply!");
		cJSON_Delete(y);
		return NULL;
	}
	return y;
}

/* K = Y − e·S, the point c·S the encrypting side derived; Z is its x. */
static int shared_secret(const cJSON *y, const struct ec_key *eph, const cJSON *s, struct buf *z, const char **err)
{
	AUTO_JSON_SECRET es = NULL;
	AUTO_JSON_SECRET k = NULL;

	if (!(es = ecmr_mul(eph, s, err)) || !(k = ecmr_sub(y, es, err)))
		return -1;
	if (b64url_decode_str(json_get_str(k, "x"), z)) {
		*err = "shared point has no x";
		return -1;
	}
	return 0;
}

static int open_with(const struct jwe *j, const cJSON *y, const struct ec_key *eph, const cJSON *s, struct buf *pt,
		     const struct pin_opts *o)
{
	AUTO_BUF z = { 0 };
	unsigned char cek[JWE_CEK_LEN];
	const char *err;
	int r = -1;

	if (shared_secret(y, eph, s, &z, &err)) {
		pin_msg(o, "Received invalid server reply! (%s)", err);
		return -1;
	}
	if (!jwe_ecdh_es_cek(j->hdr, z.p, z.len, cek, &err) && !jwe_open(j, cek, pt, &err))
		r = 0;
	else
		pin_msg(o, "Unable to decrypt JWE: %s", err);
	wipe(cek, sizeof(cek));
	return r;
}

int pin_tang_decrypt(const struct jwe *j, struct buf *pt, const struct pin_opts *o)
{
	struct tang_jwe t;
	const cJSON *s;
	AUTO_EC_KEY eph = NULL;
	AUTO_FREE char *body = NULL;
	const char *err;
	AUTO_JSON y = NULL;

	/* ECDH-ES agrees on the key directly; an encrypted_key means the JWE
	 * was not made by a tang pin (jose refuses it too) */
	if (j->ek.len) {
		pin_msg(o, "tang pin: JWE encrypted_key must be empty for ECDH-ES (it has %zu bytes)", j->ek.len);
		return -1;
	}
	if (read_header(j->hdr, &t, o) || !(s = server_key(&t, o)))
		return -1;
	if (!(eph = ec_key_generate(t.crv, &err))) {
		pin_msg(o, "Unable to determine EPK's curve!");
		return -1;
	}
	if (!(body = recovery_request(&t, eph))) {
		pin_msg(o, "JWE header parameter 'epk' is not a valid %s public key", t.crv);
		return -1;
	}
	if (!(y = recover(&t, body, o)))
		return -1;
	return open_with(j, y, eph, s, pt, o);
}
