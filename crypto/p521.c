/* p521.c - constant-time NIST P-521 point arithmetic (see p521.h).
 *
 * Mbed TLS's generic ecp code multiplies P-521 points 6–7× slower than
 * OpenSSL's 64-bit nistp521; this file does the same job in portable C:
 *
 * Field: integers modulo p = 2^521 − 1 in 9 limbs of radix 2^58,
 *   v = Σ f[i]·2^(58·i). Products go into 9 unsigned __int128 columns; the
 *   part at or above 2^522 folds back doubled because 2^522 ≡ 2 (mod p), the
 *   carry out of 2^521 folds back into limb 0 because 2^521 ≡ 1.
 *   Limb bounds (each function's comment states its own):
 *     loose    every limb < 2^60: what fe_mul/fe_sqr return (2^60) and
 *              fe_add/fe_sub/fe_carry return (< 2^58 + 2^6); every function
 *              accepts it;
 *     mul-in   every limb < 2^61.9: what the _nc ("no carry") helpers return
 *              and only fe_mul/fe_sqr accept (each 128-bit column sums ≤ 17
 *              products counted with their ×2 wraps, 17·2^123.8 < 2^128).
 *   Only fe_canon gives the unique representative < p (for bytes and tests).
 * Points: Jacobian (X, Y, Z) ↔ (X/Z², Y/Z³), infinity has Z = 0. Doubling
 *   is dbl-2001-b (a = −3), addition add-2007-bl (hyperelliptic.org/EFD);
 *   infinity on either side is selected by masks; equal inputs are caught by
 *   masks too, in point_add_full, which every addition whose inputs may be
 *   equal uses (see mul_window for why the others cannot be).
 * Scalar: reduced mod n, recoded into 105 signed 5-bit digits in [−16, 16];
 *   each digit picks |d|·P from a 16-entry table by scanning all of it with
 *   masks, then negates Y by mask. k·G uses a fixed comb table instead (see
 *   mul_comb). No branch and no memory index depends on a secret;
 *   test/01-ct.t checks that under valgrind. */
#include "p521.h"
#include "secret.h"

#include <string.h>

/* The field loops must unroll: at plain -O2 gcc leaves the short ones rolled
 * and the multiply runs at ~0.8 of the speed. Here rather than in the
 * Makefile, so every build of this file (benchmarks too) gets it. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("unroll-loops")
#endif

typedef unsigned __int128 u128;
typedef uint64_t fe[9];

#define LIMBS 9
#define M58 ((UINT64_C(1) << 58) - 1)
#define M57 ((UINT64_C(1) << 57) - 1)

/* Keeps the compiler from proving a mask is 0/1 and turning a select back
 * into a branch. */
static inline uint64_t barrier(uint64_t x)
{
	__asm__("" : "+r"(x));
	return x;
}

/* all-ones when x == 0, else 0 */
static inline uint64_t mask_zero(uint64_t x)
{
	return barrier(((x | (0 - x)) >> 63) - 1);
}

static void fe_copy(fe out, const fe a)
{
	memcpy(out, a, sizeof(fe));
}

static void fe_set_small(fe out, uint64_t v)
{
	memset(out, 0, sizeof(fe));
	out[0] = v;
}

/* out = mask ? a : out; mask is 0 or all-ones */
static void fe_cmov(fe out, const fe a, uint64_t mask)
{
	for (int i = 0; i < LIMBS; i++)
		out[i] ^= mask & (out[i] ^ a[i]);
}

/* Weak reduction. In: limbs < 2^63.5. Out: limbs 1..7 < 2^58, limb 8 <
 * 2^57, limb 0 < 2^58 + 2^7 (the carry out of limb 8 is < 2^7): loose. */
static void fe_carry(fe a)
{
	uint64_t c;

	for (int i = 0; i < LIMBS - 1; i++) {
		c = a[i] >> 58;
		a[i] &= M58;
		a[i + 1] += c;
	}
	c = a[8] >> 57;
	a[8] &= M57;
	a[0] += c;
}

/* loose + loose → mul-in (< 2^61) */
static void fe_add_nc(fe out, const fe a, const fe b)
{
	for (int i = 0; i < LIMBS; i++)
		out[i] = a[i] + b[i];
}

/* loose + loose → loose */
static void fe_add(fe out, const fe a, const fe b)
{
	fe_add_nc(out, a, b);
	fe_carry(out);
}

/* 8p limb by limb: 2^61 − 8 (limb 8: 2^60 − 8) is at least any loose limb
 * (limb 8 of a loose value is < 2^59 + 2^12), so a + 8p − b never
 * underflows. */
static const fe eight_p = {
	8 * M58, 8 * M58, 8 * M58, 8 * M58, 8 * M58, 8 * M58, 8 * M58, 8 * M58, 8 * M57,
};

/* loose − loose → mul-in (< 2^60 + 2^61 < 2^61.6) */
static void fe_sub_nc(fe out, const fe a, const fe b)
{
	for (int i = 0; i < LIMBS; i++)
		out[i] = a[i] + eight_p[i] - b[i];
}

/* loose − loose → loose */
static void fe_sub(fe out, const fe a, const fe b)
{
	fe_sub_nc(out, a, b);
	fe_carry(out);
}

/* loose · s (s ≤ 8, so < 2^63) → loose */
static void fe_mul_small(fe out, const fe a, uint64_t s)
{
	for (int i = 0; i < LIMBS; i++)
		out[i] = a[i] * s;
	fe_carry(out);
}

