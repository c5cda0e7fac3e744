/* ct.h - what the constant-time programs (test/ct_*.c) share: SECRET and
 * PUBLIC tell valgrind's memcheck which bytes are secret (undefined) and
 * which a result may show; a branch or a memory address that depends on a
 * secret is then reported, and test/01-ct.t fails on any report. Each
 * program defines ct_main(); built without valgrind's headers, main exits
 * 77 and 01-ct.t skips the program. */
#ifndef NBDE_TEST_CT_H
#define NBDE_TEST_CT_H

#include <stddef.h>
#include <stdio.h>

int ct_main(void);

#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define SECRET(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#define PUBLIC(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))

int main(void)
{
	return ct_main();
}
#else
#define SECRET(p, n) ((void)(p), (void)(n))
#define PUBLIC(p, n) ((void)(p), (void)(n))

int main(void)
{
	fprintf(stderr, "built without <valgrind/memcheck.h>\n");
	return 77;
}
#endif

/* Prints a result once memcheck is told it is public (so the computation
 * cannot be dropped): "WHAT: rc RC, digest SUM". */
static inline void ct_show(const char *what, int rc, const void *out, size_t n)
{
	const unsigned char *p = out;
	unsigned sum = 0;

	PUBLIC(&rc, sizeof(rc));
	PUBLIC(out, n);
	for (size_t i = 0; i < n; i++)
		sum = sum * 31 + p[i];
	printf("%s: rc %d, digest %08x\n", what, rc, sum);
}

#endif
