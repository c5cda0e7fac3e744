/* pbkdf2_hmac.c - PBKDF2-HMAC for Mbed TLS's pkcs5.c.
 *
 * Mbed TLS 3.6 computes each PBKDF2 iteration as a full HMAC through its md
 * layer: hmac_reset hashes the ipad block again, hmac_finish the opad block,
 * so one iteration costs four compressions. The pad states depend only on
 * the password, so they are computed once here and every iteration costs
 * two (as in OpenSSL): U is 32 bytes, so the inner and the outer message
 * after the pad block are each one padded block. scripts/build-deps.sh
 * patches pkcs5.c to call nbde_pbkdf2_hmac() and compiles this file into
 * libmbedcrypto.a. SHA-256 (the default of libcryptsetup's LUKS1 and LUKS2
 * pbkdf2 keyslots) runs on words with the compression straight from
 * sha256_compress.c; the other hashes of LUKS1 volumes (SHA-1 before
 * cryptsetup 1.7, SHA-512, RIPEMD-160...) keep their pad states as copies
 * of Mbed TLS's md contexts.
 *
 * Constant time in the password, the salt and the key: no branch or memory
 * index depends on them (test/01-ct.t runs this under valgrind memcheck
 * with them marked undefined); only their public lengths and the iteration
 * count steer it. */
#define MBEDTLS_ALLOW_PRIVATE_ACCESS	/* ctx->state: this file is part of the library */
#include <string.h>

#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#include "sha256_compress.h"

#define BLOCK 64
#define DIGEST 32

