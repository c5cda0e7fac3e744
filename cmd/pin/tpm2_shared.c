/* tpm2_shared.c - what the tpm2 and tpm2pin pins share: clevis's tpm2
 * config keys, one conversation with the TPM at a time per process, the PCR
 * policy, the header fields and the JWK text sealed. See tpm2_shared.h. */
#include "tpm2_shared.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../crypto/b64url.h"
#include "../../crypto/json.h"
#include "../../crypto/jwk.h"
#include "../runtime/runtime.h"

#define TCTI_ENV "TPM2TOOLS_TCTI"

/* a TPM without a resource manager, and swtpm, have room for only a few
 * objects, and concurrent sss children would flush each other's */
static pthread_mutex_t tpm_lock = PTHREAD_MUTEX_INITIALIZER;

/* --- configuration (clevis's keys) --- */


uint16_t tpm2_key_alg(const char *name)
{
	return !strcmp(name, "ecc") ? TPM_ALG_ECC : !strcmp(name, "rsa") ? TPM_ALG_RSA : 0;
}

static const char *key_name(uint16_t alg)
{
	return alg == TPM_ALG_ECC ? "ecc" : "rsa";
}

/* Appends one PCR number (digits only, 0..23) to the mask and the id list. */
static bool add_pcr(struct tpm2_cfg *c, const char *s, size_t n)
{
	unsigned v = 0;

	if (!n || n > 2)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v >= TPM_PCR_COUNT)
		return false;
	c->pcrs |= 1u << v;
	size_t len = strlen(c->ids);
	if (len + n + 2 > sizeof(c->ids))
		return false;
	snprintf(c->ids + len, sizeof(c->ids) - len, "%s%.*s", len ? "," : "", (int)n, s);
	return true;
}

/* "0,7" (spaces ignored, as clevis strips them) into the mask and ids. */
bool tpm2_parse_pcr_string(struct tpm2_cfg *c, const char *s)
{
	char clean[sizeof(c->ids) * 2];
	size_t n = 0;

	for (; *s; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\n')
			continue;
		if (n + 1 >= sizeof(clean))
			return false;
		clean[n++] = *s;
	}
	clean[n] = 0;
	for (char *p = clean; *p;) {
		size_t len = strcspn(p, ",");
		if (!add_pcr(c, p, len))
			return false;
		p += len;
		if (*p == ',' && !*++p)
			return false;	/* a trailing comma */
	}
	return true;
}

/* pcr_ids as a JSON array of numbers or digit strings: ["0","7"] or [0,7]. */
static bool parse_pcr_array(struct tpm2_cfg *c, const cJSON *arr)
{
	const cJSON *v;
	char num[8];

	cJSON_ArrayForEach(v, arr) {
		if (cJSON_IsString(v) && add_pcr(c, v->valuestring, strlen(v->valuestring)))
			continue;
		if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble >= TPM_PCR_COUNT ||
		    v->valuedouble != (int)v->valuedouble)
			return false;
		snprintf(num, sizeof(num), "%d", (int)v->valuedouble);
		if (!add_pcr(c, num, strlen(num)))
			return false;
	}
	return true;
}

/* A string member, or def when absent; false when present but not a string. */
static bool cfg_str(const cJSON *cfg, const char *name, const char *def, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, name);

	*out = v ? (cJSON_IsString(v) ? v->valuestring : NULL) : def;
	return !v || *out;
}

static int parse_pcrs(const cJSON *cfg, struct tpm2_cfg *c, const struct pin_opts *o)
{
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(cfg, "pcr_ids");
	const char *digest;

	if (ids && !(cJSON_IsString(ids) ? tpm2_parse_pcr_string(c, ids->valuestring)
					 : cJSON_IsArray(ids) && parse_pcr_array(c, ids))) {
		pin_msg(o, "%s pin: invalid pcr_ids (PCR numbers 0 to 23, \"0,7\" or [0,7])", c->pin);
		return -1;
	}
	if (!cfg_str(cfg, "pcr_digest", NULL, &digest) || (digest && b64url_decode_str(digest, &c->digest))) {
		pin_msg(o, "%s pin: invalid pcr_digest (base64url of the PCR values)", c->pin);
		return -1;
	}
	return 0;
}