/* Columns (< 2^128, see the header) to limbs, with no serial carry chain:
 * column k = l + m·2^58 + h·2^116 (l, m < 2^58, h < 2^12) adds l to limb k,
 * m to limb k+1 and h to limb k+2; weight 2^522 and up comes back doubled
 * (2^522 ≡ 2). Out: limb 0 < 2^58 + 2^59 + 2^13, the others < 2^59 + 2^12
 * (limb 8 too): loose. */
static inline __attribute__((always_inline)) void fe_reduce(fe out, const u128 c[LIMBS])
{
	uint64_t l[LIMBS], m[LIMBS], h[LIMBS];

	for (int i = 0; i < LIMBS; i++) {
		l[i] = (uint64_t)c[i] & M58;
		m[i] = (uint64_t)(c[i] >> 58) & M58;
		h[i] = (uint64_t)(c[i] >> 116);
	}
	out[0] = l[0] + 2 * m[8] + 2 * h[7];
	out[1] = l[1] + m[0] + 2 * h[8];
	for (int i = 2; i < LIMBS; i++)
		out[i] = l[i] + m[i - 1] + h[i - 2];
}

/* out = a·b. In: mul-in. Out: loose. Column by column (one 128-bit
 * accumulator live, so nothing spills): column k sums a[i]·b[k−i] and, for
 * the products whose weight reaches 2^522 (i > k), a[i]·2·b[k+9−i]. The
 * branches are on loop indices only and unroll away. */
static void fe_mul(fe out, const fe a, const fe b)
{
	u128 c[LIMBS];
	uint64_t b2[LIMBS];

	for (int j = 0; j < LIMBS; j++)
		b2[j] = b[j] << 1;
#pragma GCC unroll 9
	for (int k = 0; k < LIMBS; k++) {
		u128 acc = 0;
#pragma GCC unroll 9
		for (int i = 0; i < LIMBS; i++) {
			if (i <= k)
				acc += (u128)a[i] * b[k - i];
			else
				acc += (u128)a[i] * b2[k + LIMBS - i];
		}
		c[k] = acc;
	}
	fe_reduce(out, c);
}

/* out = a². In: mul-in (so 4·a[j] < 2^64). Out: loose. Column k takes
 * each cross product a[i]·a[j] (i < j) twice, and twice more when it
 * wraps (i + j = k + 9); squares a[i]² once, doubled when they wrap. */
static void fe_sqr(fe out, const fe a)
{
	u128 c[LIMBS];
	uint64_t a2[LIMBS], a4[LIMBS];

	for (int j = 0; j < LIMBS; j++) {
		a2[j] = a[j] << 1;
		a4[j] = a[j] << 2;
	}
#pragma GCC unroll 9
	for (int k = 0; k < LIMBS; k++) {
		u128 acc = 0;
#pragma GCC unroll 9
		for (int i = 0; i < LIMBS; i++) {
			int j = k - i;			/* i + j = k */
			if (j > i && j < LIMBS)
				acc += (u128)a[i] * a2[j];
			else if (j == i)
				acc += (u128)a[i] * a[i];
			j = k + LIMBS - i;		/* i + j = k + 9 */
			if (j > i && j < LIMBS)
				acc += (u128)a[i] * a4[j];
			else if (j == i)
				acc += (u128)a[i] * a2[i];
		}
		c[k] = acc;
	}
	fe_reduce(out, c);
}

static void fe_sqr_n(fe out, const fe a, int n)
{
	fe_sqr(out, a);
	while (--n > 0)
		fe_sqr(out, out);
}

/* Canonical form: the unique value < p, limbs < 2^58 (limb 8 < 2^57). In:
 * loose. Two weak reductions leave a value < 2^521, i.e. ≤ p; it equals p only
 * when a + 1 carries into bit 521, and then the answer is a + 1 − 2^521. */
static void fe_canon(fe out, const fe a)
{
	fe t;

	fe_copy(out, a);
	fe_carry(out);
	fe_carry(out);
	fe_copy(t, out);
	t[0] += 1;
	for (int i = 0; i < LIMBS - 1; i++) {
		t[i + 1] += t[i] >> 58;
		t[i] &= M58;
	}
	uint64_t is_p = barrier(0 - (t[8] >> 57));
	t[8] &= M57;
	fe_cmov(out, t, is_p);
}

/* all-ones when a ≡ 0 (mod p) */
static uint64_t fe_is_zero(const fe a)
{
	fe t;
	uint64_t acc = 0;

	fe_canon(t, a);
	for (int i = 0; i < LIMBS; i++)
		acc |= t[i];
	return mask_zero(acc);
}

static void fe_neg(fe out, const fe a)
{
	static const fe zero;
	fe_sub(out, zero, a);
}

/* out = a^(p−2) = a^−1 (0 for 0). p − 2 = 4·(2^519 − 1) + 1; e_k below is
 * a^(2^k − 1). 520 squarings, 13 multiplications. */
