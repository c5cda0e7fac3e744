/* tpm2pin.c - the tpm2pin pin: the tpm2 pin's sealed object plus a PIN the
 * TPM checks, under its dictionary-attack lockout.
 *
 * The header is {"clevis":{"pin":"tpm2pin","tpm2pin":{the tpm2 fields,
 * "pin_salt", "salt_key"}}}: clevis does not know the pin, so it refuses the JWE before
 * it touches the TPM (a "tpm2" header would make it try an unseal without
 * the PIN and spend a dictionary-attack try).
 *
 * The object: the tpm2 pin's KEYEDHASH, but without noDA (a wrong PIN counts
 * towards the TPM's lockout) and without userWithAuth (only its policy opens
 * it), its userAuth derived from the PIN:
 *   authValue = KDFa(nameAlg, PIN, "nbde tpm2pin", pin_salt, "", digest bits)
 * pin_salt 32 random bytes. It goes out whole: the TPM drops trailing zero
 * bytes itself (Create, Load), and an HMAC key sessionKey ‖ authValue is
 * padded with zeros to the hash's block anyway (both fit in one block for
 * every TPM hash), so trimming here would only branch on the secret. Its policy is PolicyPCR (when
 * PCRs are named) then PolicyAuthValue, computed in software.
 *
 * Nothing derived from the PIN crosses the bus in clear: Create's sensitive
 * part (the authValue and the content key) is encrypted by an HMAC session
 * salted to an ECC primary key (ECDH); Unseal runs in a policy session salted
 * the same way, its HMAC keyed with sessionKey ‖ authValue (so a recording
 * of the bus gives nothing to test PIN guesses against) and its answer, the
 * content key, encrypted. The salt key's fingerprint is recorded at
 * binding ("salt_key") and checked before anything is salted to it at
 * decrypt: an attacker on the bus would have had to be there at binding.
 *
 * The PIN: read from the file NBDE_TPM_PIN_FILE names (one try), else asked
 * of a person the way the boot asks for passphrases (cmd/runtime/prompt.h:
 * the terminal, the systemd password agents, the console) - twice to
 * encrypt, up to PIN_PERSON_TRIES times to decrypt, each prompt naming the
 * volume, a retry the TPM's lockout state, every wait bounded by the
 * deadline. Never from argv or the config, never stored. */
#include "tpm2_shared.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../crypto/b64url.h"
#include "../../crypto/hash.h"
#include "../../crypto/json.h"
#include "../../crypto/jwk.h"
#include "../../crypto/kdf.h"
#include "../../crypto/rand.h"
#include "../runtime/prompt.h"
#include "../runtime/runtime.h"

#define PIN "tpm2pin"
#define PIN_FILE_ENV "NBDE_TPM_PIN_FILE"
#define PIN_KDF_LABEL "nbde tpm2pin"
#define PIN_SALT_LEN 32		/* 256 random bits: no two bindings share a derivation */
/* The header field holding SHA-256 of the salt key's point at binding: at
 * decrypt the PIN is only sent to a TPM whose salt key is the same one. */
#define PIN_SALT_KEY_FIELD "salt_key"
#define PIN_SALT_KEY_PRINT_LEN 32
#define PIN_MAX_LEN 1024	/* a PIN is typed; a file holding more is not one */
/* Tries a person gets: a few typos, and never enough to walk a TPM into
 * lockout (a retry needs at least two tries left before lockout). */
#define PIN_PERSON_TRIES 3
/* The sealed object: the tpm2 pin's without noDA and userWithAuth */
#define PIN_SEALED_ATTRS (TPM_ATTR_FIXED_TPM | TPM_ATTR_FIXED_PARENT | TPM_ATTR_ADMIN_WITH_POLICY)

/* --- the PIN --- */

