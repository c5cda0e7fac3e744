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

/* The counter-mode loop the three KDFs share: block(round, md, arg) puts
 * block number round (from 1) of dlen bytes into md; out gets the first
 * need bytes of blocks 1, 2, ... On a failure out is wiped. */
typedef int (*kdf_block_fn)(size_t round, unsigned char *md, void *arg);

static int kdf_rounds(kdf_block_fn block, void *arg, size_t dlen, unsigned char *out, size_t need)
{
	unsigned char md[HASH_MAX_LEN];
	int r = 0;

	for (size_t round = 1, done = 0; !r && done < need; round++) {
		if ((r = block(round, md, arg) ? -1 : 0))
			break;
		size_t n = need - done < dlen ? need - done : dlen;
		memcpy(out + done, md, n);
		done += n;
	}
	wipe(md, sizeof(md));
	if (r)
		wipe(out, need);
	return r;
}

struct concat_in {
	const unsigned char *z, *apu, *apv;
	size_t zlen, apulen, apvlen;
	const char *alg;
	unsigned char bits[4];
};

/* SHA-256(round ‖ Z ‖ len ‖ alg ‖ len ‖ apu ‖ len ‖ apv ‖ keybits) */
static int concat_block(size_t round, unsigned char *md, void *arg)
{
	const struct concat_in *in = arg;
	mbedtls_sha256_context c;
	unsigned char ctr[4];

	be32(ctr, round);
	mbedtls_sha256_init(&c);
	int r = mbedtls_sha256_starts(&c, 0) || mbedtls_sha256_update(&c, ctr, 4) ||
		mbedtls_sha256_update(&c, in->z, in->zlen) || update_lv(&c, in->alg, strlen(in->alg)) ||
		update_lv(&c, in->apu, in->apulen) || update_lv(&c, in->apv, in->apvlen) ||
		mbedtls_sha256_update(&c, in->bits, 4) || mbedtls_sha256_finish(&c, md);
	mbedtls_sha256_free(&c);
	return r;
}

int concat_kdf(const unsigned char *z, size_t zlen, const char *alg,
	       const unsigned char *apu, size_t apulen,
	       const unsigned char *apv, size_t apvlen,
	       unsigned char *out, size_t keybits)
{
	struct concat_in in = { .z = z, .zlen = zlen, .alg = alg, .apu = apu, .apulen = apulen,
				.apv = apv, .apvlen = apvlen };

	be32(in.bits, keybits);
	return kdf_rounds(concat_block, &in, 32, out, keybits / 8);
}

struct kdfa_in {
	const char *hash, *label;
	const void *key, *u, *v;
	size_t keylen, ulen, vlen, dlen;
	unsigned char bits[4];
};

/* HMAC(key, round ‖ label ‖ 0 ‖ contextU ‖ contextV ‖ bits) */
static int kdfa_block(size_t round, unsigned char *md, void *arg)
{
	const struct kdfa_in *in = arg;
	unsigned char ctr[4];

	be32(ctr, round);
	/* the label's terminating zero is part of the input */
	struct hash_part parts[] = { { ctr, 4 }, { in->label, strlen(in->label) + 1 }, { in->u, in->ulen },
				     { in->v, in->vlen }, { in->bits, 4 } };
	return hash_hmac(in->hash, in->key, in->keylen, parts, sizeof(parts) / sizeof(parts[0]), md) == in->dlen ? 0 : -1;
}

int kdfa(const char *hash, const void *key, size_t keylen, const char *label, const void *ctx_u, size_t ulen,
	 const void *ctx_v, size_t vlen, unsigned char *out, size_t bits)
{
	struct kdfa_in in = { .hash = hash, .label = label, .key = key, .keylen = keylen, .u = ctx_u, .ulen = ulen,
			      .v = ctx_v, .vlen = vlen, .dlen = hash_len(hash) };

	if (!in.dlen || bits % 8)
		return -1;
	be32(in.bits, bits);
	return kdf_rounds(kdfa_block, &in, in.dlen, out, bits / 8);
}

struct kdfe_in {
	const char *hash;
	unsigned char *buf;	/* round ‖ Z ‖ label ‖ 0 ‖ partyU ‖ partyV */
	size_t len, dlen;
};

static int kdfe_block(size_t round, unsigned char *md, void *arg)
{
	struct kdfe_in *in = arg;

	be32(in->buf, round);
	return hash_compute(in->hash, in->buf, in->len, md) == in->dlen ? 0 : -1;
}

int kdfe(const char *hash, const void *z, size_t zlen, const char *label, const void *u, size_t ulen,
	 const void *v, size_t vlen, unsigned char *out, size_t bits)
{
	size_t llen = strlen(label) + 1;
	unsigned char buf[KDFE_MAX_INPUT];
	struct kdfe_in in = { .hash = hash, .buf = buf, .len = 4 + zlen + llen + ulen + vlen, .dlen = hash_len(hash) };

	if (!in.dlen || bits % 8 || in.len > sizeof(buf))
		return -1;
	memcpy(buf + 4, z, zlen);
	memcpy(buf + 4 + zlen, label, llen);
	if (ulen)
		memcpy(buf + 4 + zlen + llen, u, ulen);
	if (vlen)
		memcpy(buf + 4 + zlen + llen + ulen, v, vlen);
	int r = kdf_rounds(kdfe_block, &in, in.dlen, out, bits / 8);
	wipe(buf, sizeof(buf));
	return r;
}
