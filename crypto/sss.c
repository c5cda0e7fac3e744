/* sss.c - Shamir secret sharing mod a safe prime (see sss.h). */
#include "sss.h"
#include "ec_internal.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <mbedtls/bignum.h>

/* Mbed TLS return codes collapse into one failure: callers only report it. */
#define TRY(call) do { if ((call) != 0) goto out; } while (0)

static void free_mpis(mbedtls_mpi *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mbedtls_mpi_free(v + i);	/* zeroizes the limbs */
}

/* Safe primes p = 2q+1 (q prime too), as OpenSSL makes them for clevis.
 * mbedtls_mpi_gen_prime(MBEDTLS_MPI_GEN_PRIME_FLAG_DH) takes seconds for 256
 * bits because it divides each candidate pair by its small primes with
 * bignum arithmetic; sieving a whole run of candidates with word-size
 * residues first, as OpenSSL does, brings that to tens of milliseconds. */
#define SIEVE_LIMIT 17864	/* small primes below this: the first 2048 odd ones */
#define SIEVE_SPAN (1u << 16)	/* q, q+2, ... q+SIEVE_SPAN-2 from one random start */
#define MR_ROUNDS 40

static size_t small_primes(unsigned *out, size_t max)
{
	unsigned char *composite = calloc(SIEVE_LIMIT, 1);
	size_t n = 0;

	if (!composite)
		return 0;
	for (unsigned i = 3; i < SIEVE_LIMIT && n < max; i += 2) {
		if (composite[i])
			continue;
		out[n++] = i;
		for (unsigned j = i * i; j < SIEVE_LIMIT; j += 2 * i)
			composite[j] = 1;
	}
	free(composite);
	return n;
}

/* Neither q+delta nor 2(q+delta)+1 has a small factor (q ≡ rq[i] mod s[i]). */
static bool survives_sieve(const unsigned *s, const unsigned *rq, size_t n, unsigned delta)
{
	for (size_t i = 0; i < n; i++) {
		unsigned r = (rq[i] + delta) % s[i];
		if (r == 0 || (2 * r + 1) % s[i] == 0)
			return false;
	}
	return true;
}

/* Full checks of a candidate that passed the sieve; 0 when p = 2q+1 is a safe prime. */
static int check_pair(const mbedtls_mpi *q, mbedtls_mpi *p)
{
	if (mbedtls_mpi_lset(p, 1) || mbedtls_mpi_add_mpi(p, p, q) || mbedtls_mpi_add_mpi(p, p, q))
		return -1;
	/* one cheap round on p first: most survivors of the sieve fail here */
	if (mbedtls_mpi_is_prime_ext(p, 1, ec_rng, NULL) || mbedtls_mpi_is_prime_ext(q, MR_ROUNDS, ec_rng, NULL) ||
	    mbedtls_mpi_is_prime_ext(p, MR_ROUNDS, ec_rng, NULL))
		return -1;
	return 0;
}

static int gen_safe_prime(mbedtls_mpi *p)
{
	static const size_t nprimes_max = 2048;
	unsigned *s = calloc(nprimes_max, sizeof(*s)), *rq = calloc(nprimes_max, sizeof(*rq));
	size_t n;
	mbedtls_mpi q, cand;
	int r = -1;

	mbedtls_mpi_init(&q), mbedtls_mpi_init(&cand);
	if (!s || !rq)
		goto out;
	if (!(n = small_primes(s, nprimes_max)))
		goto out;
	for (;;) {
		/* q odd in [2^254, 2^255 - SIEVE_SPAN), so p = 2q+1 has exactly 256 bits */
		TRY(mbedtls_mpi_fill_random(&q, SSS_PRIME_LEN, ec_rng, NULL));
		TRY(mbedtls_mpi_set_bit(&q, 8 * SSS_PRIME_LEN - 1, 0));
		TRY(mbedtls_mpi_set_bit(&q, 8 * SSS_PRIME_LEN - 2, 1));
		TRY(mbedtls_mpi_set_bit(&q, 8 * SSS_PRIME_LEN - 3, 0));
		TRY(mbedtls_mpi_set_bit(&q, 0, 1));
		for (size_t i = 0; i < n; i++) {
			mbedtls_mpi_uint m;
			TRY(mbedtls_mpi_mod_int(&m, &q, (mbedtls_mpi_sint)s[i]));
			rq[i] = (unsigned)m;
		}
		for (unsigned delta = 0; delta < SIEVE_SPAN; delta += 2) {
			if (!survives_sieve(s, rq, n, delta))
				continue;
			TRY(mbedtls_mpi_add_int(&cand, &q, (mbedtls_mpi_sint)delta));
			if (check_pair(&cand, p) == 0) {
				r = 0;
				goto out;
			}
		}
	}
out:
	mbedtls_mpi_free(&q), mbedtls_mpi_free(&cand);
	free(s), free(rq);
	return r;
}

