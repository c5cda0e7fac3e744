/* p521_speed.c - P-521 variable-base scalar multiplications per CPU second:
 * crypto/p521.c, Mbed TLS's generic code (crypto/p521_ref.h) and OpenSSL's
 * `openssl speed -seconds S ecdhp521` (its nistp521 code; one ECDH is one
 * multiplication plus its checks), measured alternately in one run so they
 * see the same machine load; prints each round and the medians. Also k·G
 * (key generation and the d·G check of a loaded key): nbde's comb against
 * Mbed TLS on a fresh group, which builds its comb table per call, as it did
 * for every new or loaded nbde key.
 * The rates are CPU time (as openssl speed counts by default), so another
 * process on the same core lowers them less than wall time would, but a busy
 * shared machine still makes them noisy.
 *
 * usage: p521_speed [SECONDS [ROUNDS]]   (defaults 3 and 3)
 * build: test/bench/p521.sh does it with the Makefile's flags. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../crypto/p521.h"
#include "../../crypto/p521_ref.h"

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

enum { NBDE, MBEDTLS, NBDE_G, MBEDTLS_G, KINDS };

/* multiplications per CPU second for `secs`; each output is the next point
 * (the next scalar for k·G) */
static double rate(int which, double secs)
{
	unsigned char k[P521_BYTES], P[P521_POINT_BYTES], out[P521_POINT_BYTES];
	long n = 0;

	memset(k, 0xa7, sizeof(k));
	k[0] = 0x01;
	if (p521_ref_mul(P, k, NULL))
		return -1;
	double t0 = cpu_s(), t;
	do {
		int r = which == NBDE	 ? p521_mul(out, k, P)
			: which == MBEDTLS ? p521_ref_mul(out, k, P)
			: which == NBDE_G  ? p521_mul_base(out, k)
					   : p521_ref_mul(out, k, NULL);
		if (r)
			return -1;
		memcpy(P, out, sizeof(P));
		k[P521_BYTES - 1] ^= out[7];
		k[P521_BYTES - 2]++;
		n++;
	} while ((t = cpu_s() - t0) < secs);
	return n / t;
}

/* `openssl speed`'s ECDH P-521 rate, or -1 */
static double openssl_rate(int secs)
{
	char cmd[128], line[512];
	double v = -1;

	snprintf(cmd, sizeof(cmd), "openssl speed -seconds %d ecdhp521 2>/dev/null", secs);
	FILE *f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "(nistp521)");
		if (p && sscanf(p + strlen("(nistp521)"), "%*f%*[s ]%lf", &v) != 1)
			v = -1;
	}
	pclose(f);
	return v;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 3, rounds = argc > 2 ? atoi(argv[2]) : 3;
	double r[KINDS + 1][32];

	if (secs < 1 || rounds < 1 || rounds > 32) {
		fprintf(stderr, "usage: p521_speed [SECONDS [ROUNDS ≤ 32]]\n");
		return 2;
	}
	for (int i = 0; i < rounds; i++) {
		for (int j = 0; j < KINDS; j++)
			r[j][i] = rate(j, secs);
		r[KINDS][i] = openssl_rate(secs);
		printf("round %d: k·P nbde %.0f/s, Mbed TLS %.0f/s; openssl ecdhp521 %.0f/s; k·G nbde %.0f/s, Mbed TLS %.0f/s\n",
		       i + 1, r[NBDE][i], r[MBEDTLS][i], r[KINDS][i], r[NBDE_G][i], r[MBEDTLS_G][i]);
		fflush(stdout);
	}
	for (int j = 0; j <= KINDS; j++)
		qsort(r[j], rounds, sizeof(double), cmp);
	double a = r[NBDE][rounds / 2], b = r[MBEDTLS][rounds / 2], c = r[KINDS][rounds / 2];
	double g = r[NBDE_G][rounds / 2], h = r[MBEDTLS_G][rounds / 2];
	printf("median of %d: k·P nbde %.0f/s, Mbed TLS %.0f/s (nbde %.1fx); openssl ecdhp521 %.0f/s (nbde/openssl %.2f);"
	       " k·G nbde %.0f/s, Mbed TLS %.0f/s (nbde %.1fx)\n",
	       rounds, a, b, a / b, c, c > 0 ? a / c : 0, g, h, g / h);
	return 0;
}
