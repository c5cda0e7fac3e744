/* ct_sha256.c - runs the portable SHA-256 compression, PBKDF2-HMAC (SHA-256,
 * and SHA-1/SHA-512 through the md-context path) and Mbed TLS's HMAC-SHA256 (crypto/mbedtls_alt/, inside libmbedcrypto.a)
 * on a message, state, password, salt and key that valgrind's memcheck sees
 * as undefined (the ctgrind technique): a branch or a memory address that
 * depends on them is reported, and test/01-ct.t fails on any report.
 * valgrind cannot execute SHA-NI (and its CPUID hides it), so the SHA-NI
 * compression is checked by its disassembly in 01-ct.t instead. Exits 77
 * when built without valgrind's headers. */
#include <stdio.h>
#include <string.h>

#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>

#include "../crypto/mbedtls_alt/sha256_compress.h"

#include "ct.h"

int ct_main(void)
{
	uint32_t state[8];
	unsigned char block[64], pass[100], salt[40], key[80], out[64];

	/* under valgrind CPUID has no SHA: this is what Mbed TLS uses here */
	if (sha256_impl_force(SHA256_IMPL_PORTABLE) < 0)
		return 1;

	memset(state, 0x6a, sizeof(state));
	memset(block, 0x5c, sizeof(block));
	SECRET(state, sizeof(state));
	SECRET(block, sizeof(block));
	sha256_compress_portable(state, block);
	ct_show("sha256_compress_portable", 0, state, sizeof(state));

	/* short and long (hashed first) passwords; two output blocks */
	static const size_t plens[] = { 8, 100 };
	for (size_t i = 0; i < sizeof(plens) / sizeof(plens[0]); i++) {
		memset(pass, 'p', sizeof(pass));
		memset(salt, 's', sizeof(salt));
		SECRET(pass, sizeof(pass));
		SECRET(salt, sizeof(salt));
		int rc = mbedtls_pkcs5_pbkdf2_hmac_ext(MBEDTLS_MD_SHA256, pass, plens[i], salt, sizeof(salt), 3,
						       sizeof(out), out);
		ct_show("pbkdf2_hmac_sha256", rc, out, sizeof(out));
	}

	/* the other hashes (old LUKS1 keyslots): pad states in md contexts */
	static const mbedtls_md_type_t others[] = { MBEDTLS_MD_SHA1, MBEDTLS_MD_SHA512 };
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		memset(pass, 'p', sizeof(pass));
		memset(salt, 's', sizeof(salt));
		SECRET(pass, sizeof(pass));
		SECRET(salt, sizeof(salt));
		int rc = mbedtls_pkcs5_pbkdf2_hmac_ext(others[i], pass, 20, salt, sizeof(salt), 3, sizeof(out), out);
		ct_show("pbkdf2_hmac_md", rc, out, sizeof(out));
	}

	memset(key, 'k', sizeof(key));
	memset(block, 'm', sizeof(block));
	SECRET(key, sizeof(key));
	SECRET(block, sizeof(block));
	int rc = mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, sizeof(key), block,
				 sizeof(block), out);
	ct_show("hmac_sha256", rc, out, 32);
	return 0;
}
