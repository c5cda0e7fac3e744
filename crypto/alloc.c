/* alloc.c - a per-thread cache of small blocks for Mbed TLS.
 *
 * One P-521 multiplication allocates and frees a few hundred small bignum
 * buffers. musl's malloc serialises them on one lock and returns pages to
 * the kernel as groups empty, so tang-server's worker threads spent about a
 * quarter of their time in the allocator, locks and page faults. Blocks up
 * to MAX_CACHED bytes are therefore kept on per-thread free lists by size
 * class; nothing is shared between threads, so no locks. Mbed TLS zeroizes
 * secrets before it frees, and blocks are zeroed again when handed out. */
#include "alloc.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <mbedtls/platform.h>

#define GRAIN 16
#define CLASSES 64			/* blocks up to 1 KiB */
#define DEPTH 32			/* cached blocks per class and thread */

struct header {
	size_t cls;			/* size class, or CLASSES when not cached */
	size_t pad;			/* keeps the payload 16-byte aligned */
};

struct free_block {
	struct free_block *next;
};

struct thread_cache {
	struct free_block *head[CLASSES];
	unsigned count[CLASSES];
};

static __thread struct thread_cache *cache;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

/* Returns a dying thread's blocks to malloc so short-lived threads
 * (sss children, unlock slots) leave nothing behind. */
static void cache_release(void *p)
{
	struct thread_cache *c = p;
	for (int i = 0; i < CLASSES; i++) {
		while (c->head[i]) {
			struct free_block *b = c->head[i];
			c->head[i] = b->next;
			free((struct header *)b - 1);
		}
	}
	free(c);
}

static void cache_key_create(void)
{
	pthread_key_create(&cache_key, cache_release);
}

static struct thread_cache *thread_cache(void)
{
	if (!cache) {
		/* here too, so the cache works (and is released at thread
		 * exit) even where crypto_init() did not install it */
		pthread_once(&cache_once, cache_key_create);
		cache = calloc(1, sizeof(*cache));
		if (cache)
			pthread_setspecific(cache_key, cache);
	}
	return cache;
}

void *crypto_block_calloc(size_t n, size_t size)
{
	size_t total, cls;
	struct thread_cache *c;
	struct header *h;

	if (size && n > SIZE_MAX / size)
		return NULL;
	total = n * size;
	/* A free block holds the free-list link, so even a zero-size request
	 * gets the smallest class (class 0 would be a 0-byte block). */
	cls = total ? (total + GRAIN - 1) / GRAIN : 1;
	c = cls < CLASSES ? thread_cache() : NULL;
	if (c && c->head[cls]) {
		struct free_block *b = c->head[cls];
		c->head[cls] = b->next;
		c->count[cls]--;
		memset(b, 0, cls * GRAIN);
		return b;
	}
	h = calloc(1, sizeof(*h) + (cls < CLASSES ? cls * GRAIN : total));
	if (!h)
		return NULL;
	h->cls = cls < CLASSES ? cls : CLASSES;
	return h + 1;
}

void crypto_block_free(void *p)
{
	struct header *h;
	struct thread_cache *c;

	if (!p)
		return;
	h = (struct header *)p - 1;
	c = h->cls < CLASSES ? thread_cache() : NULL;
	if (c && c->count[h->cls] < DEPTH) {
		struct free_block *b = p;
		b->next = c->head[h->cls];
		c->head[h->cls] = b;
		c->count[h->cls]++;
		return;
	}
	free(h);
}

#if defined(__SANITIZE_ADDRESS__)
#define NBDE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NBDE_ASAN 1
#endif
#endif

void crypto_init(void)
{
#ifdef NBDE_ASAN
	/* Sanitizer builds keep plain calloc/free so use-after-free shows. */
	return;
#endif
	pthread_once(&cache_once, cache_key_create);
	mbedtls_platform_set_calloc_free(crypto_block_calloc, crypto_block_free);
}