/* The file's contents without one trailing newline; -1 after a message. */
static int pin_from_file(const char *path, struct buf *pin, const struct pin_opts *o)
{
	if (read_file(path, PIN_MAX_LEN + 1, pin)) {
		pin_msg(o, PIN " pin: cannot read the PIN file %s (" PIN_FILE_ENV ")", path);
		return -1;
	}
	if (pin->len && pin->p[pin->len - 1] == '\n')
		pin->p[--pin->len] = 0;
	if (pin->len && pin->p[pin->len - 1] == '\r')
		pin->p[--pin->len] = 0;
	return 0;
}

static bool prompt_abandoned(const void *ctx)
{
	return pin_abandoned(ctx);
}

/* Asks a person (cmd/runtime/prompt.h: the terminal, the systemd password
 * agents, or the console) until the deadline of o (none when 0). */
static int pin_from_person(const char *message, long long deadline_ms, struct buf *pin, const struct pin_opts *o)
{
	char id[sizeof("nbde-tpm2pin:") + PIN_VOLUME_MAX];
	const char *why;
	struct secret_prompt p = { .message = message, .id = id, .deadline_ms = deadline_ms,
				   .abandoned = prompt_abandoned, .ctx = o };

	snprintf(id, sizeof(id), "nbde-" PIN ":%s", o->volume ? o->volume : "");
	switch (prompt_secret(&p, pin, &why)) {
	case PROMPT_OK:
		return 0;
	case PROMPT_NO_WAY:
		pin_msg(o, PIN " pin: no PIN: %s, and " PIN_FILE_ENV " is not set", why ? why : "nowhere to ask");
		return -1;
	default:
		pin_msg(o, PIN " pin: no PIN was entered%s%s", why ? ": " : "", why ? why : "");
		return -1;
	}
}

static int pin_check(const struct buf *pin, const struct pin_opts *o)
{
	if (!pin->len || pin->len > PIN_MAX_LEN) {
		pin_msg(o, PIN " pin: the PIN is %s", pin->len ? "too long" : "empty");
		return -1;
	}
	return 0;
}

/* The PIN for a new binding: the file's, or typed twice alike. */
static int pin_for_encrypt(struct buf *pin, const struct pin_opts *o)
{
	const char *path = getenv(PIN_FILE_ENV);
	AUTO_BUF again = { 0 };

	if (path && *path)
		return pin_from_file(path, pin, o) || pin_check(pin, o) ? -1 : 0;
	if (pin_from_person("Enter a TPM PIN for the new binding:", 0, pin, o) || pin_check(pin, o) ||
	    pin_from_person("Enter the TPM PIN again:", 0, &again, o))
		return -1;
	if (again.len != pin->len || memcmp(again.p, pin->p, pin->len)) {
		pin_msg(o, PIN " pin: the two PINs differ");
		return -1;
	}
	return 0;
}

/* authValue of a PIN (see the top of the file); *len its length. */
static int pin_auth_value(uint16_t hash, const struct buf *pin, const unsigned char *salt, size_t salt_len,
			  unsigned char *auth, size_t *len)
{
	const char *h = tpm_hash_jose(hash);
	size_t n = tpm_hash_len(hash);

	if (!h || !n || kdfa(h, pin->p, pin->len, PIN_KDF_LABEL, salt, salt_len, NULL, 0, auth, n * 8))
		return -1;
	*len = n;
	return 0;
}

/* --- encryption --- */

/* The salt key's fingerprint: SHA-256 of its point, x ‖ y. */
static int salt_key_print(const struct tpm_ecc_point *pt, unsigned char print[PIN_SALT_KEY_PRINT_LEN])
{
	unsigned char xy[2 * TPM_ECC_BYTES], d[HASH_MAX_LEN];

	memcpy(xy, pt->x, TPM_ECC_BYTES);
	memcpy(xy + TPM_ECC_BYTES, pt->y, TPM_ECC_BYTES);
	if (hash_compute("S256", xy, sizeof(xy), d) != PIN_SALT_KEY_PRINT_LEN)
		return -1;
	memcpy(print, d, PIN_SALT_KEY_PRINT_LEN);
	return 0;
}

