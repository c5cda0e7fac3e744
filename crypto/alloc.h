/* alloc.h - the allocator Mbed TLS uses inside nbde. */
#ifndef NBDE_ALLOC_H
#define NBDE_ALLOC_H

/* Installs the per-thread block cache as Mbed TLS's calloc/free. Called
 * once from main() before any thread starts; safe to call again. */
void crypto_init(void);

#endif
