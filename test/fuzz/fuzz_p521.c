/* fuzz_p521.c - libFuzzer target: crypto/p521.c against Mbed TLS's generic
 * P-521 code (crypto/p521_ref.h) on arbitrary input; any difference aborts.
 *
 * Input: one mode byte, a 66-byte scalar k, then 66 bytes more. Mode bit 0
 * picks what the last 66 bytes are: a second scalar s whose multiple s·G is
 * the point (always valid, so every input reaches the multiply), or with
 * more input the raw x || y of a point, used only when Mbed TLS accepts it
 * (p521.h trusts its callers to validate). Checked: k·P, k·G, P + k·G and
 * P + P (the doubling inside the addition). Short inputs are zero-padded, so
 * the edge scalars (0, 1, n − 1, n, all ones) are a few bytes each.
 *
 * Mode bit 1 checks ES512 verification instead (the in-tree path against
 * mbedtls_ecdsa_verify): the second scalar is the private d of Q = d·G, k
 * the nonce, the next 64 bytes (66 with mode bit 2) the hash; the signature
 * made from them is valid, and the rest of the input is XORed onto r ‖ s
 * (nothing left: it stays valid). Both verifiers must agree, and accept an
 * unchanged signature. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../crypto/p521.h"
#include "../../crypto/p521_ref.h"

#define B P521_BYTES
#define PB P521_POINT_BYTES

/* One result pair: the same return class and, for finite results, the same
 * point. p521_* say -1 for infinity, p521_ref_* 1. */
static void must_agree(int mine, const unsigned char *a, int ref, const unsigned char *b)
{
	if (ref < 0)
		abort();	/* Mbed TLS refused a point this target made valid */
	if ((mine == -1) != (ref == 1) || (!mine && memcmp(a, b, PB)))
		abort();
}

/* The point P of this input; false when raw coordinates are not a point. */
static bool input_point(const uint8_t *data, size_t size, unsigned char P[PB])
{
	unsigned char s[B] = { 0 }, one[B] = { 0 };

	one[B - 1] = 1;
	if ((data[0] & 1) && size >= 1 + B + PB) {
		memcpy(P, data + 1 + B, PB);
		return p521_ref_mul(s, one, P) == 0 && memcmp(s, P, PB) == 0;
	}
	memcpy(s, data + 1 + B, size > 1 + B ? (size - 1 - B < B ? size - 1 - B : B) : 0);
	return p521_ref_mul(P, s, NULL) == 0;	/* s ≡ 0: infinity, no point to use */
}

/* n bytes of the input from off on into out, zero-padded */
static void take(unsigned char *out, size_t n, const uint8_t *data, size_t size, size_t off)
{
	memset(out, 0, n);
	if (off < size)
		memcpy(out, data + off, size - off < n ? size - off : n);
}

static void check_ecdsa(const uint8_t *data, size_t size, const unsigned char k[B])
{
	static const unsigned char zero[B];
	size_t mdlen = data[0] & 4 ? B : 64, off = 1 + 2 * B + mdlen;
	unsigned char d[B], md[B], e[B], Q[PB], R[PB], rd[B], sum[B], sig[2 * B], mask[2 * B];
	bool changed = false;

	take(d, B, data, size, 1 + B);
	take(md, mdlen, data, size, 1 + 2 * B);
	/* e as Mbed TLS derives it: the hash, or its top 521 bits, mod n */
	memset(e, 0, B);
	for (size_t i = 0; i < mdlen; i++)
		e[B - mdlen + i] = mdlen == B ? (unsigned char)(md[i] >> 7 | (i ? md[i - 1] << 1 : 0)) : md[i];
	if (p521_mul_base(Q, d) || p521_mul_base(R, k) || p521_ref_scalar_op(e, '+', e, zero) ||
	    p521_ref_scalar_op(sig, '+', R, zero) || p521_ref_scalar_op(rd, '*', sig, d) ||
	    p521_ref_scalar_op(sum, '+', e, rd) || p521_ref_scalar_op(sig + B, '/', sum, k))
		return;	/* d or k ≡ 0 */
	if (!memcmp(sig, zero, B) || !memcmp(sig + B, zero, B))
		return;	/* r or s = 0: no signature with this nonce */
	take(mask, sizeof(mask), data, size, off);
	for (size_t i = 0; i < sizeof(mask); i++) {
		sig[i] ^= mask[i];
		changed |= mask[i] != 0;
	}
	int mine = p521_ecdsa_verify_for_test(Q, md, mdlen, sig), ref = p521_ref_ecdsa_verify(Q, md, mdlen, sig);
	if (mine != ref || ref < 0 || (!changed && ref != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char k[B] = { 0 }, P[PB], mine[PB], ref[PB], kG[PB];
	int rk;

	if (size < 1)
		return 0;
	memcpy(k, data + 1, size - 1 < B ? size - 1 : B);
	if (data[0] & 2) {
		check_ecdsa(data, size, k);
		return 0;
	}

	rk = p521_ref_mul(ref, k, NULL);
	must_agree(p521_mul_base(mine, k), mine, rk, ref);
	memcpy(kG, ref, PB);

	if (!input_point(data, size, P))
		return 0;
	must_agree(p521_mul(mine, k, P), mine, p521_ref_mul(ref, k, P), ref);
	must_agree(p521_add(mine, P, P), mine, p521_ref_add(ref, P, P), ref);
	if (rk == 0)
		must_agree(p521_add(mine, P, kG), mine, p521_ref_add(ref, P, kG), ref);
	return 0;
}
