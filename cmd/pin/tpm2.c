/* tpm2.c - the tpm2 pin: the content key sealed by this machine's TPM 2.0,
 * optionally to PCR values, compatible with clevis-encrypt-tpm2 /
 * clevis-decrypt-tpm2 (tpm2-tools) both ways.
 *
 * Encrypt: a fresh A256GCM JWK, sealed (as its JSON text plus a newline,
 * as clevis's here-string leaves it) into a KEYEDHASH object under the
 * owner's primary key; the object's public and private parts go into the
 * header as jwk_pub / jwk_priv. Decrypt: recreate the primary, load the
 * object, satisfy its PolicyPCR in a policy session, unseal, open the JWE.
 * The TPM is talked to directly (cmd/tpm2/), one conversation at a time per
 * process: a TPM without a resource manager, and swtpm, have room for only a
 * few objects, and concurrent sss children would flush each other's. */
#include "tpm2_shared.h"

#include <string.h>

#include "../../crypto/json.h"
#include "../../crypto/jwk.h"

#define PIN "tpm2"

/* --- encryption --- */

/* Seals text; pub and priv get the object's parts. */
static int seal(struct tpm2_cfg *c, const char *text, struct buf *pub, struct buf *priv, void *ctx,
		const struct pin_opts *o)
{
	unsigned char policy[TPM_MAX_DIGEST];
	size_t plen;
	struct tpm2_conv cv;

	(void)ctx;
	if (tpm2_conv_open(&cv, PIN, o))
		return -1;
	if (tpm2_pcr_policy(&cv, c, policy, &plen) || tpm_create_primary(&cv.t, c->hash, c->key, &cv.primary) ||
	    tpm_create_sealed(&cv.t, cv.primary, c->hash, policy, plen, text, strlen(text), pub, priv))
		return tpm2_conv_fail(&cv, o);
	tpm2_conv_close(&cv);
	return 0;
}

char *pin_tpm2_encrypt(const cJSON *cfg, const void *pt, size_t len, const struct pin_opts *o)
{
	return tpm2_encrypt(PIN, cfg, pt, len, &(struct tpm2_sealer){ .seal = seal }, o);
}

/* --- decryption --- */

/* Loads and unseals; the sealed bytes go to out. */
static int unseal(const struct tpm2_sealed *s, struct buf *out, const struct pin_opts *o)
{
	struct tpm2_conv cv;
	uint32_t session = TPM_RS_PW;

	if (tpm2_conv_open(&cv, PIN, o))
		return -1;
	if (tpm_create_primary(&cv.t, s->hash, s->key, &cv.primary) ||
	    tpm_load(&cv.t, cv.primary, s->pub.p, s->pub.len, s->priv.p, s->priv.len, &cv.item))
		return tpm2_conv_fail(&cv, o);
	tpm_flush(&cv.t, cv.primary);	/* the TPM has room for few objects */
	cv.primary = 0;
	if (s->sel.mask && (tpm_start_policy_session(&cv.t, s->hash, &session) ||
			    tpm_policy_pcr(&cv.t, session, &s->sel))) {
		if (session != TPM_RS_PW)
			tpm_flush(&cv.t, session);
		return tpm2_conv_fail(&cv, o);
	}
	if (tpm_unseal(&cv.t, cv.item, session, out)) {
		/* a failed command leaves the session open */
		if (session != TPM_RS_PW)
			tpm_flush(&cv.t, session);
		return tpm2_conv_fail(&cv, o);
	}
	tpm2_conv_close(&cv);
	return 0;
}

int pin_tpm2_decrypt(const struct jwe *j, struct buf *pt, const struct pin_opts *o)
{
	struct tpm2_sealed s = { 0 };
	AUTO_BUF text = { 0 };
	int rc = -1;

	if (tpm2_read_header(PIN, j, &s, o) && !unseal(&s, &text, o))
		rc = tpm2_open_jwe(PIN, j, &text, pt, o);
	tpm2_sealed_free(&s);
	return rc;
}
