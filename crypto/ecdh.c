/* ecdh.c - one-pass ECDH on P-256 for TPM salted sessions, over ec.c. */
#include "ecdh.h"
#include "ec_internal.h"
#include "jwk.h"
#include "secret.h"

#include <string.h>

#define RAW (1 + 2 * ECDH_P256_BYTES)	/* 0x04 ‖ x ‖ y */

int ecdh_p256_ephemeral(const unsigned char qx[ECDH_P256_BYTES], const unsigned char qy[ECDH_P256_BYTES],
			unsigned char ex[ECDH_P256_BYTES], unsigned char ey[ECDH_P256_BYTES],
			unsigned char z[ECDH_P256_BYTES])
{
	AUTO_EC_KEY k = ec_key_new(curve_by_name("P-256"));
	unsigned char raw[RAW], zraw[RAW];
	mbedtls_ecp_point peer, shared;
	size_t olen = 0;
	int r;

	if (!k)
		return -1;
	mbedtls_ecp_point_init(&peer);
	mbedtls_ecp_point_init(&shared);
	raw[0] = 0x04;
	memcpy(raw + 1, qx, ECDH_P256_BYTES);
	memcpy(raw + 1 + ECDH_P256_BYTES, qy, ECDH_P256_BYTES);
	/* ec_mul checks the peer point is on the curve (and not infinity) */
	r = mbedtls_ecp_point_read_binary(&k->grp, &peer, raw, RAW) || mbedtls_ecp_check_pubkey(&k->grp, &peer) ||
	    ec_gen_keypair(k) || ec_mul(k, &shared, &k->d, &peer) ||
	    mbedtls_ecp_point_write_binary(&k->grp, &k->Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, raw, RAW) ||
	    olen != RAW ||
	    mbedtls_ecp_point_write_binary(&k->grp, &shared, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, zraw, RAW) ||
	    olen != RAW;
	if (!r) {
		memcpy(z, zraw + 1, ECDH_P256_BYTES);
		memcpy(ex, raw + 1, ECDH_P256_BYTES);
		memcpy(ey, raw + 1 + ECDH_P256_BYTES, ECDH_P256_BYTES);
	} else {
		wipe(z, ECDH_P256_BYTES);
	}
	mbedtls_ecp_point_free(&peer);
	mbedtls_ecp_point_free(&shared);	/* zeroizes its coordinates */
	wipe(zraw, sizeof(zraw));
	return r ? -1 : 0;
}
