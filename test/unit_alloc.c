/* unit_alloc.c - the per-thread block cache Mbed TLS allocates through
 * (crypto/alloc.c): every size incl. 0, alignment, zeroing, reuse, calloc
 * overflow, and blocks freed by another thread than the one that took them.
 * The sanitizer build runs the same functions with ASan watching the bytes
 * (it does not install them for Mbed TLS, so this is their only test there).
 * TAP on stdout. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../crypto/alloc.h"
#include "tap.h"

/* What Mbed TLS may store in a block: anything up to max_align_t. */
#define ALIGNMENT 16
#define SIZES 2100		/* past the largest cached class (about 1 KiB) */
#define THREADS 4
#define ROUNDS 20000
#define SLOTS 256		/* blocks the threads hand each other */

static bool all_bytes(const unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void test_sizes(void)
{
	size_t bad_align = 0, not_zero = 0, nulls = 0;

	/* twice, so the second round runs on blocks the first one cached */
	for (int round = 0; round < 2; round++) {
		for (size_t n = 0; n < SIZES; n++) {
			unsigned char *p = crypto_block_calloc(1, n);
			if (!p) {
				nulls++;
				continue;
			}
			bad_align += (uintptr_t)p % ALIGNMENT != 0;
			not_zero += !all_bytes(p, n, 0);
			memset(p, 0xa5, n);	/* ASan: the whole request is ours */
			crypto_block_free(p);
		}
	}
	OK(!nulls, "every size 0..%d is allocated (%zu NULL)", SIZES - 1, nulls);
	OK(!bad_align, "every block is %d-byte aligned (%zu not)", ALIGNMENT, bad_align);
	OK(!not_zero, "every block comes zeroed, fresh or reused (%zu not)", not_zero);
}

static void test_zero_size(void)
{
	void *a = crypto_block_calloc(0, 8), *b = crypto_block_calloc(8, 0), *c = crypto_block_calloc(0, 0);

	OK(a && b && c && a != b && b != c && a != c, "zero-size requests give distinct blocks");
	crypto_block_free(a);	/* a cached block holds an 8-byte link: ASan sees where it goes */
	crypto_block_free(b);
	crypto_block_free(c);
	unsigned char *d = crypto_block_calloc(1, 16);
	OK(d == c, "a zero-size block is a 16-byte block that takes the free-list link");
	OK(d && all_bytes(d, 16, 0), "and comes back zeroed");
	memset(d, 0x5a, 16);
	crypto_block_free(d);
}

static void test_reuse(void)
{
	unsigned char *a = crypto_block_calloc(1, 100), *b = crypto_block_calloc(4, 25);

	memset(a, 0xff, 100);
	memset(b, 0xff, 100);
	crypto_block_free(a);
	crypto_block_free(b);
	unsigned char *c = crypto_block_calloc(97, 1), *d = crypto_block_calloc(1, 112);
	OK(c == b && d == a, "freed blocks of a size class are reused, last freed first");
	OK(c && d && all_bytes(c, 97, 0) && all_bytes(d, 112, 0), "reused blocks are zeroed");
	crypto_block_free(c);
	crypto_block_free(d);

	unsigned char *big = crypto_block_calloc(1, 64 * 1024);
	OK(big && all_bytes(big, 64 * 1024, 0), "a 64 KiB block (not cached) comes zeroed");
	crypto_block_free(big);
	crypto_block_free(NULL);
	OK(!crypto_block_calloc(SIZE_MAX / 2, 4) && !crypto_block_calloc(4, SIZE_MAX / 2),
	   "n * size overflowing size_t gives NULL");
}

/* Threads take blocks, hand them to each other through shared slots and free
 * what others took; each block carries its owner's pattern, so two owners of
 * one block (a broken free list) show as a wrong pattern. */
static struct {
	pthread_mutex_t lock;
	unsigned char *block[SLOTS];
	size_t size[SLOTS];
	unsigned long corrupt, nulls;
} shared = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void *exchange(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;

	for (int i = 0; i < ROUNDS; i++) {
		size_t n = rand_r(&seed) % 1200, slot = rand_r(&seed) % SLOTS;
		unsigned char *p = crypto_block_calloc(1, n), *old;
		size_t old_n;
		if (!p) {
			__atomic_add_fetch(&shared.nulls, 1, __ATOMIC_RELAXED);
			continue;
		}
		memset(p, (int)(n & 0xff), n);
		pthread_mutex_lock(&shared.lock);
		old = shared.block[slot];
		old_n = shared.size[slot];
		shared.block[slot] = p;
		shared.size[slot] = n;
		pthread_mutex_unlock(&shared.lock);
		if (old) {
			if (!all_bytes(old, old_n, (unsigned char)(old_n & 0xff)))
				__atomic_add_fetch(&shared.corrupt, 1, __ATOMIC_RELAXED);
			crypto_block_free(old);
		}
	}
	return NULL;
}

static void test_threads(void)
{
	pthread_t t[THREADS];
	int started = 0;

	for (int i = 0; i < THREADS; i++)
		started += !pthread_create(&t[i], NULL, exchange, (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	OK(started == THREADS, "%d threads exchanged blocks", started);
	OK(!shared.corrupt && !shared.nulls, "no block had two owners across threads (%lu corrupt, %lu NULL)",
	   shared.corrupt, shared.nulls);
	/* the exited threads released their caches; the rest goes back here
	 * (the leak checker of the sanitizer run sees anything lost) */
	for (int i = 0; i < SLOTS; i++)
		crypto_block_free(shared.block[i]);
}

int main(void)
{
	crypto_init();
	test_sizes();
	test_zero_size();
	test_reuse();
	test_threads();
	return tap_done();
}
