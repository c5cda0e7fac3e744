/* ecmul.c - the /rec ceiling for test/bench/tang.sh: P-521 variable-base scalar
 * multiplications per second on one core, through the same ecmr_mul() (with
 * its point validation) that tang-server runs, with the Mbed TLS nbde links.
 *
 * usage: ecmul SECONDS
 * prints: multiplications/s */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../../crypto/ecmr.h"
#include "../../crypto/alloc.h"
#include "../../crypto/json.h"
#include "../../crypto/jwk.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	crypto_init();
	const char *err;
	cJSON *tmpl = json_parse_str("{\"alg\":\"ECMR\"}");
	cJSON *server = jwk_generate(tmpl, &err), *client = jwk_generate(tmpl, &err);
	cJSON *client_pub = client ? jwk_public(client) : NULL;
	struct ec_key *k = server ? ec_key_from_jwk(server, &err) : NULL;
	double seconds = argc > 1 ? atof(argv[1]) : 3, start = now_s(), t;
	long n = 0;

	if (!k || !client_pub) {
		fprintf(stderr, "ecmul: key setup failed\n");
		return 1;
	}
	while ((t = now_s()) - start < seconds) {
		cJSON *r = ecmr_mul(k, client_pub, &err);
		if (!r) {
			fprintf(stderr, "ecmul: %s\n", err);
			return 1;
		}
		cJSON_Delete(r);
		n++;
	}
	printf("%.0f\n", n / (t - start));
	return 0;
}