int tpm2_parse_config(const char *pin, const cJSON *cfg, struct tpm2_cfg *c, const struct pin_opts *o)
{
	*c = (struct tpm2_cfg){ .ids = "", .pin = pin };
	const char *hash, *key, *bank;

	if (!cJSON_IsObject(cfg)) {
		pin_msg(o, "Configuration is malformed!");
		return -1;
	}
	if (!cfg_str(cfg, "hash", "sha256", &hash) || !(c->hash = tpm_hash_alg(hash))) {
		pin_msg(o, "%s pin: unsupported hash (sha1, sha256, sha384 or sha512)", pin);
		return -1;
	}
	if (!cfg_str(cfg, "key", "ecc", &key) || !(c->key = tpm2_key_alg(key))) {
		pin_msg(o, "%s pin: unsupported key (ecc or rsa)", pin);
		return -1;
	}
	if (!cfg_str(cfg, "pcr_bank", NULL, &bank) || (bank && !(c->bank = tpm_hash_alg(bank)))) {
		pin_msg(o, "%s pin: unsupported pcr_bank (sha1, sha256, sha384 or sha512)", pin);
		return -1;
	}
	return parse_pcrs(cfg, c, o);
}

/* --- one conversation with the TPM --- */


int tpm2_conv_open(struct tpm2_conv *cv, const char *pin, const struct pin_opts *o)
{
	pthread_mutex_lock(&tpm_lock);
	cv->pin = pin;
	cv->primary = cv->item = 0;
	cv->open = false;
	/* an sss child no longer needed once its turn comes: leave the TPM alone */
	if (pin_abandoned(o)) {
		pthread_mutex_unlock(&tpm_lock);
		return -1;
	}
	cv->open = !tpm_open(&cv->t, getenv(TCTI_ENV), o->deadline_ms);
	if (!cv->open) {
		pin_msg(o, "%s pin: %s", cv->pin, cv->t.err);
		tpm_close(&cv->t);
		pthread_mutex_unlock(&tpm_lock);
		return -1;
	}
	return 0;
}

/* Flushes what is still loaded (a TPM without resource manager keeps it). */
void tpm2_conv_close(struct tpm2_conv *cv)
{
	if (!cv->open)
		return;
	if (cv->item)
		tpm_flush(&cv->t, cv->item);
	if (cv->primary)
		tpm_flush(&cv->t, cv->primary);
	tpm_close(&cv->t);
	cv->open = false;
	pthread_mutex_unlock(&tpm_lock);
}

int tpm2_conv_fail(struct tpm2_conv *cv, const struct pin_opts *o)
{
	pin_msg(o, "%s pin: %s", cv->pin, cv->t.err);
	tpm2_conv_close(cv);
	return -1;
}

/* --- encryption --- */

/* The PCR values to seal to: pcr_digest, or the TPM's current ones. */
static int pcr_values(struct tpm2_conv *cv, struct tpm2_cfg *c, unsigned char *out, size_t *len)
{
	struct tpm_pcr_sel sel = { c->bank, c->pcrs };
	size_t want = (size_t)__builtin_popcount(c->pcrs) * tpm_hash_len(c->bank);

	if (!c->digest.len)
		return tpm_pcr_read(&cv->t, &sel, out, TPM_PCR_COUNT * TPM_MAX_DIGEST, len);
	if (c->digest.len != want) {
		snprintf(cv->t.err, sizeof(cv->t.err), "pcr_digest has %zu bytes, %zu PCRs of %s need %zu",
			 c->digest.len, (size_t)__builtin_popcount(c->pcrs), tpm_hash_name(c->bank), want);
		return -1;
	}
	memcpy(out, c->digest.p, want);
	*len = want;
	return 0;
}

