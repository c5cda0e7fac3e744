/* common.c - linked into every fuzz target: the one-time setup the library
 * code expects of a program (crypto_init: the allocator Mbed TLS uses). */
#include "../../crypto/alloc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
/* A target that needs more one-time setup (a key directory, a network
 * namespace) defines this; it runs after crypto_init. */
void fuzz_setup(void) __attribute__((weak));

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	crypto_init();
	if (fuzz_setup)
		fuzz_setup();
	return 0;
}