/* A session of type salted to an ECC primary: primary's own key when it is
 * one, else a second primary made for the salt and flushed again. The salt
 * key's fingerprint goes to print; with expect (the binding's), a key that
 * differs is refused before anything is salted to it. */
static int salted_session(struct tpm2_conv *cv, uint16_t hash, const struct tpm_primary *primary, uint8_t type,
			  struct tpm_session *ss, unsigned char print[PIN_SALT_KEY_PRINT_LEN], const unsigned char *expect)
{
	struct tpm_primary ecc;
	const struct tpm_primary *salt = primary;
	int rc = -1;

	if (!primary->has_point) {
		if (tpm_create_primary_info(&cv->t, hash, TPM_ALG_ECC, &ecc))
			return -1;
		salt = &ecc;
	}
	if (salt_key_print(&salt->pt, print))
		snprintf(cv->t.err, sizeof(cv->t.err), "cannot fingerprint the TPM's salt key");
	else if (expect && memcmp(print, expect, PIN_SALT_KEY_PRINT_LEN))
		snprintf(cv->t.err, sizeof(cv->t.err),
			 "the TPM's primary key is not the one of the binding (another TPM, a cleared one, or "
			 "someone on the bus between them): the PIN is not sent");
	else
		rc = tpm_start_salted_session(&cv->t, hash, type, salt->handle, hash, &salt->pt, ss);
	if (salt == &ecc)
		tpm_flush(&cv->t, ecc.handle);
	return rc;
}

/* The object of spec under the primary of c's template, Create's sensitive
 * part (the authValue and the content key) encrypted by a salted session. */
static int create_encrypted(struct tpm2_conv *cv, const struct tpm2_cfg *c, const struct tpm_seal_spec *spec,
			    struct buf *pub, struct buf *priv, unsigned char print[PIN_SALT_KEY_PRINT_LEN])
{
	struct tpm_primary primary;
	struct tpm_session ss = { 0 };

	if (tpm_create_primary_info(&cv->t, c->hash, c->key, &primary))
		return -1;
	cv->primary = primary.handle;
	int rc = salted_session(cv, c->hash, &primary, TPM_SE_HMAC, &ss, print, NULL) ||
		 tpm_create_object_encrypted(&cv->t, cv->primary, primary.name, primary.name_len, spec, &ss, pub, priv);
	if (rc && ss.handle)
		tpm_flush(&cv->t, ss.handle);	/* a failed command leaves the session open */
	tpm_session_wipe(&ss);
	return rc ? -1 : 0;
}

static int seal(struct tpm2_cfg *c, const char *text, const unsigned char *auth, size_t auth_len, struct buf *pub,
		struct buf *priv, unsigned char print[PIN_SALT_KEY_PRINT_LEN], const struct pin_opts *o)
{
	unsigned char policy[TPM_MAX_DIGEST];
	size_t plen;
	struct tpm2_conv cv;

	if (tpm2_conv_open(&cv, PIN, o))
		return -1;
	if (tpm2_pcr_policy(&cv, c, policy, &plen))
		return tpm2_conv_fail(&cv, o);
	if (!plen) {	/* no PCRs: PolicyAuthValue alone, from the empty policy */
		plen = tpm_hash_len(c->hash);
		memset(policy, 0, plen);
	}
	struct tpm_seal_spec spec = {
		.hash = c->hash, .attrs = PIN_SEALED_ATTRS, .policy = policy,
		.policy_len = tpm_policy_auth_value_digest(c->hash, policy, plen),
		.auth = auth, .auth_len = auth_len, .secret = text, .secret_len = strlen(text),
	};
	if (!spec.policy_len) {
		snprintf(cv.t.err, sizeof(cv.t.err), "cannot compute the policy");
		return tpm2_conv_fail(&cv, o);
	}
	if (create_encrypted(&cv, c, &spec, pub, priv, print))
		return tpm2_conv_fail(&cv, o);
	tpm2_conv_close(&cv);
	return 0;
}

