/* ec_internal.h - Mbed TLS types behind struct ec_key; crypto/ only. */
#ifndef NBDE_EC_INTERNAL_H
#define NBDE_EC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <mbedtls/ecp.h>
#include <cjson/cJSON.h>

struct curve {
	const char *crv;	/* JWK name */
	const char *sig_alg;	/* JWS algorithm using this curve */
	const char *sig_hash;	/* its hash, by JOSE name */
	mbedtls_ecp_group_id id;
	size_t size;		/* bytes per coordinate / scalar */
};

/* A key is shared read-only by tang-server's worker threads. Mbed TLS caches
 * the base-point table inside grp on the first multiplication by G, which
 * would race; ec_key_from_jwk() and key generation multiply by G before the
 * key is published (d·G check), so later use never writes to grp. Keep it so:
 * a P-521 key that may sign (ECDSA still multiplies by G in Mbed TLS) gets
 * its d·G check from Mbed TLS, see check_private(). */
struct ec_key {
	const struct curve *c;
	mbedtls_ecp_group grp;
	mbedtls_ecp_point Q;
	mbedtls_mpi d;
	bool has_d;
};

const struct curve *curve_by_name(const char *crv);
const struct curve *curve_by_sig_alg(const char *alg);
/* Allocates a key with its group loaded and an empty point. */
struct ec_key *ec_key_new(const struct curve *c);
/* Public JWK of point P on k's curve; P must be valid. */
cJSON *ec_point_jwk(const struct ec_key *k, const mbedtls_ecp_point *P);
/* Reads a point from JWK members after checking length and the curve. */
int ec_point_from_jwk(const struct ec_key *k, const cJSON *jwk, mbedtls_ecp_point *P, const char **err);
/* R = m·P, the checks of mbedtls_ecp_mul() included (1 ≤ m < n, P valid);
 * P-521 runs in p521.c (ec.c says when not). R is zero for infinity. */
int ec_mul(const struct ec_key *k, mbedtls_ecp_point *R, const mbedtls_mpi *m, const mbedtls_ecp_point *P);
/* R = A + B (A == B allowed); R is zero for infinity. */
int ec_add(const struct ec_key *k, mbedtls_ecp_point *R, const mbedtls_ecp_point *A, const mbedtls_ecp_point *B);
/* mbedtls_ecdsa_verify() of (r, s) over the hash md by k->Q: 0 when valid,
 * MBEDTLS_ERR_ECP_VERIFY_FAILED when not (r or s out of [1, n − 1], Q off
 * the curve included); P-521 runs in p521.c. */
int ec_verify(const struct ec_key *k, const unsigned char *md, size_t mdlen, const mbedtls_mpi *r,
	      const mbedtls_mpi *s);
/* A fresh private d and Q = d·G in k. */
int ec_gen_keypair(struct ec_key *k);
/* The f_rng callback for Mbed TLS, over getrandom(). */
int ec_rng(void *ctx, unsigned char *buf, size_t len);

#endif