static void fe_inv(fe out, const fe a)
{
	fe e2, e3, e6, e7, e8, e16, t;

	fe_sqr(t, a);
	fe_mul(e2, t, a);
	fe_sqr(t, e2);
	fe_mul(e3, t, a);
	fe_sqr_n(t, e3, 3);
	fe_mul(e6, t, e3);
	fe_sqr(t, e6);
	fe_mul(e7, t, a);
	fe_sqr(t, e7);
	fe_mul(e8, t, a);
	fe_sqr_n(t, e8, 8);
	fe_mul(e16, t, e8);
	fe_sqr_n(t, e16, 16);
	fe_mul(e16, t, e16);	/* e32 */
	fe_sqr_n(t, e16, 32);
	fe_mul(e16, t, e16);	/* e64 */
	fe_sqr_n(t, e16, 64);
	fe_mul(e16, t, e16);	/* e128 */
	fe_sqr_n(t, e16, 128);
	fe_mul(e16, t, e16);	/* e256 */
	fe_sqr_n(t, e16, 256);
	fe_mul(e16, t, e16);	/* e512 */
	fe_sqr_n(t, e16, 7);
	fe_mul(e16, t, e7);	/* e519 */
	fe_sqr_n(t, e16, 2);
	fe_mul(out, t, a);
	wipe(e2, sizeof(fe));
	wipe(e3, sizeof(fe));
	wipe(e6, sizeof(fe));
	wipe(e7, sizeof(fe));
	wipe(e8, sizeof(fe));
	wipe(e16, sizeof(fe));
	wipe(t, sizeof(fe));
}

/* 66 big-endian bytes (value < 2^522) to limbs */
static void fe_from_bytes(fe out, const unsigned char in[P521_BYTES])
{
	u128 acc = 0;
	int bits = 0, n = 0;

	for (int i = P521_BYTES - 1; i >= 0; i--) {
		acc |= (u128)in[i] << bits;
		bits += 8;
		if (bits >= 58 && n < LIMBS - 1) {
			out[n++] = (uint64_t)acc & M58;
			acc >>= 58;
			bits -= 58;
		}
	}
	out[8] = (uint64_t)acc;
}

/* canonical value to 66 big-endian bytes */
static void fe_to_bytes(unsigned char out[P521_BYTES], const fe a)
{
	fe t;
	u128 acc = 0;
	int bits = 0, n = 0;

	fe_canon(t, a);
	for (int i = P521_BYTES - 1; i >= 0; i--) {
		if (bits < 8 && n < LIMBS) {
			acc |= (u128)t[n++] << bits;
			bits += 58;
		}
		out[i] = (unsigned char)acc;
		acc >>= 8;
		bits -= 8;
	}
	wipe(t, sizeof(t));
}

/* ---- points ---- */

struct jac {
	fe X, Y, Z;
};

static void point_cmov(struct jac *out, const struct jac *a, uint64_t mask)
{
	fe_cmov(out->X, a->X, mask);
	fe_cmov(out->Y, a->Y, mask);
	fe_cmov(out->Z, a->Z, mask);
}

/* dbl-2001-b, a = −3: 3M + 5S. Infinity (Z = 0) stays infinity. In and
 * out: loose coordinates; out may alias p. */
static void point_dbl(struct jac *out, const struct jac *p)
{
	fe delta, gamma, beta, alpha, t, u;

	fe_sqr(delta, p->Z);
	fe_sqr(gamma, p->Y);
	fe_mul(beta, p->X, gamma);
	/* α = 3(X − δ)(X + δ), kept mul-in: it only enters products */
	fe_sub_nc(t, p->X, delta);
	fe_add_nc(u, p->X, delta);
	fe_mul(alpha, t, u);
	for (int i = 0; i < LIMBS; i++)
		alpha[i] *= 3;	/* < 2^61.6 */
	/* Z3 = (Y + Z)² − γ − δ, before X3 overwrites anything out aliases */
	fe_add_nc(t, p->Y, p->Z);
	fe_sqr(t, t);
	fe_sub(t, t, gamma);
	fe_sub(out->Z, t, delta);
	/* X3 = α² − 8β */
	fe_sqr(t, alpha);
	fe_mul_small(u, beta, 8);
	fe_sub(out->X, t, u);
	/* Y3 = α(4β − X3) − 8γ² */
	fe_mul_small(beta, beta, 4);
	fe_sub_nc(beta, beta, out->X);
	fe_mul(t, alpha, beta);
	fe_sqr(gamma, gamma);
	fe_mul_small(gamma, gamma, 8);
	fe_sub(out->Y, t, gamma);
}

/* add-2007-bl: 11M + 5S, for p ≠ q. p_inf and q_inf (all-ones when that
 * side is infinity) select the other side. H and R (H = R = 0 iff p == q,
 * both finite) go to h and r when the caller wants them. Loose in and out;
 * out may alias p or q. */
static void point_add_core(struct jac *out, const struct jac *p, uint64_t p_inf, const struct jac *q,
			   uint64_t q_inf, fe h_out, fe r_out)
{
	fe z1z1, z2z2, u1, u2, s1, s2, h, i, j, r, v, t;
	struct jac res;

	fe_sqr(z1z1, p->Z);
	fe_sqr(z2z2, q->Z);
	fe_mul(u1, p->X, z2z2);
	fe_mul(u2, q->X, z1z1);
	fe_mul(s1, p->Y, q->Z);
	fe_mul(s1, s1, z2z2);
	fe_mul(s2, q->Y, p->Z);
	fe_mul(s2, s2, z1z1);
	fe_sub(h, u2, u1);
	fe_add_nc(i, h, h);
	fe_sqr(i, i);		/* I = (2H)² */
	fe_mul(j, h, i);
	fe_sub(r, s2, s1);
	if (r_out)
		fe_copy(r_out, r);
	fe_add_nc(r, r, r);	/* r = 2(S2 − S1), mul-in */
	fe_mul(v, u1, i);
	/* X3 = r² − J − 2V */
	fe_sqr(t, r);
	fe_sub(t, t, j);
	fe_sub(t, t, v);
	fe_sub(res.X, t, v);
	/* Y3 = r(V − X3) − 2·S1·J */
	fe_sub_nc(t, v, res.X);
	fe_mul(t, r, t);
	fe_mul(s1, s1, j);
	fe_add(s1, s1, s1);
	fe_sub(res.Y, t, s1);
	/* Z3 = ((Z1 + Z2)² − Z1Z1 − Z2Z2)·H */
	fe_add_nc(t, p->Z, q->Z);
	fe_sqr(t, t);
	fe_sub(t, t, z1z1);
	fe_sub_nc(t, t, z2z2);
	fe_mul(res.Z, t, h);
	if (h_out)
		fe_copy(h_out, h);

	point_cmov(&res, q, p_inf);
	point_cmov(&res, p, q_inf);
	*out = res;
}

