/* b64url.c - strict base64url codec; decoding rejects anything that the
 * canonical encoder would not have produced, so every value has one form. */
#include "b64url.h"

#include <stdlib.h>
#include <string.h>

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *b64url_encode(const void *in, size_t len)
{
	const unsigned char *s = in;
	char *out = malloc(len / 3 * 4 + 5);
	size_t o = 0, i = 0;

	if (!out)
		return NULL;
	for (; i + 2 < len; i += 3) {
		unsigned v = s[i] << 16 | s[i + 1] << 8 | s[i + 2];
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if (len - i == 1) {
		out[o++] = alphabet[s[i] >> 2];
		out[o++] = alphabet[(s[i] & 3) << 4];
	} else if (len - i == 2) {
		unsigned v = s[i] << 8 | s[i + 1];
		out[o++] = alphabet[v >> 10];
		out[o++] = alphabet[v >> 4 & 63];
		out[o++] = alphabet[(v & 15) << 2];
	}
	out[o] = 0;
	return out;
}

static int sextet(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int b64url_decode(const char *in, size_t len, struct buf *out)
{
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;

	out->p = NULL;
	out->len = 0;
	if (len % 4 == 1)
		return -1;
	if (buf_alloc(out, len / 4 * 3 + 2))
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = sextet((unsigned char)in[i]);
		if (v < 0)
			goto bad;
		acc = (acc << 6 | (unsigned)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out->p[o++] = acc >> bits & 0xff;
		}
	}
	/* Leftover bits must be zero: otherwise two strings decode alike. */
	if (acc & ((1u << bits) - 1))
		goto bad;
	out->len = o;
	out->p[o] = 0;
	return 0;
bad:
	buf_free(out);
	return -1;
}

int b64url_decode_str(const char *in, struct buf *out)
{
	if (!in) {
		out->p = NULL;
		out->len = 0;
		return -1;
	}
	return b64url_decode(in, strlen(in), out);
}

int compact_split(const char *text, size_t len, char **parts, size_t n)
{
	size_t i = 0, start = 0;

	while (len && strchr(" \t\r\n", text[len - 1]))
		len--;
	for (size_t pos = 0; pos <= len; pos++) {
		if (pos < len && text[pos] != '.')
			continue;
		if (i == n || !(parts[i] = strndup(text + start, pos - start)))
			goto bad;
		i++;
		start = pos + 1;
	}
	if (i == n)
		return 0;
bad:
	compact_free(parts, i);
	return -1;
}

void compact_free(char **parts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		str_free_secret(parts[i]);
		parts[i] = NULL;
	}
}
