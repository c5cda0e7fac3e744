/* p521.h - constant-time NIST P-521 (secp521r1) point arithmetic in portable C.
 *
 * Points are affine, x || y, 66 bytes each, big-endian, without the 0x04
 * prefix. The caller validates every point it passes in (x, y < p, on the
 * curve; not infinity): these functions trust their input. Scalars are 66
 * bytes big-endian, any value; they are reduced modulo the group order n.
 * The time and the memory addresses touched depend on no secret input. */
#ifndef NBDE_P521_H
#define NBDE_P521_H

#include <stdint.h>

#define P521_BYTES 66
#define P521_POINT_BYTES (2 * P521_BYTES)

/* out = k·P. Returns 0, or -1 when the result is infinity (k ≡ 0 mod n; out
 * is then zero). */
int p521_mul(unsigned char out[P521_POINT_BYTES], const unsigned char k[P521_BYTES],
	     const unsigned char P[P521_POINT_BYTES]);
/* out = k·G for the standard generator G. Same return as p521_mul(). */
int p521_mul_base(unsigned char out[P521_POINT_BYTES], const unsigned char k[P521_BYTES]);
/* out = A + B, A == B included. Returns 0, or -1 when the sum is infinity. */
int p521_add(unsigned char out[P521_POINT_BYTES], const unsigned char A[P521_POINT_BYTES],
	     const unsigned char B[P521_POINT_BYTES]);

/* For the unit test of the field layer: out = a op b modulo 2^521 − 1 in
 * canonical form, on raw radix-2^58 limbs (each < 2^59, the loosest form the
 * field functions accept). op is one of "+-*sin" (s: a², i: a^−1, n: −a). */
void p521_field_op_for_test(uint64_t out[9], char op, const uint64_t a[9], const uint64_t b[9]);

#endif