/* p + q where p ≠ ±q is known and so is which side is infinity (see
 * mul_window) */
static void point_add(struct jac *out, const struct jac *p, uint64_t p_inf, const struct jac *q, uint64_t q_inf)
{
	point_add_core(out, p, p_inf, q, q_inf, NULL, NULL);
}

/* madd-2007-bl, p + q for q with Z = 1 (affine): 7M + 4S. As point_add:
 * p ≠ ±q is known, and so is which side is infinity. Loose in and out; out
 * may alias p. */
static void point_add_affine(struct jac *out, const struct jac *p, uint64_t p_inf, const struct jac *q,
			     uint64_t q_inf)
{
	fe z1z1, u2, s2, h, hh, i, j, r, v, t;
	struct jac res;

	fe_sqr(z1z1, p->Z);
	fe_mul(u2, q->X, z1z1);
	fe_mul(s2, q->Y, p->Z);
	fe_mul(s2, s2, z1z1);
	fe_sub(h, u2, p->X);
	fe_sqr(hh, h);
	fe_mul_small(i, hh, 4);
	fe_mul(j, h, i);
	fe_sub(r, s2, p->Y);
	fe_add_nc(r, r, r);	/* r = 2(S2 − Y1), mul-in */
	fe_mul(v, p->X, i);
	/* X3 = r² − J − 2V */
	fe_sqr(t, r);
	fe_sub(t, t, j);
	fe_sub(t, t, v);
	fe_sub(res.X, t, v);
	/* Y3 = r(V − X3) − 2·Y1·J */
	fe_sub_nc(t, v, res.X);
	fe_mul(t, r, t);
	fe_mul(j, p->Y, j);
	fe_add(j, j, j);
	fe_sub(res.Y, t, j);
	/* Z3 = (Z1 + H)² − Z1Z1 − HH */
	fe_add_nc(t, p->Z, h);
	fe_sqr(t, t);
	fe_sub(t, t, z1z1);
	fe_sub(res.Z, t, hh);

	point_cmov(&res, q, p_inf);
	point_cmov(&res, p, q_inf);
	*out = res;
}

/* Complete addition: also right when p == q, at the price of one doubling. */
static void point_add_full(struct jac *out, const struct jac *p, const struct jac *q)
{
	struct jac d;
	fe h, r;
	uint64_t p_inf = fe_is_zero(p->Z), q_inf = fe_is_zero(q->Z);

	point_dbl(&d, p);
	point_add_core(out, p, p_inf, q, q_inf, h, r);
	point_cmov(out, &d, fe_is_zero(h) & fe_is_zero(r) & ~p_inf & ~q_inf);
}

static void point_from_bytes(struct jac *out, const unsigned char in[P521_POINT_BYTES])
{
	fe_from_bytes(out->X, in);
	fe_from_bytes(out->Y, in + P521_BYTES);
	fe_set_small(out->Z, 1);
}

/* Affine bytes of p; all-ones (and zero bytes) when p is infinity. */
static uint64_t point_to_bytes(unsigned char out[P521_POINT_BYTES], const struct jac *p)
{
	fe zi, zi2, x, y;

	fe_inv(zi, p->Z);
	fe_sqr(zi2, zi);
	fe_mul(x, p->X, zi2);
	fe_mul(zi2, zi2, zi);
	fe_mul(y, p->Y, zi2);
	fe_to_bytes(out, x);
	fe_to_bytes(out + P521_BYTES, y);
	return fe_is_zero(p->Z);
}

/* ---- scalars ---- */

/* n, the order of G, in 64-bit limbs, least significant first */
static const uint64_t order[LIMBS] = {
	0xbb6fb71e91386409, 0x3bb5c9b8899c47ae, 0x7fcc0148f709a5d0, 0x51868783bf2f966b,
	0xfffffffffffffffa, 0xffffffffffffffff, 0xffffffffffffffff, 0xffffffffffffffff,
	0x00000000000001ff,
};

/* k = k − (n << s) when that is ≥ 0, in constant time */
static void sc_cond_sub_shifted(uint64_t k[LIMBS], int s)
{
	uint64_t t[LIMBS], borrow = 0, prev = 0;

	for (int i = 0; i < LIMBS; i++) {
		uint64_t ns = (order[i] << s) | (s ? prev >> (64 - s) : 0);
		prev = order[i];
		u128 d = (u128)k[i] - ns - borrow;
		t[i] = (uint64_t)d;
		borrow = (uint64_t)(d >> 64) & 1;
	}
	/* n << 7 < 2^528 fits, so no bits shift out of limb 8 */
	uint64_t keep = barrier(0 - borrow);	/* borrow: k < n << s */
	for (int i = 0; i < LIMBS; i++)
		k[i] = (k[i] & keep) | (t[i] & ~keep);
	wipe(t, sizeof(t));
}

/* 66 big-endian bytes (< 2^528 < 2^8·n) → k mod n, by restoring division:
 * before step s, k < 2^(s+1)·n. */
