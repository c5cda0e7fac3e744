/* hash.h - the JOSE thumbprint hashes by their jose names (S1 ... S512). */
#ifndef NBDE_HASH_H
#define NBDE_HASH_H

#include <stddef.h>

#define HASH_MAX_LEN 64	/* SHA-512's digest, the longest */
#define HASH_COUNT 5	/* S1, S224, S256, S384, S512: tang answers a thumbprint under any */

/* Names in the order tang and jose list them. */
extern const char *const hash_names[HASH_COUNT];

/* Digest length for a hash name, 0 if unknown. */
size_t hash_len(const char *name);
/* Writes the digest to out (HASH_MAX_LEN bytes room); returns its length or 0. */
size_t hash_compute(const char *name, const void *data, size_t len, unsigned char *out);

/* One message of several parts, hashed as their concatenation (the TPM's
 * cpHash/rpHash and policy digests are hashes of marshalled parts). */
struct hash_part {
	const void *p;
	size_t len;
};
/* HMAC (RFC 2104) of the parts under key; the key may be a secret (Mbed
 * TLS's HMAC does not branch on it). Digest length, or 0 on error. */
size_t hash_hmac(const char *name, const void *key, size_t keylen, const struct hash_part *parts, size_t nparts,
		 unsigned char *out);

#endif
