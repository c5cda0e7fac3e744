/* cfb.h - AES-128 in CFB mode with full-block feedback, as the TPM encrypts
 * a command's or response's first parameter (TPM 2.0 Part 1 §21.3; Mbed TLS's
 * own CFB mode is not in nbde's build, so the mode is written here over AES). */
#ifndef NBDE_CFB_H
#define NBDE_CFB_H

#include <stdbool.h>
#include <stddef.h>

#define CFB_KEY_BYTES 16
#define CFB_BLOCK 16

/* Encrypts (or decrypts) buf in place under key with initial vector iv.
 * 0, or -1 (buf unchanged or partly processed: the caller discards it). */
int aes128_cfb(const unsigned char key[CFB_KEY_BYTES], const unsigned char iv[CFB_BLOCK], unsigned char *buf,
	       size_t len, bool encrypt);

#endif
