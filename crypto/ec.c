/* ec.c - point multiply, add, key generation and ECDSA verification for
 * struct ec_key: P-521 through the in-tree p521.c (6–7× faster than Mbed
 * TLS's generic code), every other curve through Mbed TLS. ECDSA signing
 * stays with Mbed TLS (tang signs its advertisement once per key change).
 * Build with -DNBDE_P521_MBEDTLS to send P-521 through Mbed TLS too, for
 * differential testing and the benchmarks. */
#include "ec_internal.h"
#include "p521.h"
#include "p521_ref.h"
#include "secret.h"

#include <mbedtls/ecdsa.h>

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

/* ---- ECDSA verification ---- */

/* e from the hash as mbedtls_ecdsa_verify() takes it (Mbed TLS's
 * derive_mpi): the leftmost bits of n's length, less n once if ≥ n. */
static int hash_scalar(const mbedtls_ecp_group *grp, mbedtls_mpi *e, const unsigned char *md, size_t mdlen)
{
	size_t n_size = (grp->nbits + 7) / 8, use = mdlen > n_size ? n_size : mdlen;
	int r = mbedtls_mpi_read_binary(e, md, use);

	if (!r && use * 8 > grp->nbits)
		r = mbedtls_mpi_shift_r(e, use * 8 - grp->nbits);
	if (!r && mbedtls_mpi_cmp_mpi(e, &grp->N) >= 0)
		r = mbedtls_mpi_sub_mpi(e, e, &grp->N);
	return r;
}

/* x / 2 modulo the odd n, for x < n */
static int halve_mod(mbedtls_mpi *x, const mbedtls_mpi *n)
{
	int r = mbedtls_mpi_get_bit(x, 0) ? mbedtls_mpi_add_mpi(x, x, n) : 0;
	return r ? r : mbedtls_mpi_shift_r(x, 1);
}

/* x −= y modulo n, for x, y < n */
static int sub_mod(mbedtls_mpi *x, const mbedtls_mpi *y, const mbedtls_mpi *n)
{
	int r = mbedtls_mpi_sub_mpi(x, x, y);
	return r || mbedtls_mpi_cmp_int(x, 0) >= 0 ? r : mbedtls_mpi_add_mpi(x, x, n);
}

/* out = a^−1 modulo the odd prime n, 1 ≤ a < n, by the binary extended
 * Euclid (u ≡ a·x1, v ≡ a·x2 throughout). Its time depends on a: for public
 * values only (a signature's s). Mbed TLS 3.6's mbedtls_mpi_inv_mod() is
 * constant time and 4× the instructions, a third of an ES512 verification. */
static int inverse_public(mbedtls_mpi *out, const mbedtls_mpi *a, const mbedtls_mpi *n)
{
	mbedtls_mpi u, v, x1, x2;
	int r;

	mbedtls_mpi_init(&u);
	mbedtls_mpi_init(&v);
	mbedtls_mpi_init(&x1);
	mbedtls_mpi_init(&x2);
	r = mbedtls_mpi_copy(&u, a) || mbedtls_mpi_copy(&v, n) || mbedtls_mpi_lset(&x1, 1) || mbedtls_mpi_lset(&x2, 0);
	while (!r && mbedtls_mpi_cmp_int(&u, 1) && mbedtls_mpi_cmp_int(&v, 1)) {
		if (!mbedtls_mpi_cmp_int(&u, 0))	/* a ≡ 0: no inverse */
			r = MBEDTLS_ERR_MPI_NOT_ACCEPTABLE;
		while (!r && !mbedtls_mpi_get_bit(&u, 0))
			r = mbedtls_mpi_shift_r(&u, 1) || halve_mod(&x1, n);
		while (!r && !mbedtls_mpi_get_bit(&v, 0))
			r = mbedtls_mpi_shift_r(&v, 1) || halve_mod(&x2, n);
		if (r)
			break;
		if (mbedtls_mpi_cmp_mpi(&u, &v) >= 0)
			r = mbedtls_mpi_sub_mpi(&u, &u, &v) || sub_mod(&x1, &x2, n);
		else
			r = mbedtls_mpi_sub_mpi(&v, &v, &u) || sub_mod(&x2, &x1, n);
	}
	if (!r)
		r = mbedtls_mpi_copy(out, mbedtls_mpi_cmp_int(&u, 1) ? &x2 : &x1);
	mbedtls_mpi_free(&u);
	mbedtls_mpi_free(&v);
	mbedtls_mpi_free(&x1);
	mbedtls_mpi_free(&x2);
	return r;
}

