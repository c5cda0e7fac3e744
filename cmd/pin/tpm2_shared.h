/* tpm2_shared.h - what the tpm2 pin (clevis's) and the tpm2pin pin (TPM +
 * PIN) share: clevis's tpm2 config keys, one conversation with the TPM at a
 * time per process, the PCR policy computed in software, the header's
 * clevis.<pin> fields and the content key's JWK text that is sealed.
 * Messages start with "<pin> pin: ". */
#ifndef NBDE_PIN_TPM2_SHARED_H
#define NBDE_PIN_TPM2_SHARED_H

#include "pin.h"
#include "../tpm2/tpm.h"

/* The config keys hash, key, pcr_bank, pcr_ids, pcr_digest. */
struct tpm2_cfg {
	const char *pin;		/* "tpm2" or "tpm2pin", for messages and the header */
	uint16_t hash, key, bank;	/* bank 0: the first one the TPM has PCRs in */
	uint32_t pcrs;			/* bit i: PCR i */
	char ids[TPM_PCR_COUNT * 3 + 1];	/* pcr_ids as stored, "0,7" */
	struct buf digest;		/* pcr_digest, decoded; empty: read the PCRs */
};
/* Parses cfg into c (free c->digest with buf_free); -1 after a message. */
int tpm2_parse_config(const char *pin, const cJSON *cfg, struct tpm2_cfg *c, const struct pin_opts *o);
bool tpm2_parse_pcr_string(struct tpm2_cfg *c, const char *s);
uint16_t tpm2_key_alg(const char *name);

/* One conversation with the TPM, holding the process's TPM lock from open to
 * close; close flushes what is still loaded. */
struct tpm2_conv {
	struct tpm t;
	const char *pin;
	uint32_t primary, item;	/* 0: none loaded */
	bool open;
};
int tpm2_conv_open(struct tpm2_conv *cv, const char *pin, const struct pin_opts *o);
void tpm2_conv_close(struct tpm2_conv *cv);
/* Prints "<pin> pin: <t.err>", closes, -1. */
int tpm2_conv_fail(struct tpm2_conv *cv, const struct pin_opts *o);

/* The PolicyPCR digest of c's PCRs (pcr_digest, or the TPM's values now;
 * the default bank filled in); *len 0 when c names no PCR. */
int tpm2_pcr_policy(struct tpm2_conv *cv, struct tpm2_cfg *c, unsigned char *policy, size_t *len);

/* A TPM pin's encrypt, whatever its seal step: parse cfg, make a content
 * key, seal its JWK text (seal fills pub and priv), build the header (and
 * add_fields, when set, adds the pin's own members), encrypt. The compact
 * JWE, or NULL after a message. */
struct tpm2_sealer {
	int (*seal)(struct tpm2_cfg *c, const char *text, struct buf *pub, struct buf *priv, void *ctx,
		    const struct pin_opts *o);
	bool (*add_fields)(cJSON *fields, void *ctx);	/* false: out of memory */
	void *ctx;
};
char *tpm2_encrypt(const char *pin, const cJSON *cfg, const void *pt, size_t len, const struct tpm2_sealer *sealer,
		   const struct pin_opts *o);

/* {"clevis":{"pin":PIN,PIN:{hash,key,jwk_pub,jwk_priv[,pcr_bank,pcr_ids]}}};
 * *fields gets the PIN object for more members. NULL on no memory. */
cJSON *tpm2_header(const struct tpm2_cfg *c, const struct buf *pub, const struct buf *priv, cJSON **fields);
bool tpm2_set_b64(cJSON *obj, const char *name, const struct buf *b);
/* A fresh A256GCM content key, and in *text its JWK text as clevis seals it
 * (canonical JSON and "\n", secret_alloc'd: secret_free(t, strlen(t)+1)). */
cJSON *tpm2_new_cek(char **text, const char *pin, const struct pin_opts *o);
char *tpm2_jwk_text(const cJSON *jwk);

/* The sealed object a JWE header names. */
struct tpm2_sealed {
	const char *pin;
	uint16_t hash, key;
	struct tpm_pcr_sel sel;	/* mask 0: no policy */
	struct buf pub, priv;
};
void tpm2_sealed_free(struct tpm2_sealed *s);
/* Reads clevis.PIN of the header into s: its object, or NULL after a
 * message. */
const cJSON *tpm2_read_header(const char *pin, const struct jwe *j, struct tpm2_sealed *s, const struct pin_opts *o);
/* Opens the JWE with the unsealed JWK text. */
int tpm2_open_jwe(const char *pin, const struct jwe *j, const struct buf *text, struct buf *pt,
		  const struct pin_opts *o);

#endif
