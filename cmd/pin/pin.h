/* pin.h - the pin API: a secret encrypted under a pin policy (tang, sss,
 * tpm2, null) to a clevis-compatible compact JWE, and back.
 *
 * Used by the encrypt/decrypt applets and by the LUKS applets (bind, unlock,
 * list, regen, report, pass). Both directions print one line naming what went
 * wrong (clevis's wording where clevis has one) through msg() and fail; they
 * never print secrets. pin_decrypt() is thread-safe, so a caller may decrypt
 * several JWEs at once (unlock tries every bound slot in parallel). */
#ifndef NBDE_PINS_H
#define NBDE_PINS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>
#include "../../crypto/jwe.h"
#include "../../crypto/secret.h"
#include "../runtime/tunables.h"


/* Lets a caller abandon a decryption it no longer needs (unlock once another
 * slot opened): its network waits end within ~100 ms and it prints nothing
 * more. Must outlive the pin_decrypt() call it is passed to; set stop with
 * atomic_store from any thread. sss gives its children their own. */
struct pin_cancel {
	atomic_bool stop;
};
bool pin_cancelled(const struct pin_cancel *c);

struct pin_opts {
	bool assume_yes;	/* -y: trust a fetched advertisement without the /dev/tty prompt */
	bool quiet;		/* no messages at all (the caller reports failure itself) */
	/* regen only: a tang config's PIN_TANG_STORED_ADV (the advertisement the
	 * old binding stored) may vouch for the new one, see pin_regen_config */
	bool regen;
	long long deadline_ms;	/* absolute, on the clock_mono_ms() clock; every network wait ends by then */
				/* 0: now + PIN_DEFAULT_TIMEOUT_MS, fixed when the call starts */
	const struct pin_cancel *cancel;	/* NULL: never abandoned */
	/* pins that ask a person (tpm2pin's PIN): the volume the prompt names
	 * ("/dev/vda", "root (/dev/vda)"; NULL: none), and no_person to fail
	 * them at once (a later round of retries must not ask again) */
	const char *volume;
	bool no_person;
	int depth;		/* JWEs above this one in an sss tree; callers leave it 0 */
};

/* Threads that may outlive their caller keep their own copy of o->volume:
 * points o->volume at copy (PIN_VOLUME_MAX bytes, cut if longer). */
#define PIN_VOLUME_MAX 256
void pin_opts_keep_volume(struct pin_opts *o, char *copy);

/* Bounds on one JWE tree, checked before decrypt starts anything: each sss
 * child runs at once in its own thread and each tang pin opens a connection,
 * so a crafted JWE could open thousands (one opened ~1,800). clevis configs
 * have a handful of pins. */
#define PIN_SSS_MAX_CHILDREN 64
#define PIN_MAX_DEPTH 32	/* JWEs from the top one down to a leaf */
/* Pins in the whole tree: 64 children of 64 children would be 4,096, and
 * that fits in the 4 MiB a JWE may have. */
#define PIN_MAX_PINS 256

/* 0 when the JWE tree under j keeps those bounds; else -1 with the reason in
 * err. Children that do not parse count as pins but are not descended
 * (decrypting them reports why). In pin_shape.c, which unit_pins links. */
int pin_check_shape(const struct jwe *j, char *err, size_t errlen);

/* Encrypts pt (binary-safe) under pin with its JSON object config cfg, as
 * `clevis encrypt PIN CFG [-y]` does. Returns the compact JWE (malloc'd, no
 * trailing newline), or NULL after printing one line. Pins: "tang", "sss",
 * "tpm2", "tpm2pin", "null". cfg NULL means the config text
 * was not JSON: the pin then says so in clevis's words for that pin. */
char *pin_encrypt(const char *pin, const cJSON *cfg, const void *pt, size_t len,
		  const struct pin_opts *o);

/* Decrypts a compact JWE (trailing whitespace allowed) made by any pin, as
 * `clevis decrypt` does. Returns 0 with the plaintext in pt (wipe it with
 * buf_free), or -1 after printing one line; no plaintext is released unless
 * the GCM tag verified. */
int pin_decrypt(const char *jwe, size_t len, struct buf *pt, const struct pin_opts *o);

/* The pin that made a JWE: clevis.pin of its protected header, malloc'd;
 * NULL (after a message unless quiet) when the header is not a clevis one. */
