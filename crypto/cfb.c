/* cfb.c - AES-128-CFB (full-block feedback) over Mbed TLS's AES block. */
#include "cfb.h"
#include "secret.h"

#include <string.h>
#include <mbedtls/aes.h>

int aes128_cfb(const unsigned char key[CFB_KEY_BYTES], const unsigned char iv[CFB_BLOCK], unsigned char *buf,
	       size_t len, bool encrypt)
{
	unsigned char feedback[CFB_BLOCK], stream[CFB_BLOCK];
	mbedtls_aes_context c;
	int r;

	mbedtls_aes_init(&c);
	memcpy(feedback, iv, CFB_BLOCK);
	r = mbedtls_aes_setkey_enc(&c, key, CFB_KEY_BYTES * 8);
	for (size_t at = 0; !r && at < len; at += CFB_BLOCK) {
		size_t n = len - at < CFB_BLOCK ? len - at : CFB_BLOCK;
		r = mbedtls_aes_crypt_ecb(&c, MBEDTLS_AES_ENCRYPT, feedback, stream);
		if (r)
			break;
		/* the next block's feedback is this block's ciphertext */
		if (!encrypt)
			memcpy(feedback, buf + at, n);
		for (size_t i = 0; i < n; i++)
			buf[at + i] ^= stream[i];
		if (encrypt)
			memcpy(feedback, buf + at, n);
	}
	mbedtls_aes_free(&c);
	wipe(feedback, sizeof(feedback));
	wipe(stream, sizeof(stream));
	return r ? -1 : 0;
}
