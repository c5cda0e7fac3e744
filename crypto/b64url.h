/* b64url.h - strict base64url without padding (RFC 7515 §2). */
#ifndef NBDE_B64URL_H
#define NBDE_B64URL_H

#include <stddef.h>
#include "secret.h"

/* Returns a malloc'd NUL-terminated string, or NULL on allocation failure. */
char *b64url_encode(const void *in, size_t len);
/* Rejects padding, '+', '/', whitespace, impossible lengths and non-zero
 * trailing bits. Returns 0 and fills out (freed with buf_free) or -1. */
int b64url_decode(const char *in, size_t len, struct buf *out);
int b64url_decode_str(const char *in, struct buf *out);

/* Splits JOSE compact text (trailing whitespace ignored) into exactly n
 * dot-separated malloc'd strings; -1 when the count differs. */
int compact_split(const char *text, size_t len, char **parts, size_t n);
void compact_free(char **parts, size_t n);

#endif
