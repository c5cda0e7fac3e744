/* secret.c - wiping buffers and the scope-exit helpers of secret.h.
 *
 * Core dumps: the applets holding secrets are made undumpable as a whole
 * (cmd/util.c); here the whole pages of a large secret buffer are also
 * marked MADV_DONTDUMP, for a dump that happens anyway (a crash before
 * dispatch, fs.suid_dumpable=2 with a core_pattern pipe that ignores
 * RLIMIT_CORE). Only whole pages inside the buffer can be marked without
 * touching its heap neighbours, so buffers under a page (passphrases, JWKs,
 * the Mbed TLS bignums of crypto/alloc.c) are not: giving each its own
 * mapping would cost two syscalls and a page per allocation, and the
 * process-wide switch already covers them. No mlock either: RLIMIT_MEMLOCK
 * is 64 KiB-8 MiB for a service user and swap is the admin's choice. */
#include "secret.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void wipe(void *p, size_t len)
{
	if (p && len)
		explicit_bzero(p, len);
}

/* madvise on the whole pages inside [p, p + len); none: no syscall. */
static void advise_inner_pages(void *p, size_t len, int advice)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = ((uintptr_t)p + page - 1) & ~(page - 1);
	uintptr_t end = ((uintptr_t)p + len) & ~(page - 1);

	if (p && end > start)
		madvise((void *)start, end - start, advice);	/* best effort */
}

void *secret_alloc(size_t size)
{
	void *p = calloc(1, size);

	advise_inner_pages(p, size, MADV_DONTDUMP);
	return p;
}

void secret_free(void *p, size_t size)
{
	if (!p)
		return;
	wipe(p, size);
	/* the pages go back to malloc for anything: dumpable again */
	advise_inner_pages(p, size, MADV_DODUMP);
	free(p);
}

int buf_alloc(struct buf *b, size_t len)
{
	/* One extra NUL byte so text payloads can be used as C strings; the
	 * pages marked are those of len, which buf_free unmarks. */
	b->p = calloc(1, len + 1);
	advise_inner_pages(b->p, len, MADV_DONTDUMP);
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
	secret_free(b->p, b->len);
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
