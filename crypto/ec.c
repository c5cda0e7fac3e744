/* ec.c - point multiply, add and key generation for struct ec_key: P-521
 * through the in-tree p521.c (6–7× faster than Mbed TLS's generic code),
 * every other curve through Mbed TLS. Build with -DNBDE_P521_MBEDTLS to send
 * P-521 through Mbed TLS too, for differential testing. */
#include "ec_internal.h"
#include "p521.h"
#include "p521_ref.h"
#include "secret.h"

#include <string.h>

#define RAW_POINT (1 + P521_POINT_BYTES)	/* 0x04 ‖ x ‖ y */

#ifndef NBDE_P521_MBEDTLS
static bool use_p521(const mbedtls_ecp_group *grp)
{
	return grp->id == MBEDTLS_ECP_DP_SECP521R1;
}
#else
static bool use_p521(const mbedtls_ecp_group *grp)
{
	(void)grp;
	return false;
}
#endif

static int write_point(const mbedtls_ecp_group *grp, const mbedtls_ecp_point *P, unsigned char raw[RAW_POINT])
{
	size_t olen = 0;
	int r = mbedtls_ecp_point_write_binary(grp, P, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, raw, RAW_POINT);
	return r ? r : olen == RAW_POINT ? 0 : MBEDTLS_ERR_ECP_BAD_INPUT_DATA;
}

/* R from p521's result: the point, or zero (infinity) when rc is -1 */
static int read_result(const mbedtls_ecp_group *grp, mbedtls_ecp_point *R, unsigned char raw[RAW_POINT], int rc)
{
	if (rc)
		return mbedtls_ecp_set_zero(R);
	raw[0] = 0x04;
	return mbedtls_ecp_point_read_binary(grp, R, raw, RAW_POINT);
}

/* The same checks mbedtls_ecp_mul() makes: 1 ≤ m < n, P on the curve. */
static int p521_ec_mul(const mbedtls_ecp_group *grp, mbedtls_ecp_point *R, const mbedtls_mpi *m,
		       const mbedtls_ecp_point *P)
{
	unsigned char k[P521_BYTES], in[RAW_POINT], out[RAW_POINT];
	bool base = P == &grp->G;
	int r;

	r = mbedtls_ecp_check_privkey(grp, m);
	if (!r && !base)
		r = mbedtls_ecp_check_pubkey(grp, P);
	if (!r && !base)
		r = write_point(grp, P, in);
	if (!r)
		r = mbedtls_mpi_write_binary(m, k, sizeof(k));
	if (!r)
		r = read_result(grp, R, out,
				base ? p521_mul_base(out + 1, k) : p521_mul(out + 1, k, in + 1));
	wipe(k, sizeof(k));
	wipe(out, sizeof(out));
	return r;
}

int ec_mul(const struct ec_key *k, mbedtls_ecp_point *R, const mbedtls_mpi *m, const mbedtls_ecp_point *P)
{
	mbedtls_ecp_group *grp = (mbedtls_ecp_group *)&k->grp;

	if (use_p521(grp))
		return p521_ec_mul(grp, R, m, P);
	return mbedtls_ecp_mul(grp, R, m, P, ec_rng, NULL);
}

int ec_add(const struct ec_key *k, mbedtls_ecp_point *R, const mbedtls_ecp_point *A, const mbedtls_ecp_point *B)
{
	mbedtls_ecp_group *grp = (mbedtls_ecp_group *)&k->grp;
	unsigned char a[RAW_POINT], b[RAW_POINT], out[RAW_POINT];
	mbedtls_mpi one;
	int r;

	if (!use_p521(grp)) {
		mbedtls_mpi_init(&one);
		r = mbedtls_mpi_lset(&one, 1);
		if (!r)
			r = mbedtls_ecp_muladd(grp, R, &one, A, &one, B);
		mbedtls_mpi_free(&one);
		return r;
	}
	r = mbedtls_ecp_check_pubkey(grp, A);
	if (!r)
		r = mbedtls_ecp_check_pubkey(grp, B);
	if (!r)
		r = write_point(grp, A, a);
	if (!r)
		r = write_point(grp, B, b);
	if (!r)
		r = read_result(grp, R, out, p521_add(out + 1, a + 1, b + 1));
	wipe(a, sizeof(a));
	wipe(b, sizeof(b));
	wipe(out, sizeof(out));
	return r;
}

