/* secret.c - wiping buffers and the scope-exit helpers of secret.h. */
#include "secret.h"

#include <stdlib.h>
#include <string.h>

void wipe(void *p, size_t len)
{
	if (p && len)
		explicit_bzero(p, len);
}

int buf_alloc(struct buf *b, size_t len)
{
	/* One extra NUL byte so text payloads can be used as C strings. */
	b->p = calloc(1, len + 1);
	b->len = b->p ? len : 0;
	return b->p ? 0 : -1;
}

int buf_set(struct buf *b, const void *p, size_t len)
{
	if (buf_alloc(b, len))
		return -1;
	if (len)
		memcpy(b->p, p, len);
	return 0;
}

void buf_free(struct buf *b)
{
	if (!b)
		return;
	wipe(b->p, b->len);
	free(b->p);
	b->p = NULL;
	b->len = 0;
}

char *str_dup(const char *s)
{
	return s ? strdup(s) : NULL;
}

void str_free_secret(char *s)
{
	if (!s)
		return;
	wipe(s, strlen(s));
	free(s);
}

void cleanup_buf(struct buf *b)
{
	buf_free(b);
}

void cleanup_free(void *pp)
{
	free(*(void **)pp);
}

void cleanup_str_secret(char **pp)
{
	str_free_secret(*pp);
	*pp = NULL;
}