/* u1 = e / s, u2 = r / s modulo n, as 66-byte scalars. Public values: the
 * mpi code's timing leaks nothing here. */
static int verify_scalars(const mbedtls_ecp_group *grp, const unsigned char *md, size_t mdlen,
			  const mbedtls_mpi *r, const mbedtls_mpi *s, unsigned char u1[P521_BYTES],
			  unsigned char u2[P521_BYTES])
{
	mbedtls_mpi e, w, u;
	int ret;

	mbedtls_mpi_init(&e);
	mbedtls_mpi_init(&w);
	mbedtls_mpi_init(&u);
	ret = hash_scalar(grp, &e, md, mdlen);
	if (!ret)
		ret = inverse_public(&w, s, &grp->N);
	if (!ret)
		ret = mbedtls_mpi_mul_mpi(&u, &e, &w) || mbedtls_mpi_mod_mpi(&u, &u, &grp->N) ||
		      mbedtls_mpi_write_binary(&u, u1, P521_BYTES);
	if (!ret)
		ret = mbedtls_mpi_mul_mpi(&u, r, &w) || mbedtls_mpi_mod_mpi(&u, &u, &grp->N) ||
		      mbedtls_mpi_write_binary(&u, u2, P521_BYTES);
	mbedtls_mpi_free(&e);
	mbedtls_mpi_free(&w);
	mbedtls_mpi_free(&u);
	return ret ? MBEDTLS_ERR_ECP_BAD_INPUT_DATA : 0;
}

/* x(u1·G + u2·Q) into x; 0, or VERIFY_FAILED for infinity. u1 may be 0
 * (p521_mul_base then says infinity); u2 never is (r, s ≠ 0 and Q has order n)
 * but is handled the same way. */
static int verify_point_x(const unsigned char u1[P521_BYTES], const unsigned char u2[P521_BYTES],
			  const unsigned char Q[P521_POINT_BYTES], unsigned char x[P521_BYTES])
{
	unsigned char a[P521_POINT_BYTES], b[P521_POINT_BYTES], sum[P521_POINT_BYTES];
	int inf_a = p521_mul_base(a, u1), inf_b = p521_mul(b, u2, Q);
	const unsigned char *R = inf_a ? b : inf_b ? a : p521_add(sum, a, b) ? NULL : sum;

	if ((inf_a && inf_b) || !R)
		return MBEDTLS_ERR_ECP_VERIFY_FAILED;
	memcpy(x, R, P521_BYTES);
	return 0;
}

/* mbedtls_ecdsa_verify() for P-521 with its checks (1 ≤ r, s < n; Q on the
 * curve; R not infinity; x(R) mod n = r), the point arithmetic in p521.c:
 * u1·G by its comb, u2·Q by its variable-base multiply. 0 when valid,
 * MBEDTLS_ERR_ECP_VERIFY_FAILED when not, another error on failure. */
static int p521_ecdsa_verify(const mbedtls_ecp_group *grp, const unsigned char *md, size_t mdlen,
			     const mbedtls_ecp_point *Q, const mbedtls_mpi *r, const mbedtls_mpi *s)
{
	unsigned char q[RAW_POINT], u1[P521_BYTES], u2[P521_BYTES], x[P521_BYTES];
	mbedtls_mpi v;
	int ret;

	if (mbedtls_mpi_cmp_int(r, 1) < 0 || mbedtls_mpi_cmp_mpi(r, &grp->N) >= 0 ||
	    mbedtls_mpi_cmp_int(s, 1) < 0 || mbedtls_mpi_cmp_mpi(s, &grp->N) >= 0)
		return MBEDTLS_ERR_ECP_VERIFY_FAILED;
	ret = mbedtls_ecp_check_pubkey(grp, Q);
	if (!ret)
		ret = write_point(grp, Q, q);
	if (!ret)
		ret = verify_scalars(grp, md, mdlen, r, s, u1, u2);
	if (!ret)
		ret = verify_point_x(u1, u2, q + 1, x);
	if (ret)
		return ret;
	mbedtls_mpi_init(&v);
	ret = mbedtls_mpi_read_binary(&v, x, sizeof(x));
	if (!ret)
		ret = mbedtls_mpi_mod_mpi(&v, &v, &grp->N);
	if (!ret && mbedtls_mpi_cmp_mpi(&v, r))
		ret = MBEDTLS_ERR_ECP_VERIFY_FAILED;
	mbedtls_mpi_free(&v);
	return ret;
}

