/* secret.h - byte buffers that may hold secrets, and cleanup helpers.
 *
 * Every buffer that can carry key material is a struct buf; buf_alloc()
 * keeps its whole pages out of core dumps, buf_free() wipes it before
 * releasing it, so using the cleanup attributes below
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
/* calloc for a secret: its whole pages are kept out of core dumps. */
void *secret_alloc(size_t size);
/* Wipes size bytes, returns the pages to core dumps and frees. A size
 * smaller than allocated leaves some freed pages out of dumps: harmless. */
void secret_free(void *p, size_t size);
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
