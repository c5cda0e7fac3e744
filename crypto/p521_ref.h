/* p521_ref.h - the P-521 operations of p521.h (and ES512 verification)
 * done by Mbed TLS's generic ecp code, for the differential unit test and the
 * benchmark. Same byte formats as p521.h; points are validated (on the
 * curve) here. */
#ifndef NBDE_P521_REF_H
#define NBDE_P521_REF_H

#include "p521.h"

/* out = (k mod n)·P, or ·G when P is NULL. 0, 1 for infinity (out zero),
 * -1 when P is invalid or Mbed TLS fails. */
int p521_ref_mul(unsigned char out[P521_POINT_BYTES], const unsigned char k[P521_BYTES],
		 const unsigned char P[P521_POINT_BYTES]);
/* out = A + B; returns as p521_ref_mul(). */
int p521_ref_add(unsigned char out[P521_POINT_BYTES], const unsigned char A[P521_POINT_BYTES],
		 const unsigned char B[P521_POINT_BYTES]);
/* n, the group order, big-endian; 0 or -1 */
int p521_ref_order(unsigned char n[P521_BYTES]);

/* ECDSA verification of sig = r ‖ s (66 bytes each, big-endian) over the
 * hash md by the point Q (not checked by the caller): through the in-tree
 * path jws.c takes for ES512 (whatever NBDE_P521_MBEDTLS says), and through
 * mbedtls_ecdsa_verify(). 0 valid, 1 invalid (r or s out of [1, n − 1]
 * included), 2 when Q is not on the curve, -1 on other errors. */
int p521_ecdsa_verify_for_test(const unsigned char Q[P521_POINT_BYTES], const unsigned char *md, size_t mdlen,
			       const unsigned char sig[2 * P521_BYTES]);
int p521_ref_ecdsa_verify(const unsigned char Q[P521_POINT_BYTES], const unsigned char *md, size_t mdlen,
			  const unsigned char sig[2 * P521_BYTES]);
/* out = a op b modulo n, op one of "+*" or '/' (b ≠ 0 mod n); 0 or -1 */
int p521_ref_scalar_op(unsigned char out[P521_BYTES], char op, const unsigned char a[P521_BYTES],
		       const unsigned char b[P521_BYTES]);

/* out = a op b mod p as p521_field_op_for_test() defines it, by mbedtls_mpi;
 * 0 or -1 */
int p521_ref_field_op(uint64_t out[9], char op, const uint64_t a[9], const uint64_t b[9]);

#endif
