/* common.c - linked into every fuzz target: the one-time setup the library
 * code expects of a program (crypto_init: the allocator Mbed TLS uses). */
#include "../../crypto/alloc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	crypto_init();
	return 0;
}