/* pcr_bank by default: the first bank with PCRs, as clevis 22 chooses. */
static int default_bank(struct tpm2_conv *cv, struct tpm2_cfg *c)
{
	struct tpm_pcr_sel banks[TPM_MAX_BANKS];
	size_t n;

	if (tpm_pcr_banks(&cv->t, banks, TPM_MAX_BANKS, &n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (tpm_hash_name(banks[i].hash)) {
			c->bank = banks[i].hash;
			return 0;
		}
	}
	snprintf(cv->t.err, sizeof(cv->t.err), "the TPM has no PCR bank nbde supports (sha1, sha256, sha384, sha512)");
	return -1;
}

int tpm2_pcr_policy(struct tpm2_conv *cv, struct tpm2_cfg *c, unsigned char *policy, size_t *len)
{
	unsigned char values[TPM_PCR_COUNT * TPM_MAX_DIGEST];
	size_t n;

	*len = 0;
	if (!c->pcrs)
		return 0;
	if ((!c->bank && default_bank(cv, c)) || pcr_values(cv, c, values, &n))
		return -1;
	*len = tpm_policy_pcr_digest(c->hash, &(struct tpm_pcr_sel){ c->bank, c->pcrs }, values, n, policy);
	if (*len)
		return 0;
	snprintf(cv->t.err, sizeof(cv->t.err), "cannot compute the PCR policy");
	return -1;
}

bool tpm2_set_b64(cJSON *obj, const char *name, const struct buf *b)
{
	AUTO_FREE char *s = b64url_encode(b->p, b->len);
	return s && json_set_str(obj, name, s);
}

cJSON *tpm2_header(const struct tpm2_cfg *c, const struct buf *pub, const struct buf *priv, cJSON **fields)
{
	AUTO_JSON hdr = cJSON_CreateObject();
	cJSON *clevis, *data;

	if (!hdr || !(clevis = cJSON_AddObjectToObject(hdr, "clevis")) || !json_set_str(clevis, "pin", c->pin) ||
	    !(data = cJSON_AddObjectToObject(clevis, c->pin)) || !json_set_str(data, "hash", tpm_hash_name(c->hash)) ||
	    !json_set_str(data, "key", key_name(c->key)) || !tpm2_set_b64(data, "jwk_pub", pub) ||
	    !tpm2_set_b64(data, "jwk_priv", priv))
		return NULL;
	if (c->pcrs && (!json_set_str(data, "pcr_bank", tpm_hash_name(c->bank)) || !json_set_str(data, "pcr_ids", c->ids)))
		return NULL;
	*fields = data;
	return TAKE_PTR(hdr);
}

char *tpm2_encrypt(const char *pin, const cJSON *cfg, const void *pt, size_t len, const struct tpm2_sealer *sealer,
		   const struct pin_opts *o)
{
	struct tpm2_cfg c;
	AUTO_JSON_SECRET jwk = NULL;
	AUTO_JSON hdr = NULL;
	AUTO_BUF pub = { 0 };
	AUTO_BUF priv = { 0 };
	AUTO_JWE j = { 0 };
	const char *err = "out of memory";
	char *text = NULL, *out = NULL;
	cJSON *fields;

	if (tpm2_parse_config(pin, cfg, &c, o) || !(jwk = tpm2_new_cek(&text, pin, o)) ||
	    sealer->seal(&c, text, &pub, &priv, sealer->ctx, o))
		goto done;
	if (!(hdr = tpm2_header(&c, &pub, &priv, &fields)) ||
	    (sealer->add_fields && !sealer->add_fields(fields, sealer->ctx)) ||
	    jwe_encrypt(&j, hdr, jwk, pt, len, &err) || !(out = jwe_compact(&j)))
		pin_msg(o, "%s pin: %s", pin, err);
done:
	if (text)
		secret_free(text, strlen(text) + 1);
	buf_free(&c.digest);
	return out;
}

/* The content key's JWK text as clevis seals it: canonical JSON and "\n". */
char *tpm2_jwk_text(const cJSON *jwk)
{
	AUTO_SECRET_STR s = json_canonical(jwk);
	size_t n = s ? strlen(s) : 0;
	char *out = s ? secret_alloc(n + 2) : NULL;

	if (out) {
		memcpy(out, s, n);
		out[n] = '\n';
	}
	return out;
}

/* --- decryption --- */


void tpm2_sealed_free(struct tpm2_sealed *s)
{
	buf_free(&s->pub);
	buf_free(&s->priv);
}

/* A TPM2B whose size field matches its length. */
static bool is_b2b(const struct buf *b)
{
	return b->len >= 2 && (size_t)(b->p[0] << 8 | b->p[1]) == b->len - 2;
}

/* tpm2-tools 3.0 saved TPM2B_PRIVATE without its size field: add it. */
static int fix_old_private(struct buf *priv)
{
	AUTO_BUF b = { 0 };

	if (is_b2b(priv) || priv->len > TPM_MAX_MSG || buf_alloc(&b, priv->len + 2))
		return is_b2b(priv) ? 0 : -1;
	b.p[0] = priv->len >> 8;
	b.p[1] = priv->len;
	memcpy(b.p + 2, priv->p, priv->len);
	buf_free(priv);
	*priv = b;
	b = (struct buf){ 0 };
	return 0;
}

static int required(const cJSON *data, const char *name, const char **out, const struct pin_opts *o)
{
	if ((*out = json_get_str(data, name)))
		return 0;
	pin_msg(o, "JWE missing required '%s' header parameter!", name);
	return -1;
}

static int read_pcr_header(const cJSON *data, struct tpm2_sealed *s, const struct pin_opts *o)
{
	struct tpm2_cfg c = { .ids = "", .pin = s->pin };
	const char *ids = json_get_str(data, "pcr_ids"), *bank = json_get_str(data, "pcr_bank");

	if (!ids || !*ids)
		return 0;
	if (!tpm2_parse_pcr_string(&c, ids) || !(s->sel.hash = tpm_hash_alg(bank))) {
		pin_msg(o, "%s pin: JWE has an invalid pcr_ids or pcr_bank", s->pin);
		return -1;
	}
	s->sel.mask = c.pcrs;
	return 0;
}

const cJSON *tpm2_read_header(const char *pin, const struct jwe *j, struct tpm2_sealed *s, const struct pin_opts *o)
{
	const cJSON *data = pin_header_data(j->hdr, pin);

	*s = (struct tpm2_sealed){ .pin = pin };
	const char *hash, *key, *pub, *priv;

	if (!data) {
		pin_msg(o, "JWE missing required 'clevis.%s' header parameter!", pin);
		return NULL;
	}
	if (required(data, "hash", &hash, o) || required(data, "key", &key, o) ||
	    required(data, "jwk_pub", &pub, o) || required(data, "jwk_priv", &priv, o))
		return NULL;
	if (!(s->hash = tpm_hash_alg(hash)) || !(s->key = tpm2_key_alg(key))) {
		pin_msg(o, "%s pin: JWE names an unsupported hash or key", pin);
		return NULL;
	}
	if (b64url_decode_str(pub, &s->pub) || !is_b2b(&s->pub) || s->pub.len > TPM_MAX_MSG / 2) {
		pin_msg(o, "%s pin: JWE has an invalid jwk_pub (not a TPM2B_PUBLIC)", pin);
		return NULL;
	}
	if (b64url_decode_str(priv, &s->priv) || fix_old_private(&s->priv) || s->priv.len > TPM_MAX_MSG / 2) {
		pin_msg(o, "%s pin: JWE has an invalid jwk_priv (not a TPM2B_PRIVATE)", pin);
		return NULL;
	}
	return read_pcr_header(data, s, o) ? NULL : data;
}


int tpm2_open_jwe(const char *pin, const struct jwe *j, const struct buf *text, struct buf *pt,
		  const struct pin_opts *o)
{
	AUTO_JSON_SECRET jwk = NULL;
	const char *err;

	/* JSON text, maybe with clevis's trailing newline */
	if (!(jwk = json_parse((const char *)text->p, text->len)) || !cJSON_IsObject(jwk)) {
		pin_msg(o, "%s pin: the TPM unsealed something that is not a JWK", pin);
		return -1;
	}
	if (jwe_decrypt(j, jwk, pt, &err)) {
		pin_msg(o, "Unable to decrypt JWE: %s", err);
		return -1;
	}
	return 0;
}

cJSON *tpm2_new_cek(char **text, const char *pin, const struct pin_opts *o)
{
	AUTO_JSON tmpl = json_parse_str("{\"alg\":\"A256GCM\"}");
	cJSON *jwk = NULL;
	const char *err = "out of memory";

	*text = NULL;
	if (!tmpl || !(jwk = jwk_generate(tmpl, &err)) || !(*text = tpm2_jwk_text(jwk))) {
		pin_msg(o, "%s pin: %s", pin, err);
		json_delete_secret(jwk);
		return NULL;
	}
	return jwk;
}
