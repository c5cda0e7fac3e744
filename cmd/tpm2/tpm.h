/* tpm.h - the TPM 2.0 commands the tpm2 pin needs (TPM 2.0 Part 3), each a
 * marshalled command, one exchange over transport.h, and a response parser
 * that trusts nothing the TPM sent.
 *
 * Objects are made as clevis's pin makes them with tpm2-tools (and booster
 * and clevis-pin-tpm2 with their libraries), so each opens the others'
 * tokens: the primary key is recreated from a fixed template in the owner
 * hierarchy with an empty password; the sealed object is a KEYEDHASH whose
 * policy, when PCRs are named, is one PolicyPCR. No command needs an HMAC:
 * the owner's password is empty and the policy session is unbound and
 * unsalted (as clevis's).
 *
 * Every call returns 0, or -1 with t->err saying why in words (the TPM's
 * response code by name and meaning when the TPM refused). */
#ifndef NBDE_TPM2_TPM_H
#define NBDE_TPM2_TPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../crypto/secret.h"
#include "marshal.h"
#include "transport.h"

#define TPM_RS_PW 0x40000009		/* the password "session" (Part 2 §6.6.3) */
#define TPM_MAX_DIGEST 64		/* SHA-512 */
#define TPM_MAX_SEALED 128		/* MAX_SYM_DATA: what a KEYEDHASH object can seal */

/* Response codes the pin tells apart (Part 2 §6.6), as tpm_rc_base() gives them */
#define TPM_RC_HANDLE 0x08B
#define TPM_RC_POLICY_FAIL 0x09D
#define TPM_RC_INTEGRITY 0x09F
#define TPM_RC_LOCKOUT 0x921

/* Hash algorithms by the names clevis writes (sha1, sha256, sha384, sha512):
 * 0 when unknown. */
uint16_t tpm_hash_alg(const char *name);
const char *tpm_hash_name(uint16_t alg);
size_t tpm_hash_len(uint16_t alg);

/* The response code without its parameter/handle/session number. */
uint32_t tpm_rc_base(uint32_t rc);
/* "TPM_RC_NAME: what it means" (a static string), or NULL when unknown. */
const char *tpm_rc_text(uint32_t rc);

/* The policy digest of one PolicyPCR from an empty policy (Part 3 §23.7),
 * computed in software as tpm2_createpolicy's trial session would:
 * H(0…0 ‖ TPM_CC_PolicyPCR ‖ TPML_PCR_SELECTION ‖ H(PCR values)), H = hash.
 * values: the selected PCRs' values concatenated in index order. Returns the
 * digest length (written to out, TPM_MAX_DIGEST bytes room), 0 on error. */
size_t tpm_policy_pcr_digest(uint16_t hash, const struct tpm_pcr_sel *sel, const void *values, size_t len,
			     unsigned char *out);

/* The PCR banks with at least one PCR allocated, in the TPM's order. */
int tpm_pcr_banks(struct tpm *t, struct tpm_pcr_sel *banks, size_t max, size_t *n);
/* The selected PCRs' values concatenated in index order into out (cap
 * bytes), their total length in *len. */
int tpm_pcr_read(struct tpm *t, const struct tpm_pcr_sel *sel, unsigned char *out, size_t cap, size_t *len);
/* The primary key from clevis's template: key TPM_ALG_ECC (P-256) or
 * TPM_ALG_RSA (2048), name algorithm hash. */
int tpm_create_primary(struct tpm *t, uint16_t hash, uint16_t key, uint32_t *handle);
/* A sealed KEYEDHASH object holding secret under parent; policy (policy_len
 * 0: none, then the object's password, empty, opens it). pub and priv get
 * the marshalled TPM2B_PUBLIC / TPM2B_PRIVATE with their size fields. */
int tpm_create_sealed(struct tpm *t, uint32_t parent, uint16_t hash, const unsigned char *policy,
		      size_t policy_len, const void *secret, size_t secret_len, struct buf *pub, struct buf *priv);
/* Loads such an object (pub, priv as tpm_create_sealed gave them). */
int tpm_load(struct tpm *t, uint32_t parent, const void *pub, size_t pub_len, const void *priv, size_t priv_len,
	     uint32_t *handle);
/* An unbound, unsalted policy session with hash as its digest algorithm. */
int tpm_start_policy_session(struct tpm *t, uint16_t hash, uint32_t *handle);
int tpm_policy_pcr(struct tpm *t, uint32_t session, const struct tpm_pcr_sel *sel);
/* The sealed data of a loaded object, authorised by session (a policy
 * session, ended by the command) or TPM_RS_PW; out is wiped by buf_free. */
int tpm_unseal(struct tpm *t, uint32_t item, uint32_t session, struct buf *out);
/* Flushes a transient object or session; errors are ignored (the handle may
 * already be gone). */
void tpm_flush(struct tpm *t, uint32_t handle);

/* --- the response parsers, on t->resp (for the unit tests and fuzzing) --- */
int tpm_parse_pcr_banks(struct tpm *t, struct tpm_pcr_sel *banks, size_t max, size_t *n);
/* One PCR_Read answer for a request of sel: the returned PCRs' values go to
 * values[pcr] (each hash_len bytes), their bits to *got. */
int tpm_parse_pcr_read(struct tpm *t, const struct tpm_pcr_sel *sel, unsigned char values[][TPM_MAX_DIGEST],
		       uint32_t *got, uint32_t *counter);
int tpm_parse_handle(struct tpm *t, uint16_t sent_tag, const char *what, uint32_t *handle);
int tpm_parse_create(struct tpm *t, struct buf *pub, struct buf *priv);
int tpm_parse_unseal(struct tpm *t, struct buf *out);
int tpm_parse_empty(struct tpm *t, uint16_t sent_tag, const char *what);

#endif
