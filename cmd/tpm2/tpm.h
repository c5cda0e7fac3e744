/* tpm.h - the TPM 2.0 commands the tpm2 pins need (TPM 2.0 Part 3), each a
 * marshalled command, one exchange over transport.h, and a response parser
 * that trusts nothing the TPM sent.
 *
 * Objects are made as clevis's pin makes them with tpm2-tools (and booster
 * and clevis-pin-tpm2 with their libraries), so each opens the others'
 * tokens: the primary key is recreated from a fixed template in the owner
 * hierarchy with an empty password; the sealed object is a KEYEDHASH whose
 * policy, when PCRs are named, is one PolicyPCR. For the tpm2 pin no command
 * needs an HMAC: the owner's password is empty and the policy session is
 * unbound and unsalted (as clevis's). The tpm2pin pin's object has an auth
 * value: it uses the salted HMAC and policy sessions and the parameter
 * encryption below.
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
#define TPM_RC_AUTH_FAIL 0x08E
#define TPM_RC_BAD_AUTH 0x0A2
#define TPM_RC_POLICY_FAIL 0x09D
#define TPM_RC_INTEGRITY 0x09F
#define TPM_RC_LOCKOUT 0x921

/* Hash algorithms by the names clevis writes (sha1, sha256, sha384, sha512):
 * 0 when unknown. */
uint16_t tpm_hash_alg(const char *name);
const char *tpm_hash_name(uint16_t alg);
/* Its jose name (S1, S256, ...) for crypto/hash.h, NULL when unknown. */
const char *tpm_hash_jose(uint16_t alg);
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

/* --- objects with an auth value and HMAC sessions (the tpm2pin pin) --- */

/* Object attributes (Part 2 §8.3) */
#define TPM_ATTR_FIXED_TPM 0x00000002
#define TPM_ATTR_FIXED_PARENT 0x00000010
#define TPM_ATTR_USER_WITH_AUTH 0x00000040
#define TPM_ATTR_ADMIN_WITH_POLICY 0x00000080
#define TPM_ATTR_NO_DA 0x00000400

/* What tpm_create_object seals: a KEYEDHASH object of name algorithm hash,
 * attributes attrs, authPolicy policy, userAuth auth (may be empty). */
struct tpm_seal_spec {
	uint16_t hash;
	uint32_t attrs;
	const unsigned char *policy;
	size_t policy_len;
	const void *auth, *secret;
	size_t auth_len, secret_len;
};
int tpm_create_object(struct tpm *t, uint32_t parent, const struct tpm_seal_spec *s, struct buf *pub,
		      struct buf *priv);

/* A policy session with the TPM's last nonce: each command authorised by
 * it carries an HMAC (Part 1 §19.6) over the nonces keyed with sessionKey ‖
 * authValue. Unbound; unsalted (sessionKey empty) or salted. */
struct tpm_session {
	uint32_t handle;
	uint16_t hash;
	unsigned char nonce_tpm[TPM_MAX_DIGEST];
	size_t nonce_len;
	unsigned char session_key[TPM_MAX_DIGEST];	/* a secret: tpm_session_wipe */
	size_t key_len;
};
int tpm_start_session(struct tpm *t, uint16_t hash, struct tpm_session *s);
void tpm_session_wipe(struct tpm_session *s);

/* The public point of an ECC P-256 key (the primary's). */
#define TPM_ECC_BYTES 32
struct tpm_ecc_point {
	unsigned char x[TPM_ECC_BYTES], y[TPM_ECC_BYTES];
};
/* A primary key as CreatePrimary made it: its handle, its name (for the
 * cpHash of commands that name it) and, for an ECC key, its public point. */
struct tpm_primary {
	uint32_t handle;
	unsigned char name[2 + TPM_MAX_DIGEST];
	size_t name_len;
	bool has_point;
	struct tpm_ecc_point pt;
};
/* tpm_create_primary, the key's name and point kept in *p. */
int tpm_create_primary_info(struct tpm *t, uint16_t hash, uint16_t key, struct tpm_primary *p);
int tpm_parse_primary(struct tpm *t, uint16_t key, struct tpm_primary *p);