static const uint32_t sha256_iv[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static void store_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void store_state(unsigned char out[DIGEST], const uint32_t st[8])
{
	for (int i = 0; i < 8; i++)
		store_be32(out + 4 * i, st[i]);
}

/* state after the key XOR pad block: HMAC's inner (0x36) or outer (0x5c) start */
static void pad_state(uint32_t st[8], const unsigned char key[BLOCK], unsigned char pad,
		      sha256_compress_fn *compress)
{
	unsigned char block[BLOCK];

	for (int i = 0; i < BLOCK; i++)
		block[i] = key[i] ^ pad;
	memcpy(st, sha256_iv, sizeof(sha256_iv));
	compress(st, block);
	mbedtls_platform_zeroize(block, sizeof(block));
}

/* U1 = HMAC(P, salt || INT(index)) through Mbed TLS's SHA-256, resumed
 * from the pad states (salt has any length) */
static int first_u(unsigned char u[DIGEST], const uint32_t inner[8], const uint32_t outer[8],
		   const unsigned char *salt, size_t slen, uint32_t index)
{
	mbedtls_sha256_context ctx;
	unsigned char be_index[4];
	int ret;

	store_be32(be_index, index);
	mbedtls_sha256_init(&ctx);
	ret = mbedtls_sha256_starts(&ctx, 0);
	memcpy(ctx.state, inner, sizeof(ctx.state));
	ctx.total[0] = BLOCK;
	if (!ret)
		ret = mbedtls_sha256_update(&ctx, salt, slen);
	if (!ret)
		ret = mbedtls_sha256_update(&ctx, be_index, sizeof(be_index));
	if (!ret)
		ret = mbedtls_sha256_finish(&ctx, u);
	if (!ret)
		ret = mbedtls_sha256_starts(&ctx, 0);
	memcpy(ctx.state, outer, sizeof(ctx.state));
	ctx.total[0] = BLOCK;
	if (!ret)
		ret = mbedtls_sha256_update(&ctx, u, DIGEST);
	if (!ret)
		ret = mbedtls_sha256_finish(&ctx, u);
	mbedtls_sha256_free(&ctx);
	return ret;
}

/* T = U1 ^ U2 ^ ... ^ Uc, as words; each U after U1 costs two compressions */
static void iterate(uint32_t t[8], const unsigned char u1[DIGEST], unsigned int iterations,
		    const uint32_t inner[8], const uint32_t outer[8])
{
	sha256_hmac_iter_fn *step = sha256_hmac_iter_selected();
	uint32_t u[8];

	for (int i = 0; i < 8; i++)
		u[i] = t[i] = (uint32_t)u1[4 * i] << 24 | (uint32_t)u1[4 * i + 1] << 16 |
			      (uint32_t)u1[4 * i + 2] << 8 | u1[4 * i + 3];
	for (unsigned int n = 1; n < iterations; n++)
		step(u, t, inner, outer);
	mbedtls_platform_zeroize(u, sizeof(u));
}

int nbde_pbkdf2_hmac_sha256(const unsigned char *password, size_t plen,
			    const unsigned char *salt, size_t slen,
			    unsigned int iterations, uint32_t key_length, unsigned char *output)
{
	sha256_compress_fn *compress = sha256_compress_selected();
	unsigned char key[BLOCK] = { 0 }, u[DIGEST];
	uint32_t inner[8], outer[8], t[8];
	uint32_t index = 1;
	int ret = 0;

	if ((salt == NULL && slen > 0) || (password == NULL && plen > 0))
		return MBEDTLS_ERR_PKCS5_BAD_INPUT_DATA;
	/* HMAC: a key longer than the block is replaced by its hash */
	if (plen > BLOCK)
		ret = mbedtls_sha256(password, plen, key, 0);
	else if (plen > 0)
		memcpy(key, password, plen);
	if (ret)
		goto out;
	pad_state(inner, key, 0x36, compress);
	pad_state(outer, key, 0x5c, compress);
	while (key_length > 0) {
		uint32_t use = key_length < DIGEST ? key_length : DIGEST;

		ret = first_u(u, inner, outer, salt, slen, index);
		if (ret)
			goto out;
		iterate(t, u, iterations, inner, outer);
		store_state(u, t);
		memcpy(output, u, use);
		output += use;
		key_length -= use;
		index++;
	}
out:
	mbedtls_platform_zeroize(key, sizeof(key));
	mbedtls_platform_zeroize(u, sizeof(u));
	mbedtls_platform_zeroize(inner, sizeof(inner));
	mbedtls_platform_zeroize(outer, sizeof(outer));
	mbedtls_platform_zeroize(t, sizeof(t));
	return ret;
}

/* The HMAC block size of the md hashes whose digest, padded, fits one
 * block (so each iteration's inner and outer finish is one compression);
 * 0 for the others, which stay on Mbed TLS's loop. */
static size_t hmac_block_size(mbedtls_md_type_t type)
{
	switch (type) {
	case MBEDTLS_MD_MD5:
	case MBEDTLS_MD_SHA1:
	case MBEDTLS_MD_RIPEMD160:
	case MBEDTLS_MD_SHA224:
	case MBEDTLS_MD_SHA256:
		return 64;
	case MBEDTLS_MD_SHA384:
	case MBEDTLS_MD_SHA512:
		return 128;
	default:
		return 0;
	}
}

/* ctx = a copy of from (the state after a pad block), then HMAC's hash of
 * a || b finished into out */
static int resume_finish(mbedtls_md_context_t *ctx, const mbedtls_md_context_t *from,
			 const unsigned char *a, size_t alen, const unsigned char *b, size_t blen,
			 unsigned char *out)
{
	int ret = mbedtls_md_clone(ctx, from);

	if (!ret && alen)
		ret = mbedtls_md_update(ctx, a, alen);
	if (!ret && blen)
		ret = mbedtls_md_update(ctx, b, blen);
	if (!ret)
		ret = mbedtls_md_finish(ctx, out);
	return ret;
}

/* PBKDF2 over any md hash in hmac_block_size(), the pad states kept as md
 * contexts: two compressions per iteration plus the context copies */
static int pbkdf2_hmac_md(const mbedtls_md_info_t *md, const unsigned char *password, size_t plen,
			  const unsigned char *salt, size_t slen, unsigned int iterations,
			  uint32_t key_length, unsigned char *output, size_t bs)
{
	mbedtls_md_context_t inner, outer, work;
	unsigned char key[MBEDTLS_MD_MAX_BLOCK_SIZE] = { 0 }, pad[MBEDTLS_MD_MAX_BLOCK_SIZE];
	unsigned char u[MBEDTLS_MD_MAX_SIZE], t[MBEDTLS_MD_MAX_SIZE], be_index[4];
	size_t hlen = mbedtls_md_get_size(md);
	uint32_t index = 1;
	int ret;

	mbedtls_md_init(&inner);
	mbedtls_md_init(&outer);
	mbedtls_md_init(&work);
	ret = mbedtls_md_setup(&inner, md, 0);
	if (!ret)
		ret = mbedtls_md_setup(&outer, md, 0);
	if (!ret)
		ret = mbedtls_md_setup(&work, md, 0);
	/* HMAC: a key longer than the block is replaced by its hash */
	if (plen > bs) {
		if (!ret)
			ret = mbedtls_md(md, password, plen, key);
	} else if (plen > 0) {
		memcpy(key, password, plen);
	}
	for (size_t i = 0; i < bs; i++)
		pad[i] = key[i] ^ 0x36;
	if (!ret)
		ret = mbedtls_md_starts(&inner);
	if (!ret)
		ret = mbedtls_md_update(&inner, pad, bs);
	for (size_t i = 0; i < bs; i++)
		pad[i] = key[i] ^ 0x5c;
	if (!ret)
		ret = mbedtls_md_starts(&outer);
	if (!ret)
		ret = mbedtls_md_update(&outer, pad, bs);
	while (!ret && key_length > 0) {
		uint32_t use = key_length < hlen ? key_length : (uint32_t)hlen;

		store_be32(be_index, index);
		ret = resume_finish(&work, &inner, salt, slen, be_index, sizeof(be_index), u);
		if (!ret)
			ret = resume_finish(&work, &outer, u, hlen, NULL, 0, u);
		memcpy(t, u, hlen);
		for (unsigned int n = 1; !ret && n < iterations; n++) {
			ret = resume_finish(&work, &inner, u, hlen, NULL, 0, u);
			if (!ret)
				ret = resume_finish(&work, &outer, u, hlen, NULL, 0, u);
			for (size_t i = 0; i < hlen; i++)
				t[i] ^= u[i];
		}
		if (!ret)
			memcpy(output, t, use);
		output += use;
		key_length -= use;
		index++;
	}
	mbedtls_md_free(&inner);
	mbedtls_md_free(&outer);
	mbedtls_md_free(&work);
	mbedtls_platform_zeroize(key, sizeof(key));
	mbedtls_platform_zeroize(pad, sizeof(pad));
	mbedtls_platform_zeroize(u, sizeof(u));
	mbedtls_platform_zeroize(t, sizeof(t));
	return ret;
}

int nbde_pbkdf2_hmac(const mbedtls_md_info_t *md, const unsigned char *password, size_t plen,
		     const unsigned char *salt, size_t slen, unsigned int iterations,
		     uint32_t key_length, unsigned char *output)
{
	mbedtls_md_type_t type = mbedtls_md_get_type(md);
	size_t bs = hmac_block_size(type);

	if (bs == 0)
		return MBEDTLS_ERR_PKCS5_FEATURE_UNAVAILABLE;
	if ((salt == NULL && slen > 0) || (password == NULL && plen > 0))
		return MBEDTLS_ERR_PKCS5_BAD_INPUT_DATA;
	if (type == MBEDTLS_MD_SHA256)
		return nbde_pbkdf2_hmac_sha256(password, plen, salt, slen, iterations, key_length, output);
	return pbkdf2_hmac_md(md, password, plen, salt, slen, iterations, key_length, output, bs);
}
