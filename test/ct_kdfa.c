/* ct_kdfa.c - the tpm2pin pin's secret-keyed code, HMAC and KDFa
 * (crypto/hash.c, crypto/kdf.c over Mbed TLS) and the salted session's
 * KDFe, run on a PIN, an authValue and an ECDH secret that valgrind's
 * memcheck sees as undefined: a branch or a memory address that depends on
 * them is reported (see ct_p521.c). test/01-ct.t runs
 * it under valgrind and fails on any report. Exits 77 when built without
 * valgrind's headers. */
#include <stdio.h>
#include <string.h>

#include "../crypto/alloc.h"
#include "../crypto/hash.h"
#include "../crypto/kdf.h"

#include "ct.h"


/* prints the output once memcheck is told it is public, so the computation
 * cannot be dropped */
static void show(const char *what, int ok, const unsigned char *out, size_t n)
{
	PUBLIC(out, n);
	printf("%s %s", what, ok ? "ok" : "FAILED");
	for (size_t i = 0; i < n; i++)
		printf("%02x", out[i]);
	printf("\n");
}

int ct_main(void)
{
	unsigned char pin[] = "correct horse 4711", salt[32], auth[64], mac[64];
	static const char *const hashes[] = { "S1", "S256", "S384", "S512" };

	crypto_init();
	memset(salt, 0x5A, sizeof(salt));
	for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++) {
		size_t n = hash_len(hashes[i]);
		SECRET(pin, sizeof(pin) - 1);
		int ok = !kdfa(hashes[i], pin, sizeof(pin) - 1, "nbde tpm2pin", salt, sizeof(salt), NULL, 0, auth,
			       n * 8);
		/* the session HMAC keyed with the authValue */
		struct hash_part parts[] = { { salt, 32 }, { salt, 16 }, { "\0", 1 } };
		ok = ok && hash_hmac(hashes[i], auth, n, parts, 3, mac) == n;
		show("kdfa", ok, auth, n);
		show("hmac", ok, mac, n);
		/* a salted session's KDFe of the ECDH secret Z */
		unsigned char z[32], seed[64];
		memset(z, 0x3C, sizeof(z));
		SECRET(z, sizeof(z));
		ok = !kdfe(hashes[i], z, sizeof(z), "SECRET", salt, 32, salt, 32, seed, n * 8);
		show("kdfe", ok, seed, n);
	}
	return 0;
}