#define TPM_SE_HMAC 0x00
#define TPM_SE_POLICY 0x01
/* A session of type (TPM_SE_POLICY or TPM_SE_HMAC) salted to the loaded ECC
 * key tpm_key (name algorithm key_hash, public point pt) by one-pass ECDH
 * (Part 1 §11.4.10.3, §C.6.1), AES-128-CFB for parameter encryption:
 * salt = KDFe(key_hash, Z, "SECRET", ephemeral x, pt.x), sessionKey =
 * KDFa(hash, salt, "ATH", nonceTPM, nonceCaller). Someone who sees the bus
 * cannot compute the sessionKey, so the session's HMACs do not let them test
 * authValue guesses. */
int tpm_start_salted_session(struct tpm *t, uint16_t hash, uint8_t type, uint32_t tpm_key, uint16_t key_hash,
			     const struct tpm_ecc_point *pt, struct tpm_session *s);
/* tpm_create_object with its first parameter (the TPM2B_SENSITIVE_CREATE:
 * userAuth and the sealed data) encrypted by the salted HMAC session enc
 * (decrypt attribute, Part 1 §21), which the command ends; parent_name: the
 * parent's name, which the session's cpHash covers. */
int tpm_create_object_encrypted(struct tpm *t, uint32_t parent, const unsigned char *parent_name,
				size_t parent_name_len, const struct tpm_seal_spec *s, struct tpm_session *enc,
				struct buf *pub, struct buf *priv);
/* PolicyAuthValue: the object's authValue joins the session's HMAC key. */
int tpm_policy_auth_value(struct tpm *t, uint32_t session);
/* Unseal of a loaded object (its name: name, name_len) authorised by policy
 * session s, whose policy included PolicyAuthValue, with the object's
 * authValue auth: the command's HMAC is computed, the response's checked. */
int tpm_unseal_auth(struct tpm *t, uint32_t item, const unsigned char *name, size_t name_len,
		    struct tpm_session *s, const void *auth, size_t auth_len, struct buf *out);

/* The digest after PolicyAuthValue is run on a session whose digest is
 * digest (len bytes, updated in place): H(digest ‖ TPM_CC_PolicyAuthValue).
 * len, or 0 on error. */
size_t tpm_policy_auth_value_digest(uint16_t hash, unsigned char *digest, size_t len);
/* An object's name (Part 1 §16): nameAlg ‖ H_nameAlg(TPMT_PUBLIC) from its
 * TPM2B_PUBLIC pub; its length (out has 2 + TPM_MAX_DIGEST bytes), 0 when
 * pub is not one. */
size_t tpm_object_name(const void *pub, size_t len, unsigned char *out);

/* The HMAC of a command authorised by a session (Part 1 §19.6.5):
 * HMAC_hash(key, cpHash ‖ nonceCaller ‖ nonceTPM ‖ attrs), cpHash =
 * H(cc ‖ the handles' names ‖ params); key = sessionKey ‖ authValue.
 * The response's: HMAC_hash(key, rpHash ‖ nonceTPM ‖ nonceCaller ‖ attrs),
 * rpHash = H(TPM_RC_SUCCESS ‖ cc ‖ params). Digest length, or 0. */
struct tpm_hmac_in {
	uint16_t hash;
	const void *key;
	size_t key_len;
	uint32_t cc;
	const unsigned char *names, *params, *nonce_caller, *nonce_tpm;
	size_t names_len, params_len, nonce_caller_len, nonce_tpm_len;
	uint8_t attrs;
};
size_t tpm_cmd_hmac(const struct tpm_hmac_in *in, unsigned char *out);
size_t tpm_resp_hmac(const struct tpm_hmac_in *in, unsigned char *out);

/* The dictionary-attack state (GetCapability TPM_PT_LOCKOUT_*). */
struct tpm_lockout {
	uint32_t counter, max_tries, interval_s, recovery_s;
};
int tpm_lockout_state(struct tpm *t, struct tpm_lockout *l);
int tpm_parse_lockout(struct tpm *t, struct tpm_lockout *l);
/* StartAuthSession's answer: the handle and nonceTPM into s. */
int tpm_parse_session(struct tpm *t, uint16_t hash, struct tpm_session *s);
/* Unseal's answer in an HMAC session: the response HMAC checked against in
 * (the command's key, cc and nonceCaller), s's nonce updated, the data to out. */
int tpm_parse_unseal_auth(struct tpm *t, struct tpm_hmac_in *in, struct tpm_session *s, struct buf *out);

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