char *pin_name(const char *jwe, size_t len, bool quiet);

/* The configuration `clevis luks list` shows for a JWE: tang {"url":…};
 * sss {"t":T,"pins":{"tang":[…],"sss":…}} rebuilt recursively (every child, null
 * ones too); tpm2 {"hash","key"[,"pcr_bank","pcr_ids"]}; null {}; other
 * pins {}. NULL when the JWE is not a clevis one. */
cJSON *pin_list_config(const char *jwe, size_t len);

/* pin_list_config plus, in each tang config, the advertisement that tang pin
 * stored (its clevis.tang.adv) as PIN_TANG_STORED_ADV: with o->regen set,
 * pin_encrypt then trusts a changed advertisement without asking only when a
 * signing key of the stored one signed it (GET url/adv/THP, which tang serves
 * signed by that key as long as it has it, rotated or not). Otherwise bind's
 * rules: the /dev/tty prompt, or a refusal without a terminal unless -y. */
cJSON *pin_regen_config(const char *jwe, size_t len);
#define PIN_TANG_STORED_ADV "nbde-stored-adv"

/* Adds the names of every pin a JWE uses, nested ones included, to the JSON
 * array names, each once (`clevis luks list -p`). 0, or -1 when not clevis. */
int pin_used_names(const char *jwe, size_t len, cJSON *names);

/* True when a JWE has a tpm2pin pin anywhere in it: decrypting it may ask a
 * person for a PIN, and each wrong one spends a TPM dictionary-attack try.
 * Callers that hold other ways to decrypt (sss children, unlock's other
 * slots) try those first, for up to PIN_ASK_PERSON_DELAY_MS. */
bool pin_asks_person(const char *jwe, size_t len);

/* `clevis luks report`: appends to the JSON array rotated the S256
 * thumbprint of every key a JWE's tang pins (nested in sss too) stored from
 * the advertisement at encryption time that their server no longer
 * advertises (GET url/adv, its signatures checked). 0, or -1 after a
 * message when a server or the JWE cannot be checked. */
int pin_rotated_keys(const char *jwe, size_t len, cJSON *rotated, const struct pin_opts *o);

/* --- for the pin implementations (cmd/pin_*.c) only --- */

/* msg() unless o->quiet or the work was abandoned; into the calling
 * thread's pin_log instead while one is set. */
void pin_msg(const struct pin_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool pin_abandoned(const struct pin_opts *o);

/* The lines an sss child printed: shown only when the sss as a whole fails,
 * so a successful sss is silent about the children it did not need. */
struct pin_log {
	char text[2048];	/* lines, each ending in '\n'; truncated when full */
	size_t len;
};
/* Sends the calling thread's pin_msg lines to log (NULL: back to stderr). */
void pin_log_capture(struct pin_log *log);

char *pin_tang_encrypt(const cJSON *cfg, const void *pt, size_t len, const struct pin_opts *o);
int pin_tang_decrypt(const struct jwe *j, struct buf *pt, const struct pin_opts *o);
/* The keys of the tang header data (clevis.tang) missing from url/adv now. */
int pin_tang_rotated(const cJSON *tang, cJSON *rotated, const struct pin_opts *o);
char *pin_sss_encrypt(const cJSON *cfg, const void *pt, size_t len, const struct pin_opts *o);
int pin_sss_decrypt(const struct jwe *j, struct buf *pt, const struct pin_opts *o);
char *pin_tpm2_encrypt(const cJSON *cfg, const void *pt, size_t len, const struct pin_opts *o);
int pin_tpm2_decrypt(const struct jwe *j, struct buf *pt, const struct pin_opts *o);
char *pin_tpm2pin_encrypt(const cJSON *cfg, const void *pt, size_t len, const struct pin_opts *o);
int pin_tpm2pin_decrypt(const struct jwe *j, struct buf *pt, const struct pin_opts *o);
char *pin_null_encrypt(const cJSON *cfg, const void *pt, size_t len, const struct pin_opts *o);
int pin_null_decrypt(const struct jwe *j, struct buf *pt, const struct pin_opts *o);

/* The clevis.<pin> object of a JWE header, NULL when absent. */
const cJSON *pin_header_data(const cJSON *hdr, const char *pin);

#endif
