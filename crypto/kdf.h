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

#endif
