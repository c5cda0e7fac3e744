/* tpm.c - the TPM 2.0 commands of the tpm2 pin: see tpm.h. */
#include "tpm.h"

#include <stdio.h>
#include <string.h>

#include "../../crypto/cfb.h"
#include "../../crypto/ecdh.h"
#include "../../crypto/hash.h"
#include "../../crypto/kdf.h"
#include "../../crypto/rand.h"

/* Command codes (Part 2 §6.5.2) */
#define TPM_CC_CreatePrimary 0x131
#define TPM_CC_Create 0x153
#define TPM_CC_Load 0x157
#define TPM_CC_Unseal 0x15E
#define TPM_CC_FlushContext 0x165
#define TPM_CC_StartAuthSession 0x176
#define TPM_CC_GetCapability 0x17A
#define TPM_CC_PCR_Read 0x17E
#define TPM_CC_PolicyPCR 0x17F
#define TPM_CC_PolicyAuthValue 0x16B

#define TPM_RH_OWNER 0x40000001
#define TPM_RH_NULL 0x40000007
#define TPM_CAP_PCRS 0x00000005
#define TPM_CAP_TPM_PROPERTIES 0x00000006
/* TPM_PT_VAR properties (Part 2 §6.13): counter, maxAuthFail, interval, recovery */
#define TPM_PT_LOCKOUT_COUNTER 0x20E
#define TPM_PT_MAX_AUTH_FAIL 0x20F
#define TPM_PT_LOCKOUT_INTERVAL 0x210
#define TPM_PT_LOCKOUT_RECOVERY 0x211
#define LOCKOUT_PROPERTIES 4

/* Object attributes (Part 2 §8.3) */
#define ATTR_FIXED_TPM TPM_ATTR_FIXED_TPM
#define ATTR_FIXED_PARENT TPM_ATTR_FIXED_PARENT
#define ATTR_SENSITIVE_DATA_ORIGIN 0x00000020
#define ATTR_USER_WITH_AUTH TPM_ATTR_USER_WITH_AUTH
#define ATTR_ADMIN_WITH_POLICY TPM_ATTR_ADMIN_WITH_POLICY
#define ATTR_NO_DA TPM_ATTR_NO_DA
#define ATTR_RESTRICTED 0x00010000
#define ATTR_DECRYPT 0x00020000
/* tpm2_createprimary's storage key (0x00030072), which clevis relies on */
#define PRIMARY_ATTRS (ATTR_FIXED_TPM | ATTR_FIXED_PARENT | ATTR_SENSITIVE_DATA_ORIGIN | ATTR_USER_WITH_AUTH | \
		       ATTR_RESTRICTED | ATTR_DECRYPT)
/* clevis's sealed object: 0x492 with a policy, 0x4d2 (+userWithAuth) without */
#define SEALED_ATTRS (ATTR_FIXED_TPM | ATTR_FIXED_PARENT | ATTR_NO_DA | ATTR_ADMIN_WITH_POLICY)
#define PRIMARY_AES_BITS 128
#define PRIMARY_RSA_BITS 2048

/* Session attributes (Part 2 §8.4) */
#define ATTR_SESSION_DECRYPT 0x20	/* the command's first parameter is encrypted */
#define ATTR_SESSION_ENCRYPT 0x40	/* the response's first parameter is encrypted */

/* PCR_Read answers at most 8 digests at a time (Part 3 §22.4) */
#define PCR_READ_MAX_DIGESTS 8

static const struct {
	const char *name, *jose;
	uint16_t alg;
} hashes[] = {
	{ "sha1", "S1", TPM_ALG_SHA1 },
	{ "sha256", "S256", TPM_ALG_SHA256 },
	{ "sha384", "S384", TPM_ALG_SHA384 },
	{ "sha512", "S512", TPM_ALG_SHA512 },
};