/* y = Σ coef[i]·x^i mod p, by Horner's rule. */
static int eval_poly(const mbedtls_mpi *coef, size_t t, const mbedtls_mpi *x, const mbedtls_mpi *p,
		     mbedtls_mpi *y)
{
	mbedtls_mpi tmp;
	int r = -1;

	mbedtls_mpi_init(&tmp);
	TRY(mbedtls_mpi_copy(y, &coef[t - 1]));
	for (size_t i = t - 1; i-- > 0;) {
		TRY(mbedtls_mpi_mul_mpi(&tmp, y, x));
		TRY(mbedtls_mpi_add_mpi(&tmp, &tmp, &coef[i]));
		TRY(mbedtls_mpi_mod_mpi(y, &tmp, p));
	}
	r = 0;
out:
	mbedtls_mpi_free(&tmp);
	return r;
}

static int make_shares(const mbedtls_mpi *coef, size_t t, size_t n, const mbedtls_mpi *p, unsigned char *shares)
{
	mbedtls_mpi x, y;
	int r = -1;

	mbedtls_mpi_init(&x);
	mbedtls_mpi_init(&y);
	for (size_t i = 0; i < n; i++) {
		unsigned char *s = shares + i * SSS_SHARE_LEN;
		/* x = 0 would hand out the secret itself, so x is drawn from [1, p) */
		TRY(mbedtls_mpi_random(&x, 1, p, ec_rng, NULL));
		TRY(eval_poly(coef, t, &x, p, &y));
		TRY(mbedtls_mpi_write_binary(&x, s, SSS_PRIME_LEN));
		TRY(mbedtls_mpi_write_binary(&y, s + SSS_PRIME_LEN, SSS_PRIME_LEN));
	}
	r = 0;
out:
	mbedtls_mpi_free(&x);
	mbedtls_mpi_free(&y);
	return r;
}

int sss_split(size_t t, size_t n, unsigned char prime[SSS_PRIME_LEN],
	      unsigned char secret[SSS_PRIME_LEN], unsigned char *shares, const char **err)
{
	mbedtls_mpi p, *coef = NULL;
	int r = -1;

	*err = "secret sharing failed";
	if (t < 1 || t > n)
		return -1;
	if (!(coef = calloc(t, sizeof(*coef))))
		return -1;
	mbedtls_mpi_init(&p);
	for (size_t i = 0; i < t; i++)
		mbedtls_mpi_init(&coef[i]);
	TRY(gen_safe_prime(&p));
	for (size_t i = 0; i < t; i++)
		TRY(mbedtls_mpi_random(&coef[i], 0, &p, ec_rng, NULL));
	TRY(make_shares(coef, t, n, &p, shares));
	TRY(mbedtls_mpi_write_binary(&p, prime, SSS_PRIME_LEN));
	TRY(mbedtls_mpi_write_binary(&coef[0], secret, SSS_PRIME_LEN));
	r = 0;
out:
	free_mpis(coef, t);
	free(coef);
	mbedtls_mpi_free(&p);
	return r;
}

