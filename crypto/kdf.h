/* kdf.h - Concat KDF (NIST SP 800-56A, as RFC 7518 §4.6 uses it for ECDH-ES). */
#ifndef NBDE_KDF_H
#define NBDE_KDF_H

#include <stddef.h>

/* out = first keybits/8 bytes of SHA-256 rounds over
 * counter ‖ Z ‖ len‖alg ‖ len‖apu ‖ len‖apv ‖ keybits; 0 on success. */
int concat_kdf(const unsigned char *z, size_t zlen, const char *alg,
	       const unsigned char *apu, size_t apulen,
	       const unsigned char *apv, size_t apvlen,
	       unsigned char *out, size_t keybits);

/* KDFa of TPM 2.0 Part 1 §11.4.10.2 (SP 800-108 counter mode over HMAC):
 * out = the first bits/8 bytes of HMAC_hash(key, i ‖ label ‖ 0 ‖ contextU ‖
 * contextV ‖ bits) for i = 1, 2, ... (i and bits as big-endian u32); hash
 * is a jose name (S1, S256, ...), bits a multiple of 8. 0, or -1 (out wiped).
 * The key may be a secret: only HMAC touches it. */
int kdfa(const char *hash, const void *key, size_t keylen, const char *label, const void *ctx_u, size_t ulen,
	 const void *ctx_v, size_t vlen, unsigned char *out, size_t bits);

/* KDFe of TPM 2.0 Part 1 §11.4.10.3 (SP 800-56A's concatenation KDF as the
 * TPM runs it): out = the first bits/8 bytes of H(i ‖ Z ‖ label ‖ 0 ‖ partyU
 * ‖ partyV) for i = 1, 2, ... (i big-endian u32). Z is a secret; the parts
 * are short (points' x coordinates). 0, or -1 (out wiped). */
#define KDFE_MAX_INPUT 512
int kdfe(const char *hash, const void *z, size_t zlen, const char *label, const void *u, size_t ulen,
	 const void *v, size_t vlen, unsigned char *out, size_t bits);

#endif
