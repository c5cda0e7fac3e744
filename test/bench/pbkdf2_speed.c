/* pbkdf2_speed.c - PBKDF2-HMAC-SHA256 iterations per CPU second in the
 * Mbed TLS that nbde links (libcryptsetup's entry point,
 * mbedtls_pkcs5_pbkdf2_hmac_ext), with the SHA-NI and the portable
 * compression, and Mbed TLS's own loop (a full HMAC per iteration, four
 * compressions) for comparison. Prints one line per kind:
 *   KIND ITERATIONS_PER_CPU_SECOND
 * usage: pbkdf2_speed ITERATIONS
 * build: test/bench/pbkdf2.sh does it with the Makefile's flags. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>

#include "../../crypto/mbedtls_alt/sha256_compress.h"

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Mbed TLS 3.6's pkcs5_pbkdf2_hmac loop for one 32-byte block, as it was
 * before scripts/mbedtls-pbkdf2.patch */
static int stock_loop(unsigned iter, unsigned char out[32])
{
	mbedtls_md_context_t c;
	unsigned char u[32];
	int ret;

	mbedtls_md_init(&c);
	ret = mbedtls_md_setup(&c, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
	ret = ret ? ret : mbedtls_md_hmac_starts(&c, (const unsigned char *)"password", 8);
	ret = ret ? ret : mbedtls_md_hmac_update(&c, (const unsigned char *)"salt\0\0\0\1", 8);
	ret = ret ? ret : mbedtls_md_hmac_finish(&c, u);
	ret = ret ? ret : mbedtls_md_hmac_reset(&c);
	for (int k = 0; k < 32; k++)
		out[k] = u[k];
	for (unsigned i = 1; !ret && i < iter; i++) {
		ret = mbedtls_md_hmac_update(&c, u, 32);
		ret = ret ? ret : mbedtls_md_hmac_finish(&c, u);
		ret = ret ? ret : mbedtls_md_hmac_reset(&c);
		for (int k = 0; k < 32; k++)
			out[k] ^= u[k];
	}
	mbedtls_md_free(&c);
	return ret;
}

static double rate(int impl, int stock, unsigned iter, unsigned char out[32])
{
	if (sha256_impl_force(impl) < 0)
		return -1;
	double t0 = cpu_s();
	int ret = stock ? stock_loop(iter, out)
			: mbedtls_pkcs5_pbkdf2_hmac_ext(MBEDTLS_MD_SHA256, (const unsigned char *)"password", 8,
							(const unsigned char *)"salt", 4, iter, 32, out);
	double t = cpu_s() - t0;
	return ret ? -1 : iter / t;
}

int main(int argc, char **argv)
{
	unsigned iter = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1000000;
	unsigned char a[32], b[32];

	printf("nbde-shani %.0f\n", rate(SHA256_IMPL_SHANI, 0, iter, a));
	printf("nbde-portable %.0f\n", rate(SHA256_IMPL_PORTABLE, 0, iter / 4, b));
	printf("mbedtls-loop-shani %.0f\n", rate(SHA256_IMPL_SHANI, 1, iter / 2, b));
	printf("mbedtls-loop-portable %.0f\n", rate(SHA256_IMPL_PORTABLE, 1, iter / 8, b));
	/* the same derivation through both paths must agree */
	rate(SHA256_IMPL_AUTO, 1, 1000, b);
	rate(SHA256_IMPL_AUTO, 0, 1000, a);
	for (int k = 0; k < 32; k++)
		if (a[k] != b[k]) {
			fprintf(stderr, "pbkdf2_speed: the kept-state PBKDF2 differs from Mbed TLS's loop\n");
			return 1;
		}
	return 0;
}