static void sc_from_bytes(uint64_t k[LIMBS + 1], const unsigned char in[P521_BYTES])
{
	memset(k, 0, (LIMBS + 1) * sizeof(uint64_t));
	for (int i = 0; i < P521_BYTES; i++)
		k[i / 8] |= (uint64_t)in[P521_BYTES - 1 - i] << (8 * (i % 8));
	for (int s = 7; s >= 0; s--)
		sc_cond_sub_shifted(k, s);
}

#define WINDOW 5
#define DIGITS 105	/* ⌈521 / 5⌉ windows; the top one holds ≤ 2 bits + carry */
#define TABLE 16	/* 1·P .. 16·P */

/* Booth recoding: digit i = k[5i−1] + Σ_{j<4} 2^j·k[5i+j] − 16·k[5i+4],
 * in [−16, 16]; Σ digit_i·32^i = k. Out: |digit| and a sign mask. Bit
 * positions are public; only the values are secret. */
static void sc_recode(uint8_t abs_d[DIGITS], uint8_t neg_d[DIGITS], const uint64_t k[LIMBS + 1])
{
	for (int i = 0; i < DIGITS; i++) {
		int pos = WINDOW * i - 1;	/* the 6-bit window starts one bit lower */
		uint64_t w;
		if (pos < 0) {
			w = (k[0] << 1) & 63;
		} else {
			int l = pos / 64, b = pos % 64;
			w = k[l] >> b;
			if (b > 58)
				w |= k[l + 1] << (64 - b);
			w &= 63;
		}
		int64_t d = (int64_t)((w & 1) + ((w >> 1) & 15)) - (int64_t)(16 * (w >> 5));
		uint64_t sign = barrier((uint64_t)(d >> 63));	/* all-ones if d < 0 */
		abs_d[i] = (uint8_t)(((uint64_t)d ^ sign) - sign);
		neg_d[i] = (uint8_t)(sign & 1);
	}
}

/* out = |d|·P from tab[j] = (j+1)·P, negated when neg; infinity for d = 0.
 * Reads every entry, two limbs at a time (a vector type: SSE2 on x86-64,
 * NEON on arm64; the scan is a tenth of the multiply in scalar code). */
typedef uint64_t v2u64 __attribute__((vector_size(16)));
#define JAC_WORDS (sizeof(struct jac) / sizeof(uint64_t))	/* 27 */
#define SCAN_VECS (JAC_WORDS / 2)				/* + 1 word */

static void table_select(struct jac *out, const struct jac tab[TABLE], uint8_t abs_d, uint8_t neg)
{
	v2u64 acc[SCAN_VECS] = { 0 }, e;
	uint64_t last = 0, w;
	fe ny;

	for (uint64_t j = 0; j < TABLE; j++) {
		/* the barrier on the index stops gcc from strength-reducing
		 * j + 1 − |d| into a loop counter whose exit test depends on |d| */
		uint64_t m = mask_zero(barrier(j + 1) ^ abs_d);
		v2u64 mv = { m, m };
		const char *src = (const char *)&tab[j];
		for (size_t l = 0; l < SCAN_VECS; l++) {
			memcpy(&e, src + l * sizeof(e), sizeof(e));
			acc[l] |= e & mv;
		}
		memcpy(&w, src + SCAN_VECS * sizeof(e), sizeof(w));
		last |= w & m;
	}
	memcpy(out, acc, sizeof(acc));
	memcpy((char *)out + sizeof(acc), &last, sizeof(last));
	/* d = 0 selected nothing: make it (1, 1, 0), infinity */
	uint64_t none = mask_zero(abs_d);
	out->X[0] |= none & 1;
	out->Y[0] |= none & 1;
	fe_neg(ny, out->Y);
	fe_cmov(out->Y, ny, barrier(0 - (uint64_t)neg));
	wipe(acc, sizeof(acc));
}

_Static_assert(sizeof(struct jac) == JAC_WORDS * sizeof(uint64_t) && JAC_WORDS == 2 * SCAN_VECS + 1,
	       "table_select scans struct jac as vectors plus one word");

/* out = k·P for a valid affine P.
 * Why only the last addition can see equal points: before adding digit i the
 * accumulator is 32·K·P with K = ⌊k / 32^(i+1)⌋ + (a bit) ≥ 0, so for i ≥ 1,
 * 0 ≤ 32·K < n/32 + 32 and |digit| ≤ 16: 32·K ≡ ±digit (mod n) forces K = 0,
 * i.e. an accumulator at infinity, which the masks handle. The table entries
 * (j+1)·P, j < 16, are never equal or opposite either, and none is infinity:
 * n is prime and far larger than 16. So which side of an addition is
 * infinity is known from the digits alone; only the last addition is
 * complete (point_add_full). */