int ec_verify(const struct ec_key *k, const unsigned char *md, size_t mdlen, const mbedtls_mpi *r,
	      const mbedtls_mpi *s)
{
	mbedtls_ecp_group *grp = (mbedtls_ecp_group *)&k->grp;

	if (use_p521(grp))
		return p521_ecdsa_verify(grp, md, mdlen, &k->Q, r, s);
	return mbedtls_ecdsa_verify(grp, md, mdlen, &k->Q, r, s);
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

/* Q and r ‖ s in x for the verifiers; the point is not checked here (the
 * verifiers do it, as they must) */
static int ref_read_signature(struct ref *x, mbedtls_mpi *r, mbedtls_mpi *s, const unsigned char Q[P521_POINT_BYTES],
			      const unsigned char sig[2 * P521_BYTES])
{
	unsigned char raw[RAW_POINT];

	raw[0] = 0x04;
	memcpy(raw + 1, Q, P521_POINT_BYTES);
	return ref_init(x) || mbedtls_ecp_point_read_binary(&x->grp, &x->Q, raw, RAW_POINT) ||
	       mbedtls_mpi_read_binary(r, sig, P521_BYTES) || mbedtls_mpi_read_binary(s, sig + P521_BYTES, P521_BYTES);
}

static int ecdsa_verify_bytes(bool reference, const unsigned char Q[P521_POINT_BYTES], const unsigned char *md,
			      size_t mdlen, const unsigned char sig[2 * P521_BYTES])
{
	struct ref x;
	mbedtls_mpi r, s;
	int ret = -1;

	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	if (!ref_read_signature(&x, &r, &s, Q, sig)) {
		ret = reference ? mbedtls_ecdsa_verify(&x.grp, md, mdlen, &x.Q, &r, &s)
				: p521_ecdsa_verify(&x.grp, md, mdlen, &x.Q, &r, &s);
		ret = !ret ? 0 : ret == MBEDTLS_ERR_ECP_VERIFY_FAILED ? 1 : ret == MBEDTLS_ERR_ECP_INVALID_KEY ? 2 : -1;
	}
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	ref_free(&x);
	return ret;
}

int p521_ecdsa_verify_for_test(const unsigned char Q[P521_POINT_BYTES], const unsigned char *md, size_t mdlen,
			       const unsigned char sig[2 * P521_BYTES])
{
	return ecdsa_verify_bytes(false, Q, md, mdlen, sig);
}

int p521_ref_ecdsa_verify(const unsigned char Q[P521_POINT_BYTES], const unsigned char *md, size_t mdlen,
			  const unsigned char sig[2 * P521_BYTES])
{
	return ecdsa_verify_bytes(true, Q, md, mdlen, sig);
}

int p521_ref_scalar_op(unsigned char out[P521_BYTES], char op, const unsigned char a[P521_BYTES],
		       const unsigned char b[P521_BYTES])
{
	struct ref x;
	mbedtls_mpi A, B;
	int r;

	mbedtls_mpi_init(&A);
	mbedtls_mpi_init(&B);
	r = ref_init(&x) || mbedtls_mpi_read_binary(&A, a, P521_BYTES) || mbedtls_mpi_read_binary(&B, b, P521_BYTES);
	if (!r && op == '/')
		r = mbedtls_mpi_inv_mod(&B, &B, &x.grp.N);
	if (!r)
		r = op == '+' ? mbedtls_mpi_add_mpi(&x.k, &A, &B)
		  : op == '*' || op == '/' ? mbedtls_mpi_mul_mpi(&x.k, &A, &B) : -1;
	r = r || mbedtls_mpi_mod_mpi(&x.k, &x.k, &x.grp.N) || mbedtls_mpi_write_binary(&x.k, out, P521_BYTES);
	mbedtls_mpi_free(&A);
	mbedtls_mpi_free(&B);
	ref_free(&x);
	return r ? -1 : 0;
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