/* term = y_i · Π_{j≠i} x_j / (x_j − x_i) mod p */
static int lagrange_term(const mbedtls_mpi *x, const mbedtls_mpi *y, size_t t, size_t i,
			 const mbedtls_mpi *p, mbedtls_mpi *term)
{
	mbedtls_mpi num, den, diff, inv;
	int r = -1;

	mbedtls_mpi_init(&num), mbedtls_mpi_init(&den), mbedtls_mpi_init(&diff), mbedtls_mpi_init(&inv);
	TRY(mbedtls_mpi_lset(&num, 1));
	TRY(mbedtls_mpi_lset(&den, 1));
	for (size_t j = 0; j < t; j++) {
		if (j == i)
			continue;
		TRY(mbedtls_mpi_mul_mpi(&num, &num, &x[j]));
		TRY(mbedtls_mpi_mod_mpi(&num, &num, p));
		TRY(mbedtls_mpi_sub_mpi(&diff, &x[j], &x[i]));
		TRY(mbedtls_mpi_mul_mpi(&den, &den, &diff));
		TRY(mbedtls_mpi_mod_mpi(&den, &den, p));
	}
	TRY(mbedtls_mpi_inv_mod(&inv, &den, p));	/* fails when two x are equal */
	TRY(mbedtls_mpi_mul_mpi(term, &num, &inv));
	TRY(mbedtls_mpi_mul_mpi(term, term, &y[i]));
	TRY(mbedtls_mpi_mod_mpi(term, term, p));
	r = 0;
out:
	mbedtls_mpi_free(&num), mbedtls_mpi_free(&den), mbedtls_mpi_free(&diff), mbedtls_mpi_free(&inv);
	return r;
}

static int read_shares(const unsigned char *shares, size_t plen, size_t t, const mbedtls_mpi *p,
		       mbedtls_mpi *x, mbedtls_mpi *y)
{
	for (size_t i = 0; i < t; i++) {
		const unsigned char *s = shares + i * 2 * plen;
		if (mbedtls_mpi_read_binary(&x[i], s, plen) || mbedtls_mpi_read_binary(&y[i], s + plen, plen) ||
		    mbedtls_mpi_cmp_mpi(&x[i], p) >= 0 || mbedtls_mpi_cmp_mpi(&y[i], p) >= 0)
			return -1;
	}
	return 0;
}

int sss_combine(const unsigned char *prime, size_t plen, const unsigned char *shares, size_t t,
		unsigned char *secret, const char **err)
{
	mbedtls_mpi p, sum, term, *x = calloc(t ? t : 1, sizeof(*x)), *y = calloc(t ? t : 1, sizeof(*y));
	int r = -1;

	*err = "invalid secret shares";
	mbedtls_mpi_init(&p), mbedtls_mpi_init(&sum), mbedtls_mpi_init(&term);
	if (!x || !y || t < 1)
		goto out;
	for (size_t i = 0; i < t; i++)
		mbedtls_mpi_init(&x[i]), mbedtls_mpi_init(&y[i]);
	TRY(mbedtls_mpi_read_binary(&p, prime, plen));
	if (mbedtls_mpi_cmp_int(&p, 2) < 0)
		goto out;
	TRY(read_shares(shares, plen, t, &p, x, y));
	for (size_t i = 0; i < t; i++) {
		TRY(lagrange_term(x, y, t, i, &p, &term));
		TRY(mbedtls_mpi_add_mpi(&sum, &sum, &term));
		TRY(mbedtls_mpi_mod_mpi(&sum, &sum, &p));
	}
	TRY(mbedtls_mpi_write_binary(&sum, secret, plen));
	r = 0;
out:
	if (x && y) {
		free_mpis(x, t);
		free_mpis(y, t);
	}
	free(x), free(y);
	mbedtls_mpi_free(&p), mbedtls_mpi_free(&sum), mbedtls_mpi_free(&term);
	return r;
}