static uint64_t mul_window(unsigned char out[P521_POINT_BYTES], const unsigned char scalar[P521_BYTES],
			   const struct jac *P)
{
	struct jac tab[TABLE], acc, q;
	uint64_t k[LIMBS + 1], inf;
	uint8_t abs_d[DIGITS], neg_d[DIGITS];

	tab[0] = *P;
	for (int j = 1; j < TABLE; j++) {
		if (j & 1)	/* (j+1)·P = 2·((j+1)/2·P) */
			point_dbl(&tab[j], &tab[j / 2]);
		else		/* (j+1)·P = j·P + P */
			point_add(&tab[j], &tab[j - 1], 0, &tab[0], 0);
	}
	sc_from_bytes(k, scalar);
	sc_recode(abs_d, neg_d, k);

	/* acc is infinity exactly while every digit so far is 0 */
	table_select(&acc, tab, abs_d[DIGITS - 1], neg_d[DIGITS - 1]);
	uint64_t acc_inf = mask_zero(abs_d[DIGITS - 1]);
	for (int i = DIGITS - 2; i >= 0; i--) {
		for (int w = 0; w < WINDOW; w++)
			point_dbl(&acc, &acc);
		table_select(&q, tab, abs_d[i], neg_d[i]);
		uint64_t q_inf = mask_zero(abs_d[i]);
		if (i > 0)
			point_add(&acc, &acc, acc_inf, &q, q_inf);
		else
			point_add_full(&acc, &acc, &q);
		acc_inf &= q_inf;
	}
	inf = point_to_bytes(out, &acc);

	wipe(tab, sizeof(tab));
	wipe(&acc, sizeof(acc));
	wipe(&q, sizeof(q));
	wipe(k, sizeof(k));
	wipe(abs_d, sizeof(abs_d));
	wipe(neg_d, sizeof(neg_d));
	return inf;
}

static int result(uint64_t inf)
{
	/* the value is only whether the result is infinity, which the caller
	 * learns anyway */
	return -(int)(inf & 1);
}

int p521_mul(unsigned char out[P521_POINT_BYTES], const unsigned char k[P521_BYTES],
	     const unsigned char P[P521_POINT_BYTES])
{
	struct jac p;

	point_from_bytes(&p, P);
	return result(mul_window(out, k, &p));
}

/* ---- k·G: a comb with 4 teeth 131 bits apart ----
 * k's bits k[i], k[i+131], k[i+262], k[i+393] (i = 130 … 0) form a 4-bit
 * digit d; each step doubles once and adds comb[d] = Σ d_t·2^(131t)·G:
 * 131 doublings and 131 mixed additions instead of 520 doublings and 105
 * additions, about 2.3× faster.
 * No step meets equal or opposite points: after step i the accumulator is
 * P_i·G with P_i = Σ_t ⌊k_t / 2^i⌋·2^(131t) ≤ k < n (k_t: chunk t of k),
 * so 2·P_(i+1) ≡ ±comb[d] (mod n) needs 2·P_(i+1) = comb[d]'s scalar
 * (both < n) or P_i = 0; comparing base-2^131 digits (even against 0/1)
 * leaves only 0 = 0, i.e. infinity on both sides, which the masks handle.
 * The table (affine, canonical limbs) was computed with Python integers
 * (affine double-and-add over the curve equation); test/unit_p521 checks
 * p521_mul_base against Mbed TLS on random scalars, which reach every entry. */
#define COMB_TEETH 4
#define COMB_SPACING 131	/* ⌈521 / 4⌉ */

