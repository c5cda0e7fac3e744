/* rand.h - the one randomness source: the kernel CSPRNG via getrandom(). */
#ifndef NBDE_RAND_H
#define NBDE_RAND_H

#include <stddef.h>

/* Fills buf; 0 on success, -1 if the kernel refuses (never returns weak bytes). */
int rand_bytes(void *buf, size_t len);

#endif
