/* ct_p521.c - runs crypto/p521.c on secrets that valgrind's memcheck sees as
 * undefined (the ctgrind technique): a branch or a memory address that
 * depends on them is reported as "Conditional jump or move depends on
 * uninitialised value(s)" or "Use of uninitialised value". test/01-ct.t runs
 * it under valgrind and fails on any report. Outside valgrind the marks are
 * no-ops and it just runs. Exits 77 when built without valgrind's headers. */
#include <stdio.h>
#include <string.h>

#include "../crypto/p521.h"

#include "ct.h"

/* The NIST CAVS ECC CDH P-521 COUNT = 0 peer point (public) */
static const char qx[] = "00685a48e86c79f0f0875f7bc18d25eb5fc8c0b07e5da4f4370f3a9490340854334b1e1b87fa3954"
			 "64c60626124a4e70d0f785601d37c09870ebf176666877a2046d";
static const char qy[] = "01ba52c56fc8776d9e8f5db4f0cc27636d0b741bbe05400697942e80b739884a83bde99e0f671693"
			 "9e632bc8986fa18dccd443a348b6c3e522497955a4f3c302f676";

static const char n_minus_18[] =
	"01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	"fa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e913863f7";

static void hex_in(unsigned char *out, size_t n, const char *hex)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (unsigned char)v;
	}
}

int ct_main(void)
{
	unsigned char k[P521_BYTES], P[P521_POINT_BYTES], A[P521_POINT_BYTES], out[P521_POINT_BYTES];
	uint64_t a[9], b[9], r[9];
	int rc;

	hex_in(P, P521_BYTES, qx);
	hex_in(P + P521_BYTES, P521_BYTES, qy);

	/* scalars: a typical one, all-ones (≥ n: the reduction), n − 18 (its
	 * last addition meets equal points), 0 (infinity) */
	static const unsigned char fill[] = { 0x5a, 0xff, 0x00, 0x00 };
	for (size_t i = 0; i < sizeof(fill); i++) {
		memset(k, fill[i], sizeof(k));
		if (i == 2)
			hex_in(k, sizeof(k), n_minus_18);
		SECRET(k, sizeof(k));
		rc = p521_mul(out, k, P);
		ct_show("p521_mul", rc, out, sizeof(out));
		SECRET(k, sizeof(k));
		rc = p521_mul_base(out, k);
		ct_show("p521_mul_base", rc, out, sizeof(out));
	}

	/* addition of secret points (the client's ECMR steps), equal ones too */
	memset(k, 0x33, sizeof(k));
	k[0] = 0;
	p521_mul_base(A, k);
	SECRET(A, sizeof(A));
	SECRET(P, sizeof(P));
	rc = p521_add(out, A, P);
	ct_show("p521_add", rc, out, sizeof(out));
	PUBLIC(P, sizeof(P));
	memcpy(out, P, sizeof(P));
	SECRET(P, sizeof(P));
	SECRET(out, sizeof(out));
	rc = p521_add(A, P, out);
	ct_show("p521_add P+P", rc, A, sizeof(A));

	/* the field layer alone: inversion and canonical form */
	for (int i = 0; i < 9; i++)
		a[i] = b[i] = (uint64_t)0x0123456789abcdefULL >> 6;
	SECRET(a, sizeof(a));
	SECRET(b, sizeof(b));
	p521_field_op_for_test(r, 'i', a, b);
	ct_show("field inverse", 0, (unsigned char *)r, sizeof(r));
	p521_field_op_for_test(r, '-', a, b);
	ct_show("field a - a", 0, (unsigned char *)r, sizeof(r));
	return 0;
}