/* What tpm2pin's seal step adds to the header. */
struct pin_seal_extra {
	unsigned char salt[PIN_SALT_LEN];		/* pin_salt */
	unsigned char print[PIN_SALT_KEY_PRINT_LEN];	/* salt_key */
};

/* The object sealing text, its parts in pub/priv, the salt and the salt
 * key's fingerprint in the pin_seal_extra ctx. */
static int seal_with_pin(struct tpm2_cfg *c, const char *text, struct buf *pub, struct buf *priv, void *ctx,
			 const struct pin_opts *o)
{
	struct pin_seal_extra *x = ctx;
	unsigned char auth[TPM_MAX_DIGEST];
	AUTO_BUF pin = { 0 };
	size_t alen;
	int rc = -1;

	if (pin_for_encrypt(&pin, o))
		return -1;
	if (rand_bytes(x->salt, PIN_SALT_LEN) || pin_auth_value(c->hash, &pin, x->salt, PIN_SALT_LEN, auth, &alen))
		pin_msg(o, PIN " pin: cannot derive the PIN's auth value");
	else
		rc = seal(c, text, auth, alen, pub, priv, x->print, o);
	wipe(auth, sizeof(auth));
	return rc;
}

static bool add_pin_fields(cJSON *fields, void *ctx)
{
	const struct pin_seal_extra *x = ctx;

	return tpm2_set_b64(fields, "pin_salt", &(struct buf){ (unsigned char *)x->salt, PIN_SALT_LEN }) &&
	       tpm2_set_b64(fields, PIN_SALT_KEY_FIELD, &(struct buf){ (unsigned char *)x->print, PIN_SALT_KEY_PRINT_LEN });
}

char *pin_tpm2pin_encrypt(const cJSON *cfg, const void *pt, size_t len, const struct pin_opts *o)
{
	struct pin_seal_extra x;

	return tpm2_encrypt(PIN, cfg, pt, len,
			    &(struct tpm2_sealer){ .seal = seal_with_pin, .add_fields = add_pin_fields, .ctx = &x }, o);
}

/* --- decryption --- */

/* The TPM's lockout state in words, after a wrong PIN or a lockout. */
static void say_lockout(struct tpm2_conv *cv, bool wrong, const struct pin_opts *o)
{
	struct tpm_lockout l;

	if (tpm_lockout_state(&cv->t, &l)) {
		pin_msg(o, PIN " pin: %s", wrong ? "wrong PIN" : "the TPM is in dictionary-attack lockout");
		return;
	}
	if (l.max_tries && l.counter >= l.max_tries)
		pin_msg(o, PIN " pin: %sthe TPM is in dictionary-attack lockout (%u failed tries of %u allowed); "
			"it forgets one every %u s, or clear it with the lockout authorization",
			wrong ? "wrong PIN; " : "", (unsigned)l.counter, (unsigned)l.max_tries, (unsigned)l.interval_s);
	else
		pin_msg(o, PIN " pin: wrong PIN (the TPM counts %u failed tries; it locks out after %u)",
			(unsigned)l.counter, (unsigned)l.max_tries);
}

/* How many more wrong PINs the TPM takes before lockout (UINT32_MAX when
 * it does not say). */
static uint32_t tries_left(struct tpm2_conv *cv)
{
	struct tpm_lockout l;

	if (tpm_lockout_state(&cv->t, &l) || !l.max_tries)
		return UINT32_MAX;
	return l.counter >= l.max_tries ? 0 : l.max_tries - l.counter;
}

enum try_result { TRY_OK, TRY_WRONG_PIN, TRY_FAILED };

/* After a failed command: the lockout state when the TPM refused the PIN or
 * is locked out, its error otherwise. */
static enum try_result try_failed(struct tpm2_conv *cv, uint32_t session, uint32_t *left, const struct pin_opts *o)
{
	uint32_t rc = tpm_rc_base(cv->t.rc);

