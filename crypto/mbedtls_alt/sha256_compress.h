/* sha256_compress.h - the SHA-256 compression function that
 * scripts/build-deps.sh compiles into libmbedcrypto.a (Mbed TLS calls it
 * through MBEDTLS_SHA256_PROCESS_ALT), and the PBKDF2-HMAC-SHA256 that
 * Mbed TLS's pkcs5.c forwards to. Declared here for the tests and benches
 * that call one implementation directly. */
#ifndef NBDE_SHA256_COMPRESS_H
#define NBDE_SHA256_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

typedef void sha256_compress_fn(uint32_t state[8], const unsigned char block[64]);

/* Both implementations, straight-line over one 64-byte block, no branch and
 * no memory index that depends on the block or the state. The SHA-NI one
 * exists only on x86-64 and may be called only where sha256_shani_present(). */
sha256_compress_fn sha256_compress_portable;
sha256_compress_fn sha256_compress_shani;
int sha256_shani_present(void);

/* One PBKDF2-HMAC-SHA256 iteration on words: u = HMAC(u) from the states
 * after the inner and outer pad blocks, t ^= u (two compressions). Same
 * guarantees as above; the SHA-NI one keeps everything in registers. */
typedef void sha256_hmac_iter_fn(uint32_t u[8], uint32_t t[8], const uint32_t inner[8],
				 const uint32_t outer[8]);
sha256_hmac_iter_fn sha256_hmac_iter_portable;
sha256_hmac_iter_fn sha256_hmac_iter_shani;

/* The implementation Mbed TLS uses: SHA-NI when the CPU has it (checked once
 * with CPUID), else the portable one. */
sha256_compress_fn *sha256_compress_selected(void);
/* the iteration that goes with sha256_compress_selected() */
sha256_hmac_iter_fn *sha256_hmac_iter_selected(void);

/* Test hook: 0 = choose by CPUID (the default), 1 = force the portable code,
 * 2 = force SHA-NI. Returns -1 (and changes nothing) for SHA-NI on a CPU
 * without it. Not for production callers. */
enum { SHA256_IMPL_AUTO, SHA256_IMPL_PORTABLE, SHA256_IMPL_SHANI };
int sha256_impl_force(int impl);

/* PBKDF2-HMAC-SHA256 (RFC 8018) keeping the HMAC inner and outer pad states
 * across iterations: two compressions per iteration. Returns 0, or
 * MBEDTLS_ERR_PKCS5_BAD_INPUT_DATA. */
int nbde_pbkdf2_hmac_sha256(const unsigned char *password, size_t plen,
			    const unsigned char *salt, size_t slen,
			    unsigned int iterations, uint32_t key_length, unsigned char *output);

/* What the patched pkcs5.c calls for every PBKDF2-HMAC: the above for
 * SHA-256, pad states kept in md contexts for the other hashes whose
 * padded digest fits a block, MBEDTLS_ERR_PKCS5_FEATURE_UNAVAILABLE for the
 * rest (pkcs5.c then runs its own loop). md is a const mbedtls_md_info_t *. */
struct mbedtls_md_info_t;
int nbde_pbkdf2_hmac(const struct mbedtls_md_info_t *md, const unsigned char *password, size_t plen,
		     const unsigned char *salt, size_t slen, unsigned int iterations,
		     uint32_t key_length, unsigned char *output);

#endif
