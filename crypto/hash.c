/* hash.c - SHA-1/2 by JOSE hash name, over Mbed TLS. */
#include "hash.h"

#include <string.h>
#include <mbedtls/md.h>

const char *const hash_names[HASH_COUNT] = { "S1", "S224", "S256", "S384", "S512" };

static const struct {
	const char *name;
	mbedtls_md_type_t type;
	size_t len;
} hashes[] = {
	{ "S1", MBEDTLS_MD_SHA1, 20 },
	{ "S224", MBEDTLS_MD_SHA224, 28 },
	{ "S256", MBEDTLS_MD_SHA256, 32 },
	{ "S384", MBEDTLS_MD_SHA384, 48 },
	{ "S512", MBEDTLS_MD_SHA512, 64 },
};

static int find(const char *name)
{
	for (size_t i = 0; name && i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if (!strcmp(hashes[i].name, name))
			return (int)i;
	return -1;
}

size_t hash_len(const char *name)
{
	int i = find(name);
	return i < 0 ? 0 : hashes[i].len;
}

static const mbedtls_md_info_t *md_of(const char *name, size_t *len)
{
	int i = find(name);

	if (i < 0)
		return NULL;
	*len = hashes[i].len;
	return mbedtls_md_info_from_type(hashes[i].type);
}

size_t hash_hmac(const char *name, const void *key, size_t keylen, const struct hash_part *parts, size_t nparts,
		 unsigned char *out)
{
	size_t len = 0;
	const mbedtls_md_info_t *md = md_of(name, &len);
	mbedtls_md_context_t c;
	int r;

	if (!md)
		return 0;
	mbedtls_md_init(&c);
	r = mbedtls_md_setup(&c, md, 1) || mbedtls_md_hmac_starts(&c, key, keylen);
	for (size_t i = 0; !r && i < nparts; i++)
		r = parts[i].len && mbedtls_md_hmac_update(&c, parts[i].p, parts[i].len);
	r = r || mbedtls_md_hmac_finish(&c, out);
	mbedtls_md_free(&c);	/* zeroizes the padded key it kept */
	return r ? 0 : len;
}

size_t hash_compute(const char *name, const void *data, size_t len, unsigned char *out)
{
	int i = find(name);
	const mbedtls_md_info_t *md;
	if (i < 0 || !(md = mbedtls_md_info_from_type(hashes[i].type)))
		return 0;
	if (mbedtls_md(md, data, len, out))
		return 0;
	return hashes[i].len;
}
