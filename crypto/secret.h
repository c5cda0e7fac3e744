/* secret.h - byte buffers that may hold secrets, and cleanup helpers.
 *
 * Every buffer that can carry key material is a struct buf; buf_free()
 * wipes it before releasing it, so using the cleanup attributes below
 * guarantees secrets are wiped on every return path. */
#ifndef NBDE_SECRET_H
#define NBDE_SECRET_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	unsigned char *p;
	size_t len;
};

void wipe(void *p, size_t len);
int buf_alloc(struct buf *b, size_t len);
int buf_set(struct buf *b, const void *p, size_t len);
void buf_free(struct buf *b);
char *str_dup(const char *s);
void str_free_secret(char *s);

void cleanup_buf(struct buf *b);
void cleanup_free(void *pp);
void cleanup_str_secret(char **pp);

/* A struct buf wiped and freed when it leaves scope. */
#define AUTO_BUF __attribute__((cleanup(cleanup_buf))) struct buf
/* A malloc'd pointer freed (not wiped) when it leaves scope. */
#define AUTO_FREE __attribute__((cleanup(cleanup_free)))
/* A malloc'd NUL-terminated secret string wiped and freed at scope exit. */
#define AUTO_SECRET_STR __attribute__((cleanup(cleanup_str_secret))) char *

#endif