	if (session)
		tpm_flush(&cv->t, session);	/* a failed command leaves the session open */
	if (rc != TPM_RC_AUTH_FAIL && rc != TPM_RC_LOCKOUT) {
		tpm2_conv_fail(cv, o);
		return TRY_FAILED;
	}
	say_lockout(cv, rc == TPM_RC_AUTH_FAIL, o);
	*left = tries_left(cv);
	tpm2_conv_close(cv);
	return rc == TPM_RC_AUTH_FAIL ? TRY_WRONG_PIN : TRY_FAILED;
}

/* Loads the sealed object and starts a policy session salted to the key
 * the binding was made with (expect: its fingerprint; NULL: not recorded). */
static int load_and_salt(struct tpm2_conv *cv, const struct tpm2_sealed *s, const unsigned char *expect,
			 struct tpm_session *ss)
{
	unsigned char print[PIN_SALT_KEY_PRINT_LEN];
	struct tpm_primary primary;

	if (tpm_create_primary_info(&cv->t, s->hash, s->key, &primary))
		return -1;
	cv->primary = primary.handle;
	if (tpm_load(&cv->t, cv->primary, s->pub.p, s->pub.len, s->priv.p, s->priv.len, &cv->item))
		return -1;
	if (!primary.has_point) {	/* the TPM has room for few objects */
		tpm_flush(&cv->t, cv->primary);
		cv->primary = 0;
	}
	int rc = salted_session(cv, s->hash, &primary, TPM_SE_POLICY, ss, print, expect);
	if (cv->primary)
		tpm_flush(&cv->t, cv->primary);
	cv->primary = 0;
	return rc;
}

/* What a tpm2pin JWE's header holds. */
struct pin_binding {
	struct tpm2_sealed s;
	struct buf salt;	/* pin_salt */
	struct buf salt_key;	/* salt_key, the salt key's fingerprint (empty: not recorded) */
};

/* One unseal with the authValue auth: load, a salted policy session,
 * PolicyPCR, PolicyAuthValue, Unseal with the session's HMAC. *left: wrong
 * PINs left before lockout. */
static enum try_result try_unseal(const struct pin_binding *b, const unsigned char *auth, size_t auth_len,
				  struct buf *out, uint32_t *left, const struct pin_opts *o)
{
	const struct tpm2_sealed *s = &b->s;
	unsigned char name[2 + TPM_MAX_DIGEST];
	size_t name_len = tpm_object_name(s->pub.p, s->pub.len, name);
	struct tpm_session ss = { 0 };
	struct tpm2_conv cv;
	enum try_result r = TRY_OK;

	if (!name_len) {
		pin_msg(o, PIN " pin: JWE has an invalid jwk_pub (not a TPM2B_PUBLIC)");
		return TRY_FAILED;
	}
	if (tpm2_conv_open(&cv, PIN, o))
		return TRY_FAILED;
	/* in lockout the TPM refuses even the primary's empty password (it is
	 * not noDA, as clevis makes it) */
	if (load_and_salt(&cv, s, b->salt_key.len ? b->salt_key.p : NULL, &ss) || (s->sel.mask && tpm_policy_pcr(&cv.t, ss.handle, &s->sel)) ||
	    tpm_policy_auth_value(&cv.t, ss.handle) ||
	    tpm_unseal_auth(&cv.t, cv.item, name, name_len, &ss, auth, auth_len, out))
		r = try_failed(&cv, ss.handle, left, o);
	else
		tpm2_conv_close(&cv);
	tpm_session_wipe(&ss);
	return r;
}

/* The prompt for try i (of PIN_PERSON_TRIES); left: wrong PINs the TPM takes
 * before its lockout, as it said after the last try. */