int ec_gen_keypair(struct ec_key *k)
{
	if (!use_p521(&k->grp))
		return mbedtls_ecp_gen_keypair(&k->grp, &k->d, &k->Q, ec_rng, NULL);
	int r = mbedtls_ecp_gen_privkey(&k->grp, &k->d, ec_rng, NULL);
	return r ? r : ec_mul(k, &k->Q, &k->d, &k->grp.G);
}

/* ---- the Mbed TLS reference for P-521 (p521_ref.h) ---- */

struct ref {
	mbedtls_ecp_group grp;
	mbedtls_ecp_point P, Q, R;
	mbedtls_mpi k;
};

static int ref_init(struct ref *x)
{
	mbedtls_ecp_group_init(&x->grp);
	mbedtls_ecp_point_init(&x->P);
	mbedtls_ecp_point_init(&x->Q);
	mbedtls_ecp_point_init(&x->R);
	mbedtls_mpi_init(&x->k);
	return mbedtls_ecp_group_load(&x->grp, MBEDTLS_ECP_DP_SECP521R1);
}

static void ref_free(struct ref *x)
{
	mbedtls_mpi_free(&x->k);
	mbedtls_ecp_point_free(&x->R);
	mbedtls_ecp_point_free(&x->Q);
	mbedtls_ecp_point_free(&x->P);
	mbedtls_ecp_group_free(&x->grp);
}

static int ref_read(struct ref *x, mbedtls_ecp_point *P, const unsigned char xy[P521_POINT_BYTES])
{
	unsigned char raw[RAW_POINT];

	raw[0] = 0x04;
	memcpy(raw + 1, xy, P521_POINT_BYTES);
	return mbedtls_ecp_point_read_binary(&x->grp, P, raw, RAW_POINT) || mbedtls_ecp_check_pubkey(&x->grp, P);
}

/* 0 with out = R, 1 for infinity (out zero), -1 on error */
static int ref_write(struct ref *x, unsigned char out[P521_POINT_BYTES])
{
	unsigned char raw[RAW_POINT];

	memset(out, 0, P521_POINT_BYTES);
	if (mbedtls_ecp_is_zero(&x->R))
		return 1;
	if (write_point(&x->grp, &x->R, raw))
		return -1;
	memcpy(out, raw + 1, P521_POINT_BYTES);
	return 0;
}

int p521_ref_mul(unsigned char out[P521_POINT_BYTES], const unsigned char k[P521_BYTES],
		 const unsigned char P[P521_POINT_BYTES])
{
	struct ref x;
	int r = -1;

	if (ref_init(&x) || (P && ref_read(&x, &x.P, P)) || mbedtls_mpi_read_binary(&x.k, k, P521_BYTES) ||
	    mbedtls_mpi_mod_mpi(&x.k, &x.k, &x.grp.N))
		goto done;
	if (!mbedtls_mpi_cmp_int(&x.k, 0)) {	/* Mbed TLS refuses k = 0 */
		memset(out, 0, P521_POINT_BYTES);
		r = 1;
	} else if (!mbedtls_ecp_mul(&x.grp, &x.R, &x.k, P ? &x.P : &x.grp.G, ec_rng, NULL)) {
		r = ref_write(&x, out);
	}
done:
	ref_free(&x);
	return r;
}

