/* sss.h - Shamir's secret sharing over a prime field, as clevis's sss pin
 * does it: a fresh random 256-bit safe prime p per secret, a random
 * polynomial of degree t-1 whose constant term is the secret, and shares
 * x‖y with each number 32 bytes big-endian. */
#ifndef NBDE_SSS_H
#define NBDE_SSS_H

#include <stddef.h>

#define SSS_PRIME_LEN 32
#define SSS_SHARE_LEN (2 * SSS_PRIME_LEN)

/* Makes p, a random secret (< p) and n shares of it, any t of which recover
 * it. shares has room for n * SSS_SHARE_LEN bytes. The polynomial is wiped.
 * 0, or -1 with *err set. */
int sss_split(size_t t, size_t n, unsigned char prime[SSS_PRIME_LEN],
	      unsigned char secret[SSS_PRIME_LEN], unsigned char *shares, const char **err);

/* Lagrange interpolation at 0 over t shares of 2·plen bytes each (any prime
 * of plen bytes is accepted, as clevis does). Writes plen bytes to secret.
 * Fails on duplicate x or numbers not below p. */
int sss_combine(const unsigned char *prime, size_t plen, const unsigned char *shares, size_t t,
		unsigned char *secret, const char **err);

#endif