uint16_t tpm_hash_alg(const char *name)
{
	for (size_t i = 0; name && i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if (!strcmp(hashes[i].name, name))
			return hashes[i].alg;
	return 0;
}

static const char *jose_hash(uint16_t alg)
{
	for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if (hashes[i].alg == alg)
			return hashes[i].jose;
	return NULL;
}

const char *tpm_hash_jose(uint16_t alg)
{
	return jose_hash(alg);
}

const char *tpm_hash_name(uint16_t alg)
{
	for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if (hashes[i].alg == alg)
			return hashes[i].name;
	return NULL;
}

size_t tpm_hash_len(uint16_t alg)
{
	return hash_len(jose_hash(alg));
}

/* --- response codes in words --- */

uint32_t tpm_rc_base(uint32_t rc)
{
	if (rc & 0xFFFFF000)
		return rc;		/* not from a TPM (a TSS layer), keep it whole */
	if (rc & 0x080)
		return rc & 0x0BF;	/* format 1: drop the parameter/handle/session number */
	return rc;
}

static const struct {
	uint32_t rc;
	const char *text;
} rc_texts[] = {
	{ 0x081, "TPM_RC_ASYMMETRIC: asymmetric algorithm not supported or not correct" },
	{ 0x082, "TPM_RC_ATTRIBUTES: inconsistent object attributes" },
	{ 0x083, "TPM_RC_HASH: hash algorithm not supported or not appropriate" },
	{ 0x084, "TPM_RC_VALUE: value is out of range or not correct for the context" },
	{ 0x085, "TPM_RC_HIERARCHY: the owner hierarchy is disabled" },
	{ 0x087, "TPM_RC_KEY_SIZE: key size is not supported" },
	{ 0x08A, "TPM_RC_TYPE: the object type is not supported" },
	{ TPM_RC_HANDLE, "TPM_RC_HANDLE: the handle is not loaded" },
	{ 0x08E, "TPM_RC_AUTH_FAIL: authorization failed" },
	{ 0x092, "TPM_RC_SCHEME: unsupported or incompatible scheme" },
	{ 0x095, "TPM_RC_SIZE: a structure has the wrong size" },
	{ 0x096, "TPM_RC_SYMMETRIC: unsupported symmetric algorithm or key size" },
	{ 0x098, "TPM_RC_SELECTOR: union selector is incorrect" },
	{ 0x09C, "TPM_RC_KEY: the key is not valid" },
	{ TPM_RC_POLICY_FAIL, "TPM_RC_POLICY_FAIL: PCR values changed since the binding" },
	{ TPM_RC_INTEGRITY, "TPM_RC_INTEGRITY: the sealed object was made by another TPM or altered" },
	{ 0x0A2, "TPM_RC_BAD_AUTH: authorization failed (the object has a password)" },
	{ 0x0A4, "TPM_RC_POLICY_CC: the policy does not allow this command" },
	{ 0x0A6, "TPM_RC_CURVE: curve not supported" },
	{ 0x100, "TPM_RC_INITIALIZE: the TPM was not started (TPM2_Startup)" },
	{ 0x101, "TPM_RC_FAILURE: the TPM is in failure mode" },
	{ 0x120, "TPM_RC_DISABLED: the TPM is disabled" },
	{ 0x125, "TPM_RC_AUTH_MISSING: the command needs an authorization" },
	{ 0x126, "TPM_RC_POLICY: the policy session does not allow this" },
	{ 0x128, "TPM_RC_PCR_CHANGED: PCR values changed during the policy session" },
	{ 0x12E, "TPM_RC_TOO_MANY_CONTEXTS: too many saved sessions" },
	{ 0x12F, "TPM_RC_AUTH_UNAVAILABLE: the authorization is not available (the object's policy is required)" },
	{ 0x130, "TPM_RC_REBOOT: the TPM needs a reboot" },
	{ 0x143, "TPM_RC_COMMAND_CODE: command not supported by this TPM" },
	{ 0x152, "TPM_RC_PARENT: the primary key is not the sealed object's parent" },
	{ 0x155, "TPM_RC_SENSITIVE: the sealed object's private part does not decrypt under this TPM's primary key" },
	{ 0x902, "TPM_RC_OBJECT_MEMORY: the TPM has no room for another object (left loaded by another program?)" },
	{ 0x903, "TPM_RC_SESSION_MEMORY: the TPM has no room for another session (left open by another program?)" },
	{ 0x904, "TPM_RC_MEMORY: the TPM is out of memory" },
	{ 0x905, "TPM_RC_SESSION_HANDLES: the TPM has no free session handle" },
	{ 0x906, "TPM_RC_OBJECT_HANDLES: the TPM has no free object handle" },
	{ 0x908, "TPM_RC_YIELDED: the TPM stayed busy" },
	{ 0x90A, "TPM_RC_TESTING: the TPM stayed in self-test" },
	{ 0x920, "TPM_RC_NV_RATE: the TPM is rate-limiting" },
	{ TPM_RC_LOCKOUT, "TPM_RC_LOCKOUT: the TPM is in dictionary-attack lockout" },
	{ 0x922, "TPM_RC_RETRY: the TPM stayed busy" },
};

const char *tpm_rc_text(uint32_t rc)
{
	uint32_t base = tpm_rc_base(rc);

	for (size_t i = 0; i < sizeof(rc_texts) / sizeof(rc_texts[0]); i++)
		if (rc_texts[i].rc == base)
			return rc_texts[i].text;
	return NULL;
}

/* --- responses --- */

/* Opens t->resp as the answer to a command sent with tag; on a TPM refusal
 * t->err names the code. what names the command for messages. */
static int response(struct tpm *t, uint16_t tag, const char *what, size_t nhandles, uint32_t *handles,
		    struct tpm_rbuf *params)
{
	struct tpm_rbuf body;
	const char *err, *text;

	if (tpm_resp_open(t->resp, t->resp_len, tag, &t->rc, &body, &err)) {
		snprintf(t->err, sizeof(t->err), "%s: %s", what, err);
		return -1;
	}
	if (t->rc) {
		if ((text = tpm_rc_text(t->rc)))
			snprintf(t->err, sizeof(t->err), "%s failed: %s (0x%x)", what, text, (unsigned)t->rc);
		else if (t->rc < 0x80)	/* neither format bit: a TPM 1.2's codes */
			snprintf(t->err, sizeof(t->err), "%s failed: the TPM answers as a TPM 1.2 (code 0x%x); "
				 "the tpm2 pin needs a TPM 2.0", what, (unsigned)t->rc);
		else
			snprintf(t->err, sizeof(t->err), "%s failed: TPM response code 0x%x", what, (unsigned)t->rc);
		return -1;
	}
	if (tpm_resp_split(&body, tag, nhandles, handles, params, &err)) {
		snprintf(t->err, sizeof(t->err), "%s: %s", what, err);
		return -1;
	}
	return 0;
}

static int malformed(struct tpm *t, const char *what)
{
	snprintf(t->err, sizeof(t->err), "%s: TPM response is malformed", what);
	return -1;
}

int tpm_parse_empty(struct tpm *t, uint16_t sent_tag, const char *what)
{
	struct tpm_rbuf p;

	if (response(t, sent_tag, what, 0, NULL, &p))
		return -1;
	return p.len ? malformed(t, what) : 0;
}

int tpm_parse_handle(struct tpm *t, uint16_t sent_tag, const char *what, uint32_t *handle)
{
	struct tpm_rbuf p;

	return response(t, sent_tag, what, 1, handle, &p);
}

int tpm_parse_pcr_banks(struct tpm *t, struct tpm_pcr_sel *banks, size_t max, size_t *n)
{
	struct tpm_pcr_sel all[TPM_MAX_BANKS];
	struct tpm_rbuf p;
	size_t count;

	*n = 0;
	if (response(t, TPM_ST_NO_SESSIONS, "GetCapability", 0, NULL, &p))
		return -1;
	tpm_get_u8(&p);	/* moreData: one TPML_PCR_SELECTION holds every bank */
	if (tpm_get_u32(&p) != TPM_CAP_PCRS || tpm_get_pcr_sels(&p, all, TPM_MAX_BANKS, &count) ||
	    !tpm_rbuf_done(&p))
		return malformed(t, "GetCapability");
	for (size_t i = 0; i < count && *n < max; i++)
		if (all[i].mask)
			banks[(*n)++] = all[i];
	return 0;
}

int tpm_parse_pcr_read(struct tpm *t, const struct tpm_pcr_sel *sel, unsigned char values[][TPM_MAX_DIGEST],
		       uint32_t *got, uint32_t *counter)
{
	struct tpm_pcr_sel out[TPM_MAX_BANKS];
	size_t count, dlen = tpm_hash_len(sel->hash), n;
	struct tpm_rbuf p;

	*got = 0;
	if (response(t, TPM_ST_NO_SESSIONS, "PCR_Read", 0, NULL, &p))
		return -1;
	*counter = tpm_get_u32(&p);
	if (tpm_get_pcr_sels(&p, out, TPM_MAX_BANKS, &count) || count > 1 ||
	    (count == 1 && (out[0].hash != sel->hash || (out[0].mask & ~sel->mask))))
		return malformed(t, "PCR_Read");
	uint32_t mask = count ? out[0].mask : 0;
	uint32_t ndigests = tpm_get_u32(&p);
	if (ndigests != (uint32_t)__builtin_popcount(mask) || ndigests > PCR_READ_MAX_DIGESTS)
		return malformed(t, "PCR_Read");
	for (int i = 0; i < TPM_PCR_COUNT; i++) {
		if (!(mask & (1u << i)))
			continue;
		const unsigned char *d = tpm_get_b2b(&p, TPM_MAX_DIGEST, &n);
		if (!d || n != dlen)
			return malformed(t, "PCR_Read");
		memcpy(values[i], d, n);
	}
	if (!tpm_rbuf_done(&p))
		return malformed(t, "PCR_Read");
	*got = mask;
	return 0;
}

/* A TPM2B at p, copied with its size field into out. */
static int copy_b2b(struct tpm_rbuf *p, struct buf *out)
{
	size_t start = p->pos, n;

	if (!tpm_get_b2b(p, TPM_MAX_MSG, &n))
		return -1;
	return buf_set(out, p->p + start, n + 2);
}

/* skips TPM2B_CREATION_DATA, TPM2B_DIGEST and TPMT_TK_CREATION */
static void skip_creation_info(struct tpm_rbuf *p)
{
	size_t n;

	tpm_get_b2b(p, TPM_MAX_MSG, &n);
	tpm_get_b2b(p, TPM_MAX_DIGEST, &n);
	tpm_get_u16(p);
	tpm_get_u32(p);
	tpm_get_b2b(p, TPM_MAX_DIGEST, &n);
}

int tpm_parse_create(struct tpm *t, struct buf *pub, struct buf *priv)
{
	struct tpm_rbuf p;

	if (response(t, TPM_ST_SESSIONS, "Create", 0, NULL, &p))
		return -1;
	if (copy_b2b(&p, priv) || copy_b2b(&p, pub)) {
		buf_free(priv);
		buf_free(pub);
		return malformed(t, "Create");
	}
	skip_creation_info(&p);
	if (!tpm_rbuf_done(&p)) {
		buf_free(priv);
		buf_free(pub);
		return malformed(t, "Create");
	}
	return 0;
}

/* Unseal's outData, the rest of the response p, into out. */
static int unseal_out_data(struct tpm *t, struct tpm_rbuf *p, struct buf *out)
{
	size_t n;
	const unsigned char *d = tpm_get_b2b(p, TPM_MAX_SEALED, &n);

	if (!d || !tpm_rbuf_done(p))
		return malformed(t, "Unseal");
	if (buf_set(out, d, n)) {
		snprintf(t->err, sizeof(t->err), "Unseal: out of memory");
		return -1;
	}
	return 0;
}

int tpm_parse_unseal(struct tpm *t, struct buf *out)
{
	struct tpm_rbuf p;

	if (response(t, TPM_ST_SESSIONS, "Unseal", 0, NULL, &p))
		return -1;
	return unseal_out_data(t, &p, out);
}

/* --- commands --- */

/* The authorization area of one session with empty nonce and HMAC (the
 * password session with the empty password, or a policy session whose
 * policy needs no HMAC). */
static void put_auth(struct tpm_wbuf *w, uint32_t session)
{
	size_t at = tpm_begin_size32(w);

	tpm_put_u32(w, session);
	tpm_put_b2b(w, NULL, 0);
	tpm_put_u8(w, 0);	/* continueSession clear: a policy session ends with the command */
	tpm_put_b2b(w, NULL, 0);
	tpm_end_size32(w, at);
}

static int exchange(struct tpm *t, struct tpm_wbuf *w)
{
	if (tpm_cmd_end(w)) {
		snprintf(t->err, sizeof(t->err), "TPM command too large");
		return -1;
	}
	return tpm_transact(t, w);
}

int tpm_pcr_banks(struct tpm *t, struct tpm_pcr_sel *banks, size_t max, size_t *n)
{
	struct tpm_wbuf w;

	tpm_cmd_begin(&w, TPM_ST_NO_SESSIONS, TPM_CC_GetCapability);
	tpm_put_u32(&w, TPM_CAP_PCRS);
	tpm_put_u32(&w, 0);
	tpm_put_u32(&w, 1);
	return exchange(t, &w) ? -1 : tpm_parse_pcr_banks(t, banks, max, n);
}

/* One PCR_Read of what is still wanted; adds the answered PCRs to *have. */
static int pcr_read_round(struct tpm *t, struct tpm_pcr_sel *want, unsigned char values[][TPM_MAX_DIGEST],
			  uint32_t *counter)
{
	struct tpm_wbuf w;
	uint32_t got;

	tpm_cmd_begin(&w, TPM_ST_NO_SESSIONS, TPM_CC_PCR_Read);
	tpm_put_pcr_sel(&w, want);
	if (exchange(t, &w) || tpm_parse_pcr_read(t, want, values, &got, counter))
		return -1;
	if (!got) {
		snprintf(t->err, sizeof(t->err), "the TPM has no %s PCR bank allocated",
			 tpm_hash_name(want->hash) ? tpm_hash_name(want->hash) : "such");
		return -1;
	}
	want->mask &= ~got;
	return 0;
}

int tpm_pcr_read(struct tpm *t, const struct tpm_pcr_sel *sel, unsigned char *out, size_t cap, size_t *len)
{
	unsigned char values[TPM_PCR_COUNT][TPM_MAX_DIGEST];
	struct tpm_pcr_sel want = *sel;
	size_t dlen = tpm_hash_len(sel->hash);
	uint32_t first = 0, counter;

	*len = 0;
	for (int round = 0; want.mask; round++) {
		if (pcr_read_round(t, &want, values, &counter))
			return -1;
		/* values from before and after an extend would seal to nothing */
		if (round && counter != first) {
			snprintf(t->err, sizeof(t->err), "PCR values changed while they were read; try again");
			return -1;
		}
		first = counter;
	}
	for (int i = 0; i < TPM_PCR_COUNT; i++) {
		if (!(sel->mask & (1u << i)))
			continue;
		if (*len + dlen > cap)
			return malformed(t, "PCR_Read");
		memcpy(out + *len, values[i], dlen);
		*len += dlen;
	}
	return 0;
}

static void put_primary_public(struct tpm_wbuf *w, uint16_t hash, uint16_t key)
{
	size_t at = tpm_begin_size16(w);

	tpm_put_u16(w, key);
	tpm_put_u16(w, hash);
	tpm_put_u32(w, PRIMARY_ATTRS);
	tpm_put_b2b(w, NULL, 0);	/* authPolicy */
	tpm_put_u16(w, TPM_ALG_AES);
	tpm_put_u16(w, PRIMARY_AES_BITS);
	tpm_put_u16(w, TPM_ALG_CFB);
	tpm_put_u16(w, TPM_ALG_NULL);	/* scheme */
	if (key == TPM_ALG_ECC) {
		tpm_put_u16(w, TPM_ECC_NIST_P256);
		tpm_put_u16(w, TPM_ALG_NULL);	/* kdf */
		tpm_put_b2b(w, NULL, 0);	/* unique.x */
		tpm_put_b2b(w, NULL, 0);	/* unique.y */
	} else {
		tpm_put_u16(w, PRIMARY_RSA_BITS);
		tpm_put_u32(w, 0);	/* exponent: the default 65537 */
		tpm_put_b2b(w, NULL, 0);	/* unique */
	}
	tpm_end_size16(w, at);
}

/* TPM2B_SENSITIVE_CREATE: the object's password (userAuth) and data. */
static void put_sensitive(struct tpm_wbuf *w, const void *auth, size_t auth_len, const void *data, size_t len)
{
	size_t at = tpm_begin_size16(w);

	tpm_put_b2b(w, auth, auth_len);
	tpm_put_b2b(w, data, len);
	tpm_end_size16(w, at);
}

/* Sends CreatePrimary in the owner hierarchy from the clevis template;
 * the caller parses the answer. */
static int create_primary_send(struct tpm *t, uint16_t hash, uint16_t key)
{
	struct tpm_wbuf w;

	tpm_cmd_begin(&w, TPM_ST_SESSIONS, TPM_CC_CreatePrimary);
	tpm_put_u32(&w, TPM_RH_OWNER);
	put_auth(&w, TPM_RS_PW);
	put_sensitive(&w, NULL, 0, NULL, 0);
	put_primary_public(&w, hash, key);
	tpm_put_b2b(&w, NULL, 0);	/* outsideInfo */
	tpm_put_pcr_sel(&w, &(struct tpm_pcr_sel){ .hash = TPM_ALG_NULL });	/* creationPCR: none */
	return exchange(t, &w);
}

int tpm_create_primary(struct tpm *t, uint16_t hash, uint16_t key, uint32_t *handle)
{
	return create_primary_send(t, hash, key) ? -1 : tpm_parse_handle(t, TPM_ST_SESSIONS, "CreatePrimary", handle);
}

/* The ECC point of outPublic's TPMT_PUBLIC, laid out as put_primary_public
 * wrote its template. */
static bool read_primary_point(struct tpm_rbuf *a, struct tpm_ecc_point *pt)
{
	size_t n, xn, yn;
	bool ok = tpm_get_u16(a) == TPM_ALG_ECC;

	tpm_get_u16(a);	/* nameAlg */
	tpm_get_u32(a);	/* attributes */
	tpm_get_b2b(a, TPM_MAX_DIGEST, &n);	/* authPolicy */
	ok = ok && tpm_get_u16(a) == TPM_ALG_AES && tpm_get_u16(a) == PRIMARY_AES_BITS &&
	     tpm_get_u16(a) == TPM_ALG_CFB && tpm_get_u16(a) == TPM_ALG_NULL &&
	     tpm_get_u16(a) == TPM_ECC_NIST_P256 && tpm_get_u16(a) == TPM_ALG_NULL;
	const unsigned char *x = tpm_get_b2b(a, TPM_ECC_BYTES, &xn), *y = tpm_get_b2b(a, TPM_ECC_BYTES, &yn);
	if (!ok || !x || !y || xn != TPM_ECC_BYTES || yn != TPM_ECC_BYTES || !tpm_rbuf_done(a))
		return false;
	memcpy(pt->x, x, TPM_ECC_BYTES);
	memcpy(pt->y, y, TPM_ECC_BYTES);
	return true;
}

int tpm_parse_primary(struct tpm *t, uint16_t key, struct tpm_primary *p)
{
	struct tpm_rbuf r;
	size_t n, start;

	p->has_point = false;
	p->name_len = 0;
	if (response(t, TPM_ST_SESSIONS, "CreatePrimary", 1, &p->handle, &r))
		return -1;
	start = r.pos;
	const unsigned char *area = tpm_get_b2b(&r, TPM_MAX_MSG, &n);
	if (!area || !(p->name_len = tpm_object_name(r.p + start, n + 2, p->name)))
		return malformed(t, "CreatePrimary");
	if (key == TPM_ALG_ECC) {
		struct tpm_rbuf a = tpm_rbuf(area, n);
		if (!(p->has_point = read_primary_point(&a, &p->pt)))
			return malformed(t, "CreatePrimary");
	}
	return 0;	/* creationData, creationHash, creationTicket and name follow, unused */
}

int tpm_create_primary_info(struct tpm *t, uint16_t hash, uint16_t key, struct tpm_primary *p)
{
	return create_primary_send(t, hash, key) ? -1 : tpm_parse_primary(t, key, p);
}

static void put_sealed_public(struct tpm_wbuf *w, const struct tpm_seal_spec *s)
{
	size_t at = tpm_begin_size16(w);

	tpm_put_u16(w, TPM_ALG_KEYEDHASH);
	tpm_put_u16(w, s->hash);
	tpm_put_u32(w, s->attrs);
	tpm_put_b2b(w, s->policy, s->policy_len);
	tpm_put_u16(w, TPM_ALG_NULL);	/* scheme */
	tpm_put_b2b(w, NULL, 0);	/* unique */
	tpm_end_size16(w, at);
}

int tpm_create_object(struct tpm *t, uint32_t parent, const struct tpm_seal_spec *s, struct buf *pub,
		      struct buf *priv)
{
	struct tpm_wbuf w;
	int rc = -1;

	tpm_cmd_begin(&w, TPM_ST_SESSIONS, TPM_CC_Create);
	tpm_put_u32(&w, parent);
	put_auth(&w, TPM_RS_PW);
	put_sensitive(&w, s->auth, s->auth_len, s->secret, s->secret_len);
	put_sealed_public(&w, s);
	tpm_put_b2b(&w, NULL, 0);	/* outsideInfo */
	tpm_put_pcr_sel(&w, &(struct tpm_pcr_sel){ .hash = TPM_ALG_NULL });
	if (!exchange(t, &w))
		rc = tpm_parse_create(t, pub, priv);
	tpm_wbuf_wipe(&w);
	return rc;
}


/* CFB key and IV of a session (Part 1 §21.3): KDFa(hash, sessionKey ‖
 * authValue, "CFB", nonceNewer, nonceOlder, 256 bits); the session here
 * authorises nothing, so its authValue part is empty. */
static int session_cfb(const struct tpm_session *s, const unsigned char *newer, size_t newer_len,
		       const unsigned char *older, size_t older_len, unsigned char out[2 * CFB_BLOCK])
{
	return kdfa(jose_hash(s->hash), s->session_key, s->key_len, "CFB", newer, newer_len, older, older_len, out,
		    2 * CFB_BLOCK * 8);
}

int tpm_create_object_encrypted(struct tpm *t, uint32_t parent, const unsigned char *parent_name,
				size_t parent_name_len, const struct tpm_seal_spec *s, struct tpm_session *enc,
				struct buf *pub, struct buf *priv)
{
	struct tpm_wbuf params, w;	/* both wiped: they carry the secret and its auth */
	unsigned char nonce[TPM_MAX_DIGEST], cfb[2 * CFB_BLOCK], mac[TPM_MAX_DIGEST];
	size_t n = tpm_hash_len(enc->hash), dlen = 0;
	int rc = -1;

	params.len = 0;
	params.overflow = false;
	w.len = 0;
	put_sensitive(&params, s->auth, s->auth_len, s->secret, s->secret_len);
	size_t sens_len = params.len - 2;
	put_sealed_public(&params, s);
	tpm_put_b2b(&params, NULL, 0);	/* outsideInfo */
	tpm_put_pcr_sel(&params, &(struct tpm_pcr_sel){ .hash = TPM_ALG_NULL });
	struct tpm_hmac_in in = {
		.hash = enc->hash, .key = enc->session_key, .key_len = enc->key_len, .cc = TPM_CC_Create,
		.names = parent_name, .names_len = parent_name_len, .params = params.b, .params_len = params.len,
		.nonce_caller = nonce, .nonce_caller_len = n, .nonce_tpm = enc->nonce_tpm,
		.nonce_tpm_len = enc->nonce_len, .attrs = ATTR_SESSION_DECRYPT,
	};
	/* the HMAC covers the parameters as sent, encrypted */
	if (params.overflow || !n || rand_bytes(nonce, n) ||
	    session_cfb(enc, nonce, n, enc->nonce_tpm, enc->nonce_len, cfb) ||
	    aes128_cfb(cfb, cfb + CFB_BLOCK, params.b + 2, sens_len, true) || !(dlen = tpm_cmd_hmac(&in, mac))) {
		snprintf(t->err, sizeof(t->err), "Create: cannot encrypt the sealed data for the TPM");
		goto out;
	}
	tpm_cmd_begin(&w, TPM_ST_SESSIONS, TPM_CC_Create);
	tpm_put_u32(&w, parent);
	size_t at = tpm_begin_size32(&w);
	tpm_put_u32(&w, TPM_RS_PW);	/* the parent's empty password */
	tpm_put_b2b(&w, NULL, 0);
	tpm_put_u8(&w, 0);
	tpm_put_b2b(&w, NULL, 0);
	tpm_put_u32(&w, enc->handle);	/* the encryption session, ended by the command */
	tpm_put_b2b(&w, nonce, n);
	tpm_put_u8(&w, ATTR_SESSION_DECRYPT);
	tpm_put_b2b(&w, mac, dlen);
	tpm_end_size32(&w, at);
	tpm_put_bytes(&w, params.b, params.len);
	if (!exchange(t, &w))
		rc = tpm_parse_create(t, pub, priv);
out:
	tpm_wbuf_wipe(&params);
	tpm_wbuf_wipe(&w);
	wipe(cfb, sizeof(cfb));
	return rc;
}

int tpm_create_sealed(struct tpm *t, uint32_t parent, uint16_t hash, const unsigned char *policy,
		      size_t policy_len, const void *secret, size_t secret_len, struct buf *pub, struct buf *priv)
{
	struct tpm_seal_spec s = {
		.hash = hash,
		.attrs = SEALED_ATTRS | (policy_len ? 0 : ATTR_USER_WITH_AUTH),
		.policy = policy,
		.policy_len = policy_len,
		.secret = secret,
		.secret_len = secret_len,
	};

	return tpm_create_object(t, parent, &s, pub, priv);
}

int tpm_load(struct tpm *t, uint32_t parent, const void *pub, size_t pub_len, const void *priv, size_t priv_len,
	     uint32_t *handle)
{
	struct tpm_wbuf w;

	tpm_cmd_begin(&w, TPM_ST_SESSIONS, TPM_CC_Load);
	tpm_put_u32(&w, parent);
	put_auth(&w, TPM_RS_PW);
	tpm_put_bytes(&w, priv, priv_len);
	tpm_put_bytes(&w, pub, pub_len);
	return exchange(t, &w) ? -1 : tpm_parse_handle(t, TPM_ST_SESSIONS, "Load", handle);
}

void tpm_session_wipe(struct tpm_session *s)
{
	wipe(s->session_key, sizeof(s->session_key));
	s->key_len = 0;
}

/* StartAuthSession of a policy session; tpm_key TPM_RH_NULL: unsalted, else
 * the salt encrypted to it (TPM2B_ENCRYPTED_SECRET body, len bytes). */
static int start_session(struct tpm *t, uint16_t hash, uint8_t type, uint32_t tpm_key,
			 const unsigned char *enc_salt, size_t enc_len, unsigned char *nonce, struct tpm_session *s)
{
	size_t n = tpm_hash_len(hash);
	struct tpm_wbuf w;

	/* nonceCaller: as long as the session's digest (Part 3 §11.1) */
	if (!n || rand_bytes(nonce, n)) {
		snprintf(t->err, sizeof(t->err), "StartAuthSession: no nonce");
		return -1;
	}
	tpm_cmd_begin(&w, TPM_ST_NO_SESSIONS, TPM_CC_StartAuthSession);
	tpm_put_u32(&w, tpm_key);
	tpm_put_u32(&w, TPM_RH_NULL);	/* bind: unbound */
	tpm_put_b2b(&w, nonce, n);
	tpm_put_b2b(&w, enc_salt, enc_len);
	tpm_put_u8(&w, type);
	if (enc_len) {	/* salted: parameter encryption possible, AES-128-CFB */
		tpm_put_u16(&w, TPM_ALG_AES);
		tpm_put_u16(&w, CFB_KEY_BYTES * 8);
		tpm_put_u16(&w, TPM_ALG_CFB);
	} else {
		tpm_put_u16(&w, TPM_ALG_NULL);	/* symmetric: no parameter encryption */
	}
	tpm_put_u16(&w, hash);
	if (exchange(t, &w))
		return -1;
	if (tpm_parse_session(t, hash, s)) {
		if (s->handle)	/* a session whose nonce made no sense */
			tpm_flush(t, s->handle);
		s->handle = 0;
		return -1;
	}
	return 0;
}

int tpm_start_session(struct tpm *t, uint16_t hash, struct tpm_session *s)
{
	unsigned char nonce[TPM_MAX_DIGEST];

	s->key_len = 0;
	return start_session(t, hash, TPM_SE_POLICY, TPM_RH_NULL, NULL, 0, nonce, s);
}

int tpm_start_salted_session(struct tpm *t, uint16_t hash, uint8_t type, uint32_t tpm_key, uint16_t key_hash,
			     const struct tpm_ecc_point *pt, struct tpm_session *s)
{
	unsigned char ex[TPM_ECC_BYTES], ey[TPM_ECC_BYTES], z[TPM_ECC_BYTES], salt[TPM_MAX_DIGEST];
	unsigned char nonce[TPM_MAX_DIGEST];
	const char *kh = jose_hash(key_hash), *sh = jose_hash(hash);
	size_t slen = hash_len(kh), klen = hash_len(sh);
	struct tpm_wbuf e = { .len = 0 };
	int rc = -1;

	s->key_len = 0;
	/* TPMS_ECC_POINT of the ephemeral key: the encrypted salt */
	if (!slen || !klen || ecdh_p256_ephemeral(pt->x, pt->y, ex, ey, z) ||
	    kdfe(kh, z, sizeof(z), "SECRET", ex, sizeof(ex), pt->x, TPM_ECC_BYTES, salt, slen * 8)) {
		snprintf(t->err, sizeof(t->err), "StartAuthSession: cannot salt the session (the primary's point?)");
		goto out;
	}
	tpm_put_b2b(&e, ex, sizeof(ex));
	tpm_put_b2b(&e, ey, sizeof(ey));
	if (start_session(t, hash, type, tpm_key, e.b, e.len, nonce, s))
		goto out;
	size_t n = tpm_hash_len(hash);
	if (kdfa(sh, salt, slen, "ATH", s->nonce_tpm, s->nonce_len, nonce, n, s->session_key, klen * 8)) {
		tpm_flush(t, s->handle);
		s->handle = 0;
		snprintf(t->err, sizeof(t->err), "StartAuthSession: cannot derive the session key");
		goto out;
	}
	s->key_len = klen;
	rc = 0;
out:
	wipe(z, sizeof(z));
	wipe(salt, sizeof(salt));
	return rc;
}

int tpm_parse_session(struct tpm *t, uint16_t hash, struct tpm_session *s)
{
	struct tpm_rbuf p;
	size_t got;

	s->handle = 0;
	if (response(t, TPM_ST_NO_SESSIONS, "StartAuthSession", 1, &s->handle, &p))
		return -1;
	const unsigned char *nt = tpm_get_b2b(&p, TPM_MAX_DIGEST, &got);
	if (!nt || !tpm_rbuf_done(&p))
		return malformed(t, "StartAuthSession");
	s->hash = hash;
	memcpy(s->nonce_tpm, nt, got);
	s->nonce_len = got;
	return 0;
}

int tpm_start_policy_session(struct tpm *t, uint16_t hash, uint32_t *handle)
{
	struct tpm_session s = { 0 };

	if (tpm_start_session(t, hash, &s))
		return -1;
	*handle = s.handle;
	return 0;
}

int tpm_policy_pcr(struct tpm *t, uint32_t session, const struct tpm_pcr_sel *sel)
{
	struct tpm_wbuf w;

	tpm_cmd_begin(&w, TPM_ST_NO_SESSIONS, TPM_CC_PolicyPCR);
	tpm_put_u32(&w, session);
	tpm_put_b2b(&w, NULL, 0);	/* pcrDigest: the TPM takes the current values */
	tpm_put_pcr_sel(&w, sel);
	return exchange(t, &w) ? -1 : tpm_parse_empty(t, TPM_ST_NO_SESSIONS, "PolicyPCR");
}

int tpm_unseal(struct tpm *t, uint32_t item, uint32_t session, struct buf *out)
{
	struct tpm_wbuf w;
	int rc;

	tpm_cmd_begin(&w, TPM_ST_SESSIONS, TPM_CC_Unseal);
	tpm_put_u32(&w, item);
	put_auth(&w, session);
	rc = exchange(t, &w) ? -1 : tpm_parse_unseal(t, out);
	wipe(t->resp, sizeof(t->resp));
	t->resp_len = 0;
	return rc;
}

void tpm_flush(struct tpm *t, uint32_t handle)
{
	struct tpm_wbuf w;
	char keep[sizeof(t->err)];

	memcpy(keep, t->err, sizeof(keep));	/* the reason the caller is cleaning up */
	tpm_cmd_begin(&w, TPM_ST_NO_SESSIONS, TPM_CC_FlushContext);
	tpm_put_u32(&w, handle);
	if (!exchange(t, &w))
		tpm_parse_empty(t, TPM_ST_NO_SESSIONS, "FlushContext");
	memcpy(t->err, keep, sizeof(keep));
}

/* --- policy --- */

size_t tpm_policy_pcr_digest(uint16_t hash, const struct tpm_pcr_sel *sel, const void *values, size_t len,
			     unsigned char *out)
{
	const char *h = jose_hash(hash);
	size_t dlen = hash_len(h);
	unsigned char pcr_digest[TPM_MAX_DIGEST];
	struct tpm_wbuf w = { .len = 0 };

	if (!dlen || hash_compute(h, values, len, pcr_digest) != dlen)
		return 0;
	tpm_put_bytes(&w, (unsigned char[TPM_MAX_DIGEST]){ 0 }, dlen);	/* the empty policy */
	tpm_put_u32(&w, TPM_CC_PolicyPCR);
	tpm_put_pcr_sel(&w, sel);
	tpm_put_bytes(&w, pcr_digest, dlen);
	if (w.overflow || hash_compute(h, w.b, w.len, out) != dlen)
		return 0;
	return dlen;
}

size_t tpm_policy_auth_value_digest(uint16_t hash, unsigned char *digest, size_t len)
{
	const char *h = jose_hash(hash);
	struct tpm_wbuf w = { .len = 0 };

	if (!h || len != hash_len(h))
		return 0;
	tpm_put_bytes(&w, digest, len);
	tpm_put_u32(&w, TPM_CC_PolicyAuthValue);
	return w.overflow || hash_compute(h, w.b, w.len, digest) != len ? 0 : len;
}

size_t tpm_object_name(const void *pub, size_t len, unsigned char *out)
{
	struct tpm_rbuf r = tpm_rbuf(pub, len);
	size_t n;
	const unsigned char *area = tpm_get_b2b(&r, TPM_MAX_MSG, &n);

	if (!area || !tpm_rbuf_done(&r) || n < 4)
		return 0;
	uint16_t alg = (uint16_t)(area[2] << 8 | area[3]);	/* type, then nameAlg */
	const char *h = jose_hash(alg);
	size_t dlen = hash_len(h);
	if (!dlen || hash_compute(h, area, n, out + 2) != dlen)
		return 0;
	out[0] = alg >> 8;
	out[1] = alg & 0xff;
	return 2 + dlen;
}

/* --- HMAC sessions (Part 1 §19.6) --- */

static void be32_to(unsigned char b[4], uint32_t v)
{
	b[0] = v >> 24;
	b[1] = v >> 16 & 0xff;
	b[2] = v >> 8 & 0xff;
	b[3] = v & 0xff;
}

/* HMAC_key(pHash ‖ newer ‖ older ‖ attrs) with pHash = H(prefix ‖ names ‖ params) */
static size_t session_hmac(const struct tpm_hmac_in *in, const unsigned char *prefix, size_t prefix_len,
			   const unsigned char *newer, size_t newer_len, const unsigned char *older,
			   size_t older_len, unsigned char *out)
{
	const char *h = jose_hash(in->hash);
	size_t dlen = hash_len(h);
	unsigned char phash[TPM_MAX_DIGEST];
	struct tpm_wbuf w = { .len = 0 };

	tpm_put_bytes(&w, prefix, prefix_len);
	tpm_put_bytes(&w, in->names, in->names_len);
	tpm_put_bytes(&w, in->params, in->params_len);
	if (!dlen || w.overflow || hash_compute(h, w.b, w.len, phash) != dlen)
		return 0;
	struct hash_part parts[] = { { phash, dlen }, { newer, newer_len }, { older, older_len },
				     { &in->attrs, 1 } };
	return hash_hmac(h, in->key, in->key_len, parts, sizeof(parts) / sizeof(parts[0]), out);
}

size_t tpm_cmd_hmac(const struct tpm_hmac_in *in, unsigned char *out)
{
	unsigned char cc[4];

	be32_to(cc, in->cc);
	return session_hmac(in, cc, 4, in->nonce_caller, in->nonce_caller_len, in->nonce_tpm, in->nonce_tpm_len,
			    out);
}

size_t tpm_resp_hmac(const struct tpm_hmac_in *in, unsigned char *out)
{
	unsigned char rc_cc[8] = { 0 };	/* TPM_RC_SUCCESS, then the command code */

	be32_to(rc_cc + 4, in->cc);
	if (in->names_len)
		return 0;	/* a response hash covers no names */
	return session_hmac(in, rc_cc, 8, in->nonce_tpm, in->nonce_tpm_len, in->nonce_caller,
			    in->nonce_caller_len, out);
}

int tpm_policy_auth_value(struct tpm *t, uint32_t session)
{
	struct tpm_wbuf w;

	tpm_cmd_begin(&w, TPM_ST_NO_SESSIONS, TPM_CC_PolicyAuthValue);
	tpm_put_u32(&w, session);
	return exchange(t, &w) ? -1 : tpm_parse_empty(t, TPM_ST_NO_SESSIONS, "PolicyAuthValue");
}

static bool same_mac(const unsigned char *a, const unsigned char *b, size_t n)
{
	unsigned char d = 0;

	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return !d;
}

/* The Unseal response's authorization (one TPMS_AUTH_RESPONSE after the
 * parameters p) checked against in, the nonce the TPM sent kept in s. */
static int check_resp_auth(struct tpm *t, const struct tpm_rbuf *p, struct tpm_hmac_in *in, struct tpm_session *s)
{
	const unsigned char *end = t->resp + t->resp_len, *at = p->p + p->len;
	struct tpm_rbuf a = tpm_rbuf(at, (size_t)(end - at));
	unsigned char want[TPM_MAX_DIGEST];
	size_t nlen, mlen;
	const unsigned char *nonce = tpm_get_b2b(&a, TPM_MAX_DIGEST, &nlen);

	in->attrs = tpm_get_u8(&a);
	const unsigned char *mac = tpm_get_b2b(&a, TPM_MAX_DIGEST, &mlen);
	if (!nonce || !mac || !tpm_rbuf_done(&a))
		return malformed(t, "Unseal");
	in->nonce_tpm = nonce;
	in->nonce_tpm_len = nlen;
	in->names = NULL;
	in->names_len = 0;
	in->params = p->p;
	in->params_len = p->len;
	size_t dlen = tpm_resp_hmac(in, want);
	bool good = dlen && mlen == dlen && same_mac(want, mac, dlen);
	wipe(want, sizeof(want));
	if (!good) {
		snprintf(t->err, sizeof(t->err), "Unseal: the TPM's answer does not carry the session's HMAC");
		return -1;
	}
	memcpy(s->nonce_tpm, nonce, nlen);
	s->nonce_len = nlen;
	return 0;
}

int tpm_parse_unseal_auth(struct tpm *t, struct tpm_hmac_in *in, struct tpm_session *s, struct buf *out)
{
	struct tpm_rbuf p;
	unsigned char cfb[2 * CFB_BLOCK];

	if (response(t, TPM_ST_SESSIONS, "Unseal", 0, NULL, &p) || check_resp_auth(t, &p, in, s) ||
	    unseal_out_data(t, &p, out))
		return -1;
	if (!(in->attrs & ATTR_SESSION_ENCRYPT))
		return 0;
	/* outData came encrypted (Part 1 §21.3): nonceNewer is the TPM's */
	int rc = kdfa(jose_hash(in->hash), in->key, in->key_len, "CFB", in->nonce_tpm, in->nonce_tpm_len,
		      in->nonce_caller, in->nonce_caller_len, cfb, sizeof(cfb) * 8) ||
		 aes128_cfb(cfb, cfb + CFB_BLOCK, out->p, out->len, false);
	wipe(cfb, sizeof(cfb));
	if (rc) {
		buf_free(out);
		snprintf(t->err, sizeof(t->err), "Unseal: cannot decrypt the TPM's answer");
		return -1;
	}
	return 0;
}

int tpm_unseal_auth(struct tpm *t, uint32_t item, const unsigned char *name, size_t name_len,
		    struct tpm_session *s, const void *auth, size_t auth_len, struct buf *out)
{
	unsigned char nonce[TPM_MAX_DIGEST], mac[TPM_MAX_DIGEST];
	size_t n = tpm_hash_len(s->hash), dlen;
	struct tpm_wbuf w;
	int rc = -1;

	if (!n || rand_bytes(nonce, n)) {
		snprintf(t->err, sizeof(t->err), "Unseal: no nonce");
		return -1;
	}
	unsigned char key[2 * TPM_MAX_DIGEST];	/* sessionKey ‖ authValue */
	if (auth_len > TPM_MAX_DIGEST) {
		snprintf(t->err, sizeof(t->err), "Unseal: auth value too long");
		return -1;
	}
	memcpy(key, s->session_key, s->key_len);
	memcpy(key + s->key_len, auth, auth_len);
	struct tpm_hmac_in in = {
		.hash = s->hash, .key = key, .key_len = s->key_len + auth_len, .cc = TPM_CC_Unseal,
		.names = name, .names_len = name_len, .nonce_caller = nonce, .nonce_caller_len = n,
		.nonce_tpm = s->nonce_tpm, .nonce_tpm_len = s->nonce_len,
		/* continueSession clear: the session ends with the command; a
		 * salted one encrypts the unsealed data */
		.attrs = s->key_len ? ATTR_SESSION_ENCRYPT : 0,
	};
	if (!(dlen = tpm_cmd_hmac(&in, mac))) {
		wipe(key, sizeof(key));
		snprintf(t->err, sizeof(t->err), "Unseal: cannot compute the session HMAC");
		return -1;
	}
	tpm_cmd_begin(&w, TPM_ST_SESSIONS, TPM_CC_Unseal);
	tpm_put_u32(&w, item);
	size_t at = tpm_begin_size32(&w);
	tpm_put_u32(&w, s->handle);
	tpm_put_b2b(&w, nonce, n);
	tpm_put_u8(&w, in.attrs);
	tpm_put_b2b(&w, mac, dlen);
	tpm_end_size32(&w, at);
	if (!exchange(t, &w))
		rc = tpm_parse_unseal_auth(t, &in, s, out);
	wipe(t->resp, sizeof(t->resp));
	t->resp_len = 0;
	wipe(mac, sizeof(mac));
	wipe(key, sizeof(key));
	return rc;
}

/* --- dictionary-attack state --- */

int tpm_parse_lockout(struct tpm *t, struct tpm_lockout *l)
{
	struct tpm_rbuf p;

	*l = (struct tpm_lockout){ 0 };
	if (response(t, TPM_ST_NO_SESSIONS, "GetCapability", 0, NULL, &p))
		return -1;
	tpm_get_u8(&p);	/* moreData */
	uint32_t cap = tpm_get_u32(&p), count = tpm_get_u32(&p);
	if (cap != TPM_CAP_TPM_PROPERTIES || count > LOCKOUT_PROPERTIES)
		return malformed(t, "GetCapability");
	for (uint32_t i = 0; i < count; i++) {
		uint32_t prop = tpm_get_u32(&p), v = tpm_get_u32(&p);
		if (prop == TPM_PT_LOCKOUT_COUNTER)
			l->counter = v;
		else if (prop == TPM_PT_MAX_AUTH_FAIL)
			l->max_tries = v;
		else if (prop == TPM_PT_LOCKOUT_INTERVAL)
			l->interval_s = v;
		else if (prop == TPM_PT_LOCKOUT_RECOVERY)
			l->recovery_s = v;
	}
	return tpm_rbuf_done(&p) ? 0 : malformed(t, "GetCapability");
}

int tpm_lockout_state(struct tpm *t, struct tpm_lockout *l)
{
	struct tpm_wbuf w;

	tpm_cmd_begin(&w, TPM_ST_NO_SESSIONS, TPM_CC_GetCapability);
	tpm_put_u32(&w, TPM_CAP_TPM_PROPERTIES);
	tpm_put_u32(&w, TPM_PT_LOCKOUT_COUNTER);
	tpm_put_u32(&w, LOCKOUT_PROPERTIES);
	return exchange(t, &w) ? -1 : tpm_parse_lockout(t, l);
}
