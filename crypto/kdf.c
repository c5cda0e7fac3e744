/* kdf.c - Concat KDF over SHA-256, and the TPM's KDFa. */
#include "kdf.h"
#include "hash.h"
#include "secret.h"

#include <string.h>
#include <mbedtls/sha256.h>

static void be32(unsigned char b[4], size_t v)
{
	b[0] = v >> 24 & 0xff;
	b[1] = v >> 16 & 0xff;
	b[2] = v >> 8 & 0xff;
	b[3] = v & 0xff;
}

static int update_lv(mbedtls_sha256_context *c, const void *p, size_t len)
{
	unsigned char l[4];
	be32(l, len);
	if (mbedtls_sha256_update(c, l, 4))
		return -1;
	return len ? mbedtls_sha256_update(c, p, len) : 0;
}

int concat_kdf(const unsigned char *z, size_t zlen, const char *alg,
	       const unsigned char *apu, size_t apulen,
	       const unsigned char *apv, size_t apvlen,
	       unsigned char *out, size_t keybits)
{
	size_t need = keybits / 8, done = 0;
	unsigned char md[32], ctr[4], bits[4];
	mbedtls_sha256_context c;
	int r = 0;

	be32(bits, keybits);
	mbedtls_sha256_init(&c);
	for (size_t round = 1; !r && done < need; round++) {
		be32(ctr, round);
		r = mbedtls_sha256_starts(&c, 0) || mbedtls_sha256_update(&c, ctr, 4) ||
		    mbedtls_sha256_update(&c, z, zlen) || update_lv(&c, alg, strlen(alg)) ||
		    update_lv(&c, apu, apulen) || update_lv(&c, apv, apvlen) ||
		    mbedtls_sha256_update(&c, bits, 4) || mbedtls_sha256_finish(&c, md);
		if (!r) {
			size_t n = need - done < 32 ? need - done : 32;
			memcpy(out + done, md, n);
			done += n;
		}
	}
	mbedtls_sha256_free(&c);
	wipe(md, sizeof(md));
	if (r)
		wipe(out, need);
	return r ? -1 : 0;
}

int kdfa(const char *hash, const void *key, size_t keylen, const char *label, const void *ctx_u, size_t ulen,
	 const void *ctx_v, size_t vlen, unsigned char *out, size_t bits)
{
	size_t need = bits / 8, done = 0, dlen = hash_len(hash);
	unsigned char md[HASH_MAX_LEN], ctr[4], nbits[4];
	int r = !dlen || bits % 8 ? -1 : 0;

	be32(nbits, bits);
	for (size_t round = 1; !r && done < need; round++) {
		be32(ctr, round);
		/* the label's terminating zero is part of the input */
		struct hash_part parts[] = { { ctr, 4 }, { label, strlen(label) + 1 }, { ctx_u, ulen },
					     { ctx_v, vlen }, { nbits, 4 } };
		if (hash_hmac(hash, key, keylen, parts, sizeof(parts) / sizeof(parts[0]), md) != dlen) {
			r = -1;
			break;
		}
		size_t n = need - done < dlen ? need - done : dlen;
		memcpy(out + done, md, n);
		done += n;
	}
	wipe(md, sizeof(md));
	if (r)
		wipe(out, need);
	return r;
}

int kdfe(const char *hash, const void *z, size_t zlen, const char *label, const void *u, size_t ulen,
	 const void *v, size_t vlen, unsigned char *out, size_t bits)
{
	size_t need = bits / 8, done = 0, dlen = hash_len(hash), llen = strlen(label) + 1;
	unsigned char in[KDFE_MAX_INPUT], md[HASH_MAX_LEN];
	size_t n = 4 + zlen + llen + ulen + vlen;
	int r = !dlen || bits % 8 || n > sizeof(in) ? -1 : 0;

	if (!r) {
		memcpy(in + 4, z, zlen);
		memcpy(in + 4 + zlen, label, llen);
		if (ulen)
			memcpy(in + 4 + zlen + llen, u, ulen);
		if (vlen)
			memcpy(in + 4 + zlen + llen + ulen, v, vlen);
	}
	for (size_t round = 1; !r && done < need; round++) {
		be32(in, round);
		if (hash_compute(hash, in, n, md) != dlen) {
			r = -1;
			break;
		}
		size_t k = need - done < dlen ? need - done : dlen;
		memcpy(out + done, md, k);
		done += k;
	}
	wipe(in, sizeof(in));
	wipe(md, sizeof(md));
	if (r)
		wipe(out, need);
	return r;
}