static const struct {
	fe x, y;
} comb[15] = {
	/* 1: G */
	{ { 0x17e7e31c2e5bd66, 0x22cf0615a90a6fe, 0x0127a2ffa8de334, 0x1dfbf9d64a3f877, 0x06b4d3dbaa14b5e,
	    0x14fed487e0a2bd8, 0x15b4429c6481390, 0x3a73678fb2d988e, 0x0c6858e06b70404 },
	  { 0x0be94769fd16650, 0x31c21a89cb09022, 0x39013fad0761353, 0x2657bd099031542, 0x3273e662c97ee72,
	    0x1e6d11a05ebef45, 0x3d1bd998f544495, 0x3001172297ed0b1, 0x11839296a789a3b } },
	/* 2: 2^131·G */
	{ { 0x036eb9b66fd07ca, 0x14b305adfed2404, 0x173ed3e0c2706ca, 0x2fdcf64b44544ba, 0x0a4005eea889980,
	    0x33ad0c4ce2d33f9, 0x2f7c23b6f992cc8, 0x24f2f42b0be35b6, 0x0c21ccfbf17e32a },
	  { 0x3d9d6f12f508cca, 0x35c5c56569cabde, 0x297697512873e82, 0x22e33ce7ef09740, 0x39a1237f4efc1de,
	    0x13662d74979addf, 0x0b07fe9f3b73e7d, 0x1433f87f698afb3, 0x014db813b036253 } },
	/* 3: G + 2^131·G */
	{ { 0x15a1c9b9b27bd61, 0x089d4d81a153590, 0x1ef492e73538745, 0x21605f9e9b678cc, 0x349ac273b0b3dba,
	    0x32d505fd5712f54, 0x208d38ad42c78df, 0x053314a2662e64b, 0x0c114c2fff6cc19 },
	  { 0x1b26fb0767e9645, 0x2d44bf17969964d, 0x3696cc47fbb8162, 0x19428a69a6e9b80, 0x1d56bdf5d732db0,
	    0x172163641629d3b, 0x03373d4b7b60a02, 0x042d05fe29b52f5, 0x11f7b968f51edf6 } },
	/* 4: 2^262·G */
	{ { 0x356b5a41bc0fa77, 0x35aed593f4dbd57, 0x28b58a5b7c7f6cd, 0x2fc26467be742b1, 0x371c3c5204a92d9,
	    0x2da66bbb0c1784a, 0x354643554a9d1cd, 0x05739ff7801dd87, 0x03999c131244791 },
	  { 0x1f890e1c271ac2d, 0x0f334e52cdc2b09, 0x2df6744d4011135, 0x21ef8de049f1ed6, 0x006c4e3cd9ccd76,
	    0x015417e6a1226d7, 0x33b12b1945580a3, 0x3a9341c6428812a, 0x1590ff53eb11534 } },
	/* 5: G + 2^262·G */
	{ { 0x37d4edd91798548, 0x31ec940c7595ea1, 0x3671fab18a04c43, 0x3cbd9c2d1d91d80, 0x1b02fcc037e39e7,
	    0x1dfd1bd7dedd90c, 0x0b0c617c5662f38, 0x38c896fe0c9f872, 0x1aee9cdb3534a8b },
	  { 0x2d7092e9d264420, 0x1c0d494cffcf6e8, 0x232b99b5b52e1f9, 0x1ae143d17a4c774, 0x3c30118498a9ce1,
	    0x23a4c0780726408, 0x15f64c4bc30989c, 0x3ca25de9379c336, 0x0d7bc8797bb1026 } },
	/* 6: 2^131·G + 2^262·G */
	{ { 0x0ea09342be9edf8, 0x3cc4cbf2e606666, 0x093dfaf83aeb6c2, 0x2ef1cff683fd5e6, 0x37a0b9d1c858e87,
	    0x07b9a2c74f02cfe, 0x2a6f1621fe63057, 0x097b56fe3c07d9a, 0x0d130934c99bca8 },
	  { 0x0309850913022f2, 0x0cdb27796e033b9, 0x16898b6130effdc, 0x0169d634bd2dc5b, 0x0aa5cbc1c8a58b4,
	    0x04b382ee621e77e, 0x02ff3c847cfd06c, 0x1a56e84018d8230, 0x136836e906a3438 } },
	/* 7: G + 2^131·G + 2^262·G */
	{ { 0x08fe351259ce02d, 0x1b68336b9783deb, 0x2e98f043421da50, 0x31e8591d241ded5, 0x19cb90101e0d041,
	    0x28f9cb9b907c1e2, 0x214df029bbf572d, 0x3d74dad8d711c12, 0x1dd56873f58e81e },
	  { 0x3abe79e5cf9e33f, 0x2ad60428445ff5d, 0x33b1cbac2fe191a, 0x05f5c844edc47b7, 0x006b74002ef43e0,
	    0x3ef4ec6be6b5a17, 0x373a827e6370ce8, 0x12a6d5437542d0b, 0x1f28f2146bec5e6 } },
	/* 8: 2^393·G */
	{ { 0x1a704cc2934ed82, 0x0227ee627b76301, 0x39d40ce7c62d647, 0x29841697bff82c8, 0x3d5ed6b044c892e,
	    0x027b5e529464e57, 0x0ce5c4806c70035, 0x3daa620ba621b9c, 0x08850730ca1ff01 },
	  { 0x0a78a16dbcc5484, 0x2c1e33f5152d424, 0x0252cb09e525c1a, 0x14f866cbb5dbd22, 0x1a67bf59cdd663f,
	    0x1aeddc285ac4368, 0x3b2bceb47f6b953, 0x14fe1af7210a1dd, 0x017cd02ae3d5615 } },
	/* 9: G + 2^393·G */
	{ { 0x23633a01579d15a, 0x3c308cfa63347c7, 0x1dcac60f4f99574, 0x24d27ee7c91165a, 0x3d378f64010062c,
	    0x1f5230bf4a68a75, 0x3bea5cec941760d, 0x27affc1647164c7, 0x063d6173e6bb40f },
	  { 0x20f4f395a984a72, 0x3e0b38c9443c988, 0x0c768c069a1d9a3, 0x245a688795fcf41, 0x3dc4db601f1d6d8,
	    0x1373cf81ae5acc2, 0x0aaff371eeb7286, 0x19b91be03120f1f, 0x0b045533092571b } },
	/* 10: 2^131·G + 2^393·G */
	{ { 0x1ae452187140dad, 0x0c0cad5f8a00f92, 0x25eb026ea20ada7, 0x2c1b802bee44fd7, 0x37a1504742d54c4,
	    0x0fc69f690e4ee4a, 0x35867ab5b41bf81, 0x29345b5e1a41c0a, 0x1b35193a9acaf2e },
	  { 0x21563f7a6b186cb, 0x1c29138a395ed8a, 0x3c6d78fc8a1d73a, 0x2077cf5b6675f13, 0x11e373aab4c9b45,
	    0x244d2639513d492, 0x300f4ce99434a2e, 0x09d98c0565d2711, 0x1d0b8ef02cce514 } },
	/* 11: G + 2^131·G + 2^393·G */
	{ { 0x19805a6b9e6ffc9, 0x15fc17dd365defa, 0x2f315c9941bc1a3, 0x32b2fa10b9f2377, 0x3a20dc12d4b6d66,
	    0x3c300bf21387dd7, 0x3b493d8b1b2c505, 0x14118fe8622780d, 0x1c2720bd9e09570 },
	  { 0x21f337893ab9309, 0x28c28889aa3e506, 0x252d4045f1bde05, 0x356ad7d4454b006, 0x10c05fecff42e8f,
	    0x3419434e5534742, 0x06080147e964d18, 0x2d2bda19be974f2, 0x12cac2fecbf5abb } },
	/* 12: 2^262·G + 2^393·G */
	{ { 0x06dc3d2e5537747, 0x38037c7d7e7d1a1, 0x36243f31e42de28, 0x1fc95abc894106b, 0x2ff4f9550494894,
	    0x12ed68f8e25b186, 0x2afacccb40c7733, 0x3a0fae6fb2c1fb3, 0x1aafe29f0494d45 },
	  { 0x3fb71b36b5578db, 0x1fc45429c4149a0, 0x09465f220d77301, 0x01d211979a0627b, 0x170e0cbeaba87ae,
	    0x2cae9f147691d35, 0x1fb7e2b92cb0a62, 0x32c60d72cd5b62c, 0x00f1155296a2cc8 } },
	/* 13: G + 2^262·G + 2^393·G */
	{ { 0x39c9d9b6ed0f604, 0x390fa72d271b5df, 0x1d67ae9be5ca765, 0x22d016bb4d80f13, 0x2920ccddb548088,
	    0x0fc31f30e9a7aec, 0x09b02644ec05730, 0x2685c563890df3a, 0x03a867950294f17 },
	  { 0x38540329f193dd9, 0x3901a3730562a7d, 0x31bf3642b1a5531, 0x03f0794ea8ddd05, 0x3fd87478d12b492,
	    0x1f2e9f2b4717ed4, 0x26f2c748958c58a, 0x266f4dd6cb2c8fd, 0x1b81b510d0f5988 } },
	/* 14: 2^131·G + 2^262·G + 2^393·G */
	{ { 0x296299d52007e41, 0x0502d735c23737f, 0x0eedf655f6fa997, 0x177562e0e77a4a5, 0x1b6f77cdb7701d4,
	    0x1695cbc176f7d6b, 0x115e7b265189f49, 0x1782f0589e53acd, 0x168bfb571e07265 },
	  { 0x0d2b863bda82a6b, 0x16ca0ce42a731fc, 0x195a700fcd7b3df, 0x2bfe939b01aeae6, 0x376a392d4c01ef0,
	    0x154e4bc042a6144, 0x3a8550a7e3fc729, 0x262a238f004a075, 0x10fcbca551a3618 } },
	/* 15: G + 2^131·G + 2^262·G + 2^393·G */
	{ { 0x0a4cd403ab71115, 0x0c5c36f2e6d56f2, 0x0f6aabd9b426b78, 0x1914ddedc506f88, 0x06b358bbf32d2ea,
	    0x3880884768d0920, 0x27c499782bc8006, 0x0737be025d312a8, 0x04ec2e66fa95034 },
	  { 0x02cb95b24ae60c3, 0x202bd20eb5d2102, 0x39ce6205256bd4b, 0x17ab87f818e12dc, 0x0342f218f616f50,
	    0x1280461bbc53a9a, 0x058bce2b17d66c6, 0x0401583a2273942, 0x1e1db046c59d588 } },
};

