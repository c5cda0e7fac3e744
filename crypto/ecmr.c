/* ecmr.c - point multiply, add and subtract for McCallum–Relyea. */
#include "ecmr.h"
#include "ec_internal.h"
#include "json.h"

#include <string.h>

cJSON *ecmr_mul(const struct ec_key *priv, const cJSON *pub, const char **err)
{
	mbedtls_ecp_point P, R;
	cJSON *out = NULL;

	if (!priv->has_d) {
		*err = "exchange key has no private part";
		return NULL;
	}
	mbedtls_ecp_point_init(&P);
	mbedtls_ecp_point_init(&R);
	if (ec_point_from_jwk(priv, pub, &P, err))
		goto done;
	if (ec_mul(priv, &R, &priv->d, &P) ||
	    !(out = ec_point_jwk(priv, &R)))
		*err = "EC multiplication failed";
done:
	mbedtls_ecp_point_free(&P);
	mbedtls_ecp_point_free(&R);
	return out;
}

/* Negates P in place: (x, y) → (x, p − y). */
static int negate(const struct ec_key *k, mbedtls_ecp_point *P)
{
	unsigned char raw[EC_POINT_MAX];
	size_t olen, n = k->c->size;
	mbedtls_mpi y;
	int r;

	mbedtls_mpi_init(&y);
	r = mbedtls_ecp_point_write_binary(&k->grp, P, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, raw, sizeof(raw));
	if (!r)
		r = mbedtls_mpi_read_binary(&y, raw + 1 + n, n);
	if (!r)
		r = mbedtls_mpi_sub_mpi(&y, &k->grp.P, &y);
	if (!r)
		r = mbedtls_mpi_write_binary(&y, raw + 1 + n, n);
	if (!r)
		r = mbedtls_ecp_point_read_binary(&k->grp, P, raw, olen);
	mbedtls_mpi_free(&y);
	return r;
}

static cJSON *add_points(const cJSON *a, const cJSON *b, bool subtract, const char **err)
{
	AUTO_EC_KEY ka = ec_key_from_jwk(a, err);
	mbedtls_ecp_point B, R;
	cJSON *out = NULL;

	if (!ka)
		return NULL;
	mbedtls_ecp_point_init(&B);
	mbedtls_ecp_point_init(&R);
	if (ec_point_from_jwk(ka, b, &B, err))
		goto done;
	if ((subtract && negate(ka, &B)) || ec_add(ka, &R, &ka->Q, &B)) {
		*err = "EC point addition failed";
		goto done;
	}
	out = ec_point_jwk(ka, &R);
	if (!out)
		*err = "EC point addition gave the point at infinity";
done:
	mbedtls_ecp_point_free(&B);
	mbedtls_ecp_point_free(&R);
	return out;
}

cJSON *ecmr_add(const cJSON *a, const cJSON *b, const char **err)
{
	return add_points(a, b, false, err);
}

cJSON *ecmr_sub(const cJSON *a, const cJSON *b, const char **err)
{
	return add_points(a, b, true, err);
}

cJSON *ecmr_exchange(const cJSON *local, const cJSON *remote, const char **err)
{
	if (cJSON_GetObjectItemCaseSensitive(local, "d")) {
		AUTO_EC_KEY k = ec_key_from_jwk(local, err);
		return k ? ecmr_mul(k, remote, err) : NULL;
	}
	if (cJSON_GetObjectItemCaseSensitive(remote, "d"))
		return ecmr_add(local, remote, err);
	return ecmr_sub(local, remote, err);
}