int p521_ref_add(unsigned char out[P521_POINT_BYTES], const unsigned char A[P521_POINT_BYTES],
		 const unsigned char B[P521_POINT_BYTES])
{
	struct ref x;
	int r = -1;

	if (ref_init(&x) || ref_read(&x, &x.P, A) || ref_read(&x, &x.Q, B) || mbedtls_mpi_lset(&x.k, 1))
		goto done;
	if (!mbedtls_ecp_muladd(&x.grp, &x.R, &x.k, &x.P, &x.k, &x.Q))
		r = ref_write(&x, out);
done:
	ref_free(&x);
	return r;
}

int p521_ref_order(unsigned char n[P521_BYTES])
{
	struct ref x;
	int r = ref_init(&x) || mbedtls_mpi_write_binary(&x.grp.N, n, P521_BYTES) ? -1 : 0;
	ref_free(&x);
	return r;
}

/* limbs of radix 2^58 (value < 2^528) ↔ 66 big-endian bytes */
static void limbs_to_bytes(unsigned char out[P521_BYTES], const uint64_t v[9])
{
	unsigned __int128 acc = 0;
	int bits = 0, n = 0;

	for (int i = P521_BYTES - 1; i >= 0; i--) {
		if (bits < 8 && n < 9) {
			acc += (unsigned __int128)v[n++] << bits;	/* limbs may overlap */
			bits += 58;
		}
		out[i] = (unsigned char)acc;
		acc >>= 8;
		bits -= 8;
	}
}

static void bytes_to_limbs(uint64_t v[9], const unsigned char in[P521_BYTES])
{
	memset(v, 0, 9 * sizeof(uint64_t));
	for (int bit = 0; bit < 8 * P521_BYTES; bit++)
		if (in[P521_BYTES - 1 - bit / 8] >> (bit % 8) & 1)
			v[bit / 58 < 9 ? bit / 58 : 8] |= (uint64_t)1 << (bit / 58 < 9 ? bit % 58 : 57);
}

int p521_ref_field_op(uint64_t out[9], char op, const uint64_t a[9], const uint64_t b[9])
{
	struct ref x;
	mbedtls_mpi A, B, R;
	unsigned char buf[P521_BYTES];
	int r;

	mbedtls_mpi_init(&A);
	mbedtls_mpi_init(&B);
	mbedtls_mpi_init(&R);
	r = ref_init(&x);
	limbs_to_bytes(buf, a);
	r = r || mbedtls_mpi_read_binary(&A, buf, sizeof(buf));
	limbs_to_bytes(buf, b);
	r = r || mbedtls_mpi_read_binary(&B, buf, sizeof(buf));
	if (!r) {
		const mbedtls_mpi *P = &x.grp.P;
		switch (op) {
		case '+': r = mbedtls_mpi_add_mpi(&R, &A, &B); break;
		case '-': r = mbedtls_mpi_sub_mpi(&R, &A, &B); break;
		case '*': r = mbedtls_mpi_mul_mpi(&R, &A, &B); break;
		case 's': r = mbedtls_mpi_mul_mpi(&R, &A, &A); break;
		case 'n': r = mbedtls_mpi_lset(&B, 0) || mbedtls_mpi_sub_mpi(&R, &B, &A); break;
		case 'i':	/* 0 has no inverse; x^(p−2) gives 0 */
			r = mbedtls_mpi_mod_mpi(&A, &A, P);
			if (!r && !mbedtls_mpi_cmp_int(&A, 0))
				r = mbedtls_mpi_lset(&R, 0);
			else if (!r)
				r = mbedtls_mpi_inv_mod(&R, &A, P);
			break;
		default: r = -1;
		}
		r = r || mbedtls_mpi_mod_mpi(&R, &R, P) || mbedtls_mpi_write_binary(&R, buf, sizeof(buf));
	}
	if (!r)
		bytes_to_limbs(out, buf);
	mbedtls_mpi_free(&A);
	mbedtls_mpi_free(&B);
	mbedtls_mpi_free(&R);
	ref_free(&x);
	return r ? -1 : 0;
}
