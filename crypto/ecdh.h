/* ecdh.h - one-pass Diffie-Hellman on P-256 with raw coordinates, as a TPM
 * 2.0 salted session takes it (TPM 2.0 Part 1 §C.6.1, Annex C of Part 1). */
#ifndef NBDE_ECDH_H
#define NBDE_ECDH_H

#define ECDH_P256_BYTES 32

/* A fresh key pair e; Z = the x coordinate of e·Q for the peer point
 * Q = (qx, qy), big-endian, which must be on the curve. ex, ey: e's public
 * point. 0, or -1 (Q invalid, no randomness); z is a secret. */
int ecdh_p256_ephemeral(const unsigned char qx[ECDH_P256_BYTES], const unsigned char qy[ECDH_P256_BYTES],
			unsigned char ex[ECDH_P256_BYTES], unsigned char ey[ECDH_P256_BYTES],
			unsigned char z[ECDH_P256_BYTES]);

#endif
