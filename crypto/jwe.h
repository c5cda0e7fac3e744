/* jwe.h - JSON Web Encryption (RFC 7516): A256GCM content encryption with
 * "ECDH-ES" (RFC 7518 §4.6) or "dir" key management; compact and flattened
 * JSON forms. No plaintext leaves jwe_open() before the GCM tag verified. */
#ifndef NBDE_JWE_H
#define NBDE_JWE_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "jwk.h"
#include "secret.h"

#define JWE_CEK_LEN 32

struct jwe {
	char *protected;	/* base64url text exactly as received: the AAD */
	char *aad;		/* optional JSON "aad" member, base64url */
	cJSON *hdr;		/* JOSE header: protected ∪ unprotected ∪ recipient */
	struct buf ek, iv, ct, tag;
};

/* Compact or JSON (flattened, or general with one recipient). */
int jwe_parse(const char *text, size_t len, struct jwe *out, const char **err);
int jwe_from_json(const cJSON *o, struct jwe *out, const char **err);
void jwe_free(struct jwe *j);
char *jwe_compact(const struct jwe *j);
/* {"ciphertext","encrypted_key","iv","protected","tag"}: the LUKS2 token form. */
cJSON *jwe_flattened(const struct jwe *j);

/* Encrypts with cek under header hdr (copied; "enc" set to A256GCM). */
int jwe_seal(struct jwe *out, const cJSON *hdr, const unsigned char cek[JWE_CEK_LEN],
	     const void *pt, size_t len, const char **err);
/* Verifies the tag, then returns the plaintext in pt. */
int jwe_open(const struct jwe *in, const unsigned char cek[JWE_CEK_LEN], struct buf *pt, const char **err);
/* The ECDH-ES content key from the shared secret Z (x of the shared point). */
int jwe_ecdh_es_cek(const cJSON *hdr, const unsigned char *z, size_t zlen,
		    unsigned char cek[JWE_CEK_LEN], const char **err);

/* Whole operations: jwk EC public → ECDH-ES with a fresh "epk"; jwk oct → dir. */
int jwe_encrypt(struct jwe *out, const cJSON *hdr, const cJSON *jwk,
		const void *pt, size_t len, const char **err);
/* jwk EC private (ECDH-ES) or oct (dir). */
int jwe_decrypt(const struct jwe *in, const cJSON *jwk, struct buf *pt, const char **err);

void cleanup_jwe(struct jwe *j);
#define AUTO_JWE __attribute__((cleanup(cleanup_jwe))) struct jwe

#endif
