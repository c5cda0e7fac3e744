/* ct_cfb.c - the tpm2pin pin's parameter encryption, AES-128-CFB
 * (crypto/cfb.c over Mbed TLS's AES), run on a key and a text that
 * valgrind's memcheck sees as undefined: a branch or a memory address that
 * depends on them is reported (see ct_p521.c). Mbed TLS takes AES-NI when
 * the CPU has it (MBEDTLS_AESNI_C): no table lookup then. Its table AES,
 * the fallback on a CPU without AES-NI, indexes tables by secret bytes:
 * test/01-ct.t skips this program there, with the reason. Exits 77 when
 * built without valgrind's headers. */
#include <stdio.h>
#include <string.h>

#include "../crypto/alloc.h"
#include "../crypto/cfb.h"

#include "ct.h"

int ct_main(void)
{
	unsigned char key[CFB_KEY_BYTES], iv[CFB_BLOCK], buf[45], copy[45];

	crypto_init();
	memset(key, 0xA5, sizeof(key));
	memset(iv, 0x11, sizeof(iv));
	memcpy(buf, "the content key, 32 bytes, and its size too..", sizeof(buf));
	memcpy(copy, buf, sizeof(buf));
	SECRET(key, sizeof(key));
	SECRET(buf, sizeof(buf));
	int rc = aes128_cfb(key, iv, buf, sizeof(buf), true);
	rc |= aes128_cfb(key, iv, buf, sizeof(buf), false);
	PUBLIC(buf, sizeof(buf));
	printf("aes128_cfb: rc %d, round trip %s\n", rc, memcmp(buf, copy, sizeof(buf)) ? "differs" : "ok");
	return 0;
}
