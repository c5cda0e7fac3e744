/* p521_ref.h - the P-521 operations of p521.h done by Mbed TLS's generic ecp
 * code, for the differential unit test and the benchmark. Same byte formats
 * as p521.h; points are validated (on the curve) here. */
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

/* out = a op b mod p as p521_field_op_for_test() defines it, by mbedtls_mpi;
 * 0 or -1 */
int p521_ref_field_op(uint64_t out[9], char op, const uint64_t a[9], const uint64_t b[9]);

#endif
