/* alloc.h - the allocator Mbed TLS uses inside nbde. */
#ifndef NBDE_ALLOC_H
#define NBDE_ALLOC_H

#include <stddef.h>

/* Installs the per-thread block cache as Mbed TLS's calloc/free. Called
 * once from main() before any thread starts; safe to call again. */
void crypto_init(void);

/* The cache's calloc and free themselves (test/unit_alloc.c tests them in
 * every build; sanitizer builds do not install them for Mbed TLS). */
void *crypto_block_calloc(size_t n, size_t size);
void crypto_block_free(void *p);

#endif
