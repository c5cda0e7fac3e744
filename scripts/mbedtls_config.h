/*
 * nbde: trimmed Mbed TLS 3.6 configuration.
 *
 * scripts/build-deps.sh installs this file as include/mbedtls/mbedtls_config.h
 * both in the Mbed TLS source tree (before building) and in the prefix, so
 * Mbed TLS itself, libcryptsetup and nbde all compile against the same
 * struct layouts. Passing it only as -DMBEDTLS_CONFIG_FILE to the Mbed TLS
 * build would let the consumers see the stock config instead.
 *
 * Every module listed is needed by libcryptsetup's Mbed TLS backend
 * (lib/crypto_backend/crypto_mbedtls.c), by nbde's JOSE code (Tang/Clevis)
 * or by the https client (net/tls_transport.c): client side only, TLS 1.2
 * and 1.3, ECDHE with AES-GCM or ChaCha20-Poly1305, X.509 parsing and chain
 * verification. No server side, no DTLS, no PSK, no session tickets, no
 * renegotiation, no X.509 writing.
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
/* X.509 validity dates: without HAVE_TIME_DATE an expired certificate would
 * verify. */
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE
/* The sss pin fetches its tang children in threads, so two TLS handshakes
 * can run at once; TLS 1.3 keeps its keys in the PSA core's global key
 * store, which is thread safe only with THREADING_C. */
#define MBEDTLS_THREADING_C
#define MBEDTLS_THREADING_PTHREAD

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
/* ChaCha20-Poly1305: the TLS suites preferred by peers without AES-NI. */
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C

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
/* TLS 1.3's key schedule. */
#define MBEDTLS_HKDF_C

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
/* X25519: the group TLS 1.3 servers pick first. */
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECDSA_DETERMINISTIC
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_OID_C
#define MBEDTLS_PEM_PARSE_C

/* --- TLS client (net/tls_transport.c) -----------------------------------
 * RSA: most roots in the system CA bundle and many server certificates are
 * RSA; PKCS#1 v1.5 for TLS 1.2 and certificate signatures, v2.1 (PSS) for
 * TLS 1.3's handshake signatures. */
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15
#define MBEDTLS_PKCS1_V21
/* Without it Mbed TLS offers no rsa_pss_rsae signature algorithm, and a
 * TLS 1.3 server with an RSA certificate has nothing to sign with. */
#define MBEDTLS_X509_RSASSA_PSS_SUPPORT
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
/* TLS 1.3 runs its key schedule and ephemeral ECDH through the PSA core;
 * nothing else uses it (no MBEDTLS_USE_PSA_CRYPTO). */
#define MBEDTLS_PSA_CRYPTO_C
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_PROTO_TLS1_3
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ENABLED
/* Mbed TLS's TLS 1.3 code requires it. */
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE
/* Some middleboxes drop TLS 1.3 handshakes that do not look like 1.2. */
#define MBEDTLS_SSL_TLS1_3_COMPATIBILITY_MODE
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_SERVER_NAME_INDICATION

#endif /* NBDE_MBEDTLS_CONFIG_H */