_Static_assert(sizeof(comb[0]) == LIMBS * sizeof(v2u64), "comb_select scans an entry as 9 vectors");

/* out = comb[d − 1] (Z = 1), or infinity for d = 0, reading every entry */
static void comb_select(struct jac *out, unsigned d)
{
	v2u64 acc[LIMBS] = { 0 }, e;

	for (uint64_t j = 0; j < 15; j++) {
		uint64_t m = mask_zero(barrier(j + 1) ^ d);
		v2u64 mv = { m, m };
		const char *src = (const char *)&comb[j];
		for (size_t l = 0; l < LIMBS; l++) {	/* x and y: 18 words */
			memcpy(&e, src + l * sizeof(e), sizeof(e));
			acc[l] |= e & mv;
		}
	}
	memcpy(out->X, acc, sizeof(fe));
	memcpy(out->Y, (char *)acc + sizeof(fe), sizeof(fe));
	fe_set_small(out->Z, 1 & ~mask_zero(d));
	wipe(acc, sizeof(acc));
}

static uint64_t mul_comb(unsigned char out[P521_POINT_BYTES], const unsigned char scalar[P521_BYTES])
{
	struct jac acc, q;
	uint64_t k[LIMBS + 1], inf, acc_inf = ~UINT64_C(0);

	sc_from_bytes(k, scalar);
	memset(&acc, 0, sizeof(acc));
	for (int i = COMB_SPACING - 1; i >= 0; i--) {
		unsigned d = 0;
		for (int t = 0; t < COMB_TEETH; t++) {
			int pos = i + COMB_SPACING * t;	/* public; bits ≥ 521 are 0 */
			d |= (unsigned)((k[pos / 64] >> (pos % 64)) & 1) << t;
		}
		point_dbl(&acc, &acc);
		comb_select(&q, d);
		uint64_t q_inf = mask_zero(d);
		point_add_affine(&acc, &acc, acc_inf, &q, q_inf);
		acc_inf &= q_inf;
	}
	inf = point_to_bytes(out, &acc);
	wipe(&acc, sizeof(acc));
	wipe(&q, sizeof(q));
	wipe(k, sizeof(k));
	return inf;
}

int p521_mul_base(unsigned char out[P521_POINT_BYTES], const unsigned char k[P521_BYTES])
{
	return result(mul_comb(out, k));
}

int p521_add(unsigned char out[P521_POINT_BYTES], const unsigned char A[P521_POINT_BYTES],
	     const unsigned char B[P521_POINT_BYTES])
{
	struct jac a, b, s;
	uint64_t inf;

	point_from_bytes(&a, A);
	point_from_bytes(&b, B);
	point_add_full(&s, &a, &b);
	inf = point_to_bytes(out, &s);
	wipe(&a, sizeof(a));
	wipe(&b, sizeof(b));
	wipe(&s, sizeof(s));
	return result(inf);
}

void p521_field_op_for_test(uint64_t out[9], char op, const uint64_t a[9], const uint64_t b[9])
{
	fe r;

	switch (op) {
	case '+': fe_add(r, a, b); break;
	case '-': fe_sub(r, a, b); break;
	case '*': fe_mul(r, a, b); break;
	case 's': fe_sqr(r, a); break;
	case 'i': fe_inv(r, a); break;
	case 'n': fe_neg(r, a); break;
	default: fe_set_small(r, 0); break;
	}
	fe_canon(out, r);
}