static void pin_prompt_text(char *out, size_t cap, int i, uint32_t left, const struct pin_opts *o)
{
	char disk[PIN_VOLUME_MAX + 16] = "", lock[64] = "";

	if (o->volume)
		snprintf(disk, sizeof(disk), " for disk %s", o->volume);
	if (i && left != UINT32_MAX)
		snprintf(lock, sizeof(lock), " (the TPM locks after %lu more wrong)", (unsigned long)left);
	if (i)
		snprintf(out, cap, "Wrong PIN%s. Please enter the TPM PIN%s (try %d of %d):", lock, disk, i + 1,
			 PIN_PERSON_TRIES);
	else
		snprintf(out, cap, "Please enter the TPM PIN%s:", disk);
}

/* Gets a PIN (file, or a person's try number i), derives its authValue,
 * unseals. */
static enum try_result unseal_once(const struct pin_binding *b, const char *path, int i, struct buf *out,
				   uint32_t *left, const struct pin_opts *o)
{
	unsigned char auth[TPM_MAX_DIGEST];
	char prompt[PIN_VOLUME_MAX + 160];
	AUTO_BUF pin = { 0 };
	size_t alen;
	enum try_result r = TRY_FAILED;

	pin_prompt_text(prompt, sizeof(prompt), i, *left, o);
	if (path ? pin_from_file(path, &pin, o) : pin_from_person(prompt, o->deadline_ms, &pin, o))
		return TRY_FAILED;
	if (pin_check(&pin, o))
		return path ? TRY_FAILED : TRY_WRONG_PIN;
	if (pin_auth_value(b->s.hash, &pin, b->salt.p, b->salt.len, auth, &alen))
		pin_msg(o, PIN " pin: cannot derive the PIN's auth value");
	else
		r = try_unseal(b, auth, alen, out, left, o);
	wipe(auth, sizeof(auth));
	return r;
}

static int unseal(const struct pin_binding *b, struct buf *out, const struct pin_opts *o)
{
	const char *path = getenv(PIN_FILE_ENV);
	uint32_t left = UINT32_MAX;

	if (path && !*path)
		path = NULL;
	if (!path && o->no_person) {
		pin_msg(o, PIN " pin: not asking for the PIN again in this run");
		return -1;
	}
	int tries = path ? 1 : PIN_PERSON_TRIES;

	for (int i = 0; i < tries; i++) {
		if (pin_abandoned(o))
			return -1;
		enum try_result r = unseal_once(b, path, i, out, &left, o);
		if (r != TRY_WRONG_PIN)
			return r == TRY_OK ? 0 : -1;
		if (i + 1 < tries && left < 2) {	/* one more wrong PIN would lock the TPM: leave it to the passphrase */
			pin_msg(o, PIN " pin: not asking again: one more wrong PIN would lock the TPM out");
			return -1;
		}
	}
	return -1;
}

/* The header's fields into b; -1 after a message. */
static int read_binding(const struct jwe *j, struct pin_binding *b, const struct pin_opts *o)
{
	const cJSON *data;
	const char *v;

	if (!(data = tpm2_read_header(PIN, j, &b->s, o)))
		return -1;
	if (!(v = json_get_str(data, "pin_salt")) || b64url_decode_str(v, &b->salt) || b->salt.len != PIN_SALT_LEN) {
		pin_msg(o, PIN " pin: JWE has a missing or invalid pin_salt");
		return -1;
	}
	if ((v = json_get_str(data, PIN_SALT_KEY_FIELD)) &&
	    (b64url_decode_str(v, &b->salt_key) || b->salt_key.len != PIN_SALT_KEY_PRINT_LEN)) {
		pin_msg(o, PIN " pin: JWE has an invalid " PIN_SALT_KEY_FIELD);
		return -1;
	}
	return 0;
}

int pin_tpm2pin_decrypt(const struct jwe *j, struct buf *pt, const struct pin_opts *o)
{
	struct pin_binding b = { 0 };
	AUTO_BUF text = { 0 };
	int rc = -1;

	if (!read_binding(j, &b, o) && !unseal(&b, &text, o))
		rc = tpm2_open_jwe(PIN, j, &text, pt, o);
	tpm2_sealed_free(&b.s);
	buf_free(&b.salt);
	buf_free(&b.salt_key);
	return rc;
}
