/*
 * nbde: trimmed Mbed TLS 3.6 configuration.
 *
 * scripts/build-deps.sh installs this file as include/mbedtls/mbedtls_config.h
 * both in the Mbed TLS source tree (before building) and in the prefix, so
 * Mbed TLS itself, libcryptsetup and nbde all compile against the same
 * struct layouts. Passing it only as -DMBEDTLS_CONFIG_FILE to the Mbed TLS
 * build would let the consumers see the stock config instead.
 *
 * Every module listed is either needed by libcryptsetup's Mbed TLS backend
 * (lib/crypto_backend/crypto_mbedtls.c) or by nbde's JOSE code (Tang/Clevis).
 * No TLS, X.509, PK or PSA core.
 *
 * The set must be link-closed: e.g. pkcs5.c compiles PBES2 as soon as
 * ASN1_PARSE_C is on, and that needs OID_C. If it is not, cryptsetup's
 * configure link test for mbedtls_pkcs5_pbkdf2_hmac_ext fails silently and it
 * falls back to the deprecated API (build-deps.sh asserts this).
 */
#ifndef NBDE_MBEDTLS_CONFIG_H
#define NBDE_MBEDTLS_CONFIG_H

/* --- Build and platform ------------------------------------------------ */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_AESNI_C
/* libcryptsetup calls mbedtls_version_get_string_full(). */
#define MBEDTLS_VERSION_C
/* Lets nbde route Mbed TLS's many small bignum allocations to a per-thread
 * block cache (crypto/alloc.c): musl's malloc takes a global lock and maps
 * and unmaps pages under this churn, which costs tang-server's worker
 * threads a quarter of their time. */
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY

/* --- Entropy and DRBGs --------------------------------------------------
 * Mbed TLS uses getrandom() only when __GLIBC__ is defined; on musl it would
 * silently read /dev/urandom. Disable the platform source and provide
 * mbedtls_hardware_poll() over getrandom() instead (entropy_getrandom.c,
 * appended to libmbedcrypto.a by build-deps.sh). */
#define MBEDTLS_NO_PLATFORM_ENTROPY
#define MBEDTLS_ENTROPY_HARDWARE_ALT
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_CTR_DRBG_C
/* Deterministic ECDSA (RFC 6979) is built on HMAC_DRBG. */
#define MBEDTLS_HMAC_DRBG_C

/* --- Symmetric ciphers --------------------------------------------------
 * CBC/XTS: libcryptsetup encrypts and decrypts keyslot areas in userspace,
 * which is what makes name=NULL activation work without dm-crypt.
 * CCM: libcryptsetup's BITLK code. GCM: JWE A*GCM. NIST_KW: JWE A*KW. */
#define MBEDTLS_AES_C
#define MBEDTLS_CIPHER_C
#define MBEDTLS_CIPHER_MODE_CBC
#define MBEDTLS_CIPHER_MODE_CTR
#define MBEDTLS_CIPHER_MODE_XTS
#define MBEDTLS_GCM_C
#define MBEDTLS_CCM_C
#define MBEDTLS_NIST_KW_C

/* --- Hashes, HMAC and KDF ----------------------------------------------- */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA1_C
#define MBEDTLS_SHA224_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA384_C
#define MBEDTLS_SHA512_C
/* Only for legacy LUKS1 hash specs; costs about 7 KB. */
#define MBEDTLS_RIPEMD160_C
#define MBEDTLS_PKCS5_C
/* SHA-256 blocks go to nbde's compression (SHA-NI when the CPU has it;
 * Mbed TLS 3.6 has hardware SHA-256 only for Armv8):
 * crypto/mbedtls_alt/sha256_compress.c, appended to libmbedcrypto.a by
 * build-deps.sh, which also points pkcs5.c's PBKDF2 at pbkdf2_hmac.c there. */
#define MBEDTLS_SHA256_PROCESS_ALT

/* --- Elliptic curves and encodings --------------------------------------
 * JOSE: ECDH-ES and the McCallum-Relyea exchange (mbedtls_ecp_muladd) on
 * P-256/384/521, ES256/384/512 signatures. */
#define MBEDTLS_BIGNUM_C
/* Safe primes for the sss pin (mbedtls_mpi_gen_prime with the DH flag). */
#define MBEDTLS_GENPRIME
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_SECP521R1_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECDSA_DETERMINISTIC
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_OID_C

#endif /* NBDE_MBEDTLS_CONFIG_H */
