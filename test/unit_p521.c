/* unit_p521.c - crypto/p521.c against Mbed TLS's generic P-521 code
 * (crypto/p521_ref.h) and against published ECDH vectors: field operations at
 * the limb bounds, edge and random scalars, the generator and its negation,
 * doubling through the addition path; ES512 verification (the in-tree
 * path jws.c takes) against mbedtls_ecdsa_verify() and NIST's SigVer
 * vectors. TAP on stdout.
 * P521_DIFF_N: random (scalar, point) pairs (default 2000, and 400 in the
 * ASan build, where one multiply costs ~15× more and the run looks for memory
 * errors rather than wrong values); P521_SEED: the pseudo-random seed
 * (default from getrandom, printed for a re-run). A long run:
 * P521_DIFF_N=100000 build/musl/unit_p521 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../crypto/hash.h"
#include "../crypto/p521.h"
#include "../crypto/p521_ref.h"
#include "../crypto/rand.h"
#include "tap.h"

#if defined(__SANITIZE_ADDRESS__)
#define DEFAULT_DIFF_N 400
#else
#define DEFAULT_DIFF_N 2000
#endif

#define B P521_BYTES
#define PB P521_POINT_BYTES

static uint64_t rng_state;

/* xorshift64*: reproducible from the printed seed */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static void rnd_bytes(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(rnd() >> 56);
}

static void hex_in(unsigned char *out, size_t n, const char *hex)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (unsigned char)v;
	}
}

static unsigned char G[PB], negG[PB], order[B];

static void negate(unsigned char out[PB], const unsigned char in[PB])
{
	static const uint64_t zero[9];
	uint64_t y[9], ny[9];
	unsigned char yb[B];

	/* −(x, y) = (x, p − y), through the reference field code */
	memcpy(out, in, B);
	memcpy(yb, in + B, B);
	memset(y, 0, sizeof(y));
	for (int bit = 0; bit < 8 * B && bit < 9 * 58; bit++)
		if (yb[B - 1 - bit / 8] >> (bit % 8) & 1)
			y[bit / 58] |= (uint64_t)1 << (bit % 58);
	p521_ref_field_op(ny, 'n', y, zero);
	memset(out + B, 0, B);
	for (int bit = 0; bit < 9 * 58; bit++)
		if (ny[bit / 58] >> (bit % 58) & 1)
			out[2 * B - 1 - bit / 8] |= (unsigned char)(1 << (bit % 8));
}

/* ---- field ---- */

static uint64_t rnd_limb(int i)
{
	static const uint64_t p_limb[9] = {
		(1ULL << 58) - 1, (1ULL << 58) - 1, (1ULL << 58) - 1, (1ULL << 58) - 1, (1ULL << 58) - 1,
		(1ULL << 58) - 1, (1ULL << 58) - 1, (1ULL << 58) - 1, (1ULL << 57) - 1,
	};
	switch (rnd() % 8) {
	case 0: return 0;
	case 1: return (1ULL << 59) - 1;	/* the loosest limb accepted */
	case 2: return p_limb[i];
	case 3: return p_limb[i] + (i == 0);	/* p + 1 */
	case 4: return rnd() >> 6;		/* < 2^58 */
	default: return rnd() >> 5;		/* < 2^59 */
	}
}

static void test_field(int n)
{
	static const char ops[] = "+-*sni";
	for (const char *op = ops; *op; op++) {
		int bad = 0, runs = *op == 'i' ? n / 20 : n;
		for (int t = 0; t < runs; t++) {
			uint64_t a[9], b[9], got[9], want[9];
			for (int i = 0; i < 9; i++) {
				a[i] = rnd_limb(i);
				b[i] = rnd_limb(i);
			}
			p521_field_op_for_test(got, *op, a, b);
			if (p521_ref_field_op(want, *op, a, b) || memcmp(got, want, sizeof(got))) {
				if (!bad)
					printf("# field '%c' differs, a[0]=%" PRIx64 " b[0]=%" PRIx64 "\n", *op, a[0], b[0]);
				bad++;
			}
		}
		OK(!bad, "field '%c' on %d loose inputs equals mbedtls_mpi (%d differ)", *op, runs, bad);
	}

	/* canonical form at the edges: p → 0, p + 1 → 1, 2^522 − 1 → 2^521 mod p = 1 */
	uint64_t p[9], ones[9], zero[9] = { 0 }, got[9];
	for (int i = 0; i < 9; i++) {
		p[i] = i < 8 ? (1ULL << 58) - 1 : (1ULL << 57) - 1;
		ones[i] = (1ULL << 58) - 1;
	}
	p521_field_op_for_test(got, '+', p, zero);
	OK(!memcmp(got, zero, sizeof(got)), "p reduces to 0");
	p[0] += 1;
	p521_field_op_for_test(got, '+', p, zero);
	OK(got[0] == 1 && !memcmp(got + 1, zero, 8 * sizeof(uint64_t)), "p + 1 reduces to 1");
	p521_field_op_for_test(got, '+', ones, zero);
	OK(got[0] == 1 && !memcmp(got + 1, zero, 8 * sizeof(uint64_t)), "2^522 − 1 reduces to 1");
	p521_field_op_for_test(got, 'i', zero, zero);
	OK(!memcmp(got, zero, sizeof(got)), "inverse of 0 is 0");
}

/* ---- scalar multiplication ---- */

/* p521_mul (or p521_mul_base when P is NULL) equals Mbed TLS on (k mod n)·P */
static int mul_matches(const unsigned char k[B], const unsigned char *P)
{
	unsigned char got[PB], want[PB];
	int rg = P ? p521_mul(got, k, P) : p521_mul_base(got, k);
	int rw = p521_ref_mul(want, k, P);

	if (rw < 0)
		return 0;
	return rg == (rw == 1 ? -1 : 0) && !memcmp(got, want, PB);
}

static void scalar_plus(unsigned char out[B], const unsigned char in[B], int add)
{
	int carry = add;
	memcpy(out, in, B);
	for (int i = B - 1; i >= 0 && carry; i--) {
		int v = out[i] + carry;
		out[i] = (unsigned char)v;
		carry = v >> 8;
		if (v < 0) {	/* borrow */
			out[i] = (unsigned char)(v + 256);
			carry = -1;
		}
	}
}

static void test_edge_scalars(void)
{
	unsigned char k[B], P[PB], two_n[B];
	int bad = 0, total = 0;

	memset(k, 0, B);
	k[B - 1] = 0x5a;
	p521_ref_mul(P, k, NULL);	/* P = 90·G, a point that is not G */

	unsigned char out[PB], zero[PB] = { 0 };
	memset(k, 0, B);
	memset(out, 0xa5, PB);
	OK(p521_mul(out, k, P) == -1 && !memcmp(out, zero, PB), "0·P is infinity, written as zeros");
	OK(p521_mul(out, order, P) == -1 && p521_mul_base(out, order) == -1, "n·P and n·G are infinity");

	/* small k, n − small, n + small, 2n ± small */
	unsigned char edges[3][B];
	memset(edges[0], 0, B);
	memcpy(edges[1], order, B);
	for (int carry = 0, i = B - 1; i >= 0; i--) {	/* 2n */
		int v = order[i] * 2 + carry;
		two_n[i] = (unsigned char)v;
		carry = v >> 8;
	}
	memcpy(edges[2], two_n, B);
	for (int e = 0; e < 3; e++) {
		for (int d = -20; d <= 20; d++) {
			if (e == 0 && d < 0)
				continue;
			scalar_plus(k, edges[e], d);
			int ok = mul_matches(k, P) && mul_matches(k, NULL) && mul_matches(k, G);
			if (!ok && !bad)
				printf("# edge scalar %s%+d differs\n", e == 0 ? "0" : e == 1 ? "n" : "2n", d);
			bad += !ok;
			total++;
		}
	}
	/* high bits: 2^j ± 1 for j = 500..527, all-ones, all-ones below 2^521 */
	for (int j = 500; j < 8 * B; j++) {
		for (int d = -1; d <= 1; d++) {
			memset(k, 0, B);
			k[B - 1 - j / 8] = (unsigned char)(1 << (j % 8));
			scalar_plus(k, k, d);
			int ok = mul_matches(k, P);
			bad += !ok;
			total++;
		}
	}
	memset(k, 0xff, B);
	bad += !mul_matches(k, P) + !mul_matches(k, NULL);
	k[0] = 0x01;
	bad += !mul_matches(k, P) + !mul_matches(k, NULL);
	total += 4;
	OK(!bad, "%d edge scalars (0..20, n±20, 2n±20, 2^j±1 for j ≥ 500, all-ones) equal Mbed TLS (%d differ)",
	   total, bad);

	/* k = n − 18: its last window addition meets equal points (the doubling
	 * fallback), for any P */
	scalar_plus(k, order, -18);
	OK(mul_matches(k, P) && mul_matches(k, NULL), "(n − 18)·P, the last addition doubling, equals Mbed TLS");
}

static void add_bytes(unsigned char acc[B], const unsigned char k[B])
{
	for (int i = B - 1, carry = 0; i >= 0; i--) {
		int v = acc[i] + k[i] + carry;
		acc[i] = (unsigned char)v;
		carry = v >> 8;
	}
}

/* Pairs in batches of 8 with one point: the first with a 528-bit k (≥ n
 * mostly) compared alone; the other seven with k < 2^521, compared through
 * their sum, k1·P + … + k7·P (p521_add) against (k1 + … + k7)·P (Mbed TLS).
 * A wrong product changes the sum; it keeps Mbed TLS, the slow side under
 * ASan, to 2 multiplications per 8 pairs. */
static void test_random(int n)
{
	unsigned char k[B], ksum[B], P[PB], out[PB], sum[PB], want[PB];
	int bad = 0, bad_base = 0, pairs = 0;

	rnd_bytes(k, B);
	p521_ref_mul(P, k, NULL);
	for (int t = 0; pairs < n; t++) {
		rnd_bytes(k, B);
		bad += !mul_matches(k, P);
		bad_base += !mul_matches(k, NULL);
		pairs++;
		memset(ksum, 0, B);
		for (int i = 0; i < 7; i++, pairs++) {
			rnd_bytes(k, B);
			k[0] = 0, k[1] &= 1;
			add_bytes(ksum, k);
			if (p521_mul(out, k, P))
				bad++;
			else if (i == 0)
				memcpy(sum, out, PB);
			else if (p521_add(sum, sum, out))
				bad++;
		}
		if (p521_ref_mul(want, ksum, P) || memcmp(sum, want, PB)) {
			if (!bad)
				printf("# random batch %d differs\n", t);
			bad++;
		}
		memcpy(P, out, PB);	/* the next point: fresh and on the curve */
	}
	OK(!bad, "%d random (k, P): p521_mul equals Mbed TLS (%d batches differ)", pairs, bad);
	OK(!bad_base, "%d random 528-bit k: p521_mul_base equals Mbed TLS (%d differ)", pairs / 8, bad_base);
}

/* ---- addition, G and −G ---- */

static void test_add(int n)
{
	unsigned char k[B], P[PB], Q[PB], got[PB], want[PB], negP[PB];
	int bad = 0;

	memset(k, 0, B);
	k[B - 1] = 1;
	OK(mul_matches(k, NULL) && !p521_mul_base(got, k) && !memcmp(got, G, PB), "1·G is G");
	OK(p521_add(got, G, negG) == -1, "G + (−G) is infinity");
	OK(!p521_add(got, G, G) && !p521_ref_mul(want, (unsigned char[B]){ [B - 1] = 2 }, NULL) &&
	   !memcmp(got, want, PB), "G + G through the addition path is 2·G");
	rnd_bytes(k, B);
	k[0] = 0;
	OK(!p521_mul(got, k, negG) && !p521_mul_base(want, k) && (negate(want, want), !memcmp(got, want, PB)),
	   "k·(−G) is −(k·G)");
	OK(!p521_mul(got, k, G) && !p521_mul_base(want, k) && !memcmp(got, want, PB),
	   "k·G by the variable-base path equals the base-point path");

	for (int t = 0; t < n; t++) {
		rnd_bytes(k, B);
		p521_ref_mul(P, k, NULL);
		rnd_bytes(k, B);
		p521_ref_mul(Q, k, NULL);
		int rw = p521_ref_add(want, P, Q);
		bad += rw != 0 || p521_add(got, P, Q) || memcmp(got, want, PB);
		/* P + P by addition, against 2·P by Mbed TLS */
		p521_ref_mul(want, (unsigned char[B]){ [B - 1] = 2 }, P);
		bad += p521_add(got, P, P) || memcmp(got, want, PB);
		negate(negP, P);
		bad += p521_add(got, P, negP) != -1;
	}
	OK(!bad, "%d random P, Q: P + Q, P + P and P + (−P) equal Mbed TLS (%d differ)", n, bad);
}

/* ---- NIST CAVS 14.1 ECC CDH primitive, [P-521], COUNT = 0 and 1 ---- */

static const struct {
	const char *d, *qx, *qy, *z, *pubx, *puby;
} cavs[] = {
	{ "017eecc07ab4b329068fba65e56a1f8890aa935e57134ae0ffcce802735151f4eac6564f6ee9974c5e6887a1fefee5743ae2241bfeb95d5ce31ddcb6f9edb4d6fc47",
	  "00685a48e86c79f0f0875f7bc18d25eb5fc8c0b07e5da4f4370f3a9490340854334b1e1b87fa395464c60626124a4e70d0f785601d37c09870ebf176666877a2046d",
	  "01ba52c56fc8776d9e8f5db4f0cc27636d0b741bbe05400697942e80b739884a83bde99e0f6716939e632bc8986fa18dccd443a348b6c3e522497955a4f3c302f676",
	  "005fc70477c3e63bc3954bd0df3ea0d1f41ee21746ed95fc5e1fdf90930d5e136672d72cc770742d1711c3c3a4c334a0ad9759436a4d3c5bf6e74b9578fac148c831",
	  "00602f9d0cf9e526b29e22381c203c48a886c2b0673033366314f1ffbcba240ba42f4ef38a76174635f91e6b4ed34275eb01c8467d05ca80315bf1a7bbd945f550a5",
	  "01b7c85f26f5d4b2d7355cf6b02117659943762b6d1db5ab4f1dbc44ce7b2946eb6c7de342962893fd387d1b73d7a8672d1f236961170b7eb3579953ee5cdc88cd2d" },
	{ "00816f19c1fb10ef94d4a1d81c156ec3d1de08b66761f03f06ee4bb9dcebbbfe1eaa1ed49a6a990838d8ed318c14d74cc872f95d05d07ad50f621ceb620cd905cfb8",
	  "01df277c152108349bc34d539ee0cf06b24f5d3500677b4445453ccc21409453aafb8a72a0be9ebe54d12270aa51b3ab7f316aa5e74a951c5e53f74cd95fc29aee7a",
	  "013d52f33a9f3c14384d1587fa8abe7aed74bc33749ad9c570b471776422c7d4505d9b0a96b3bfac041e4c6a6990ae7f700e5b4a6640229112deafa0cd8bb0d089b0",
	  "000b3920ac830ade812c8f96805da2236e002acbbf13596a9ab254d44d0e91b6255ebf1229f366fb5a05c5884ef46032c26d42189273ca4efa4c3db6bd12a6853759",
	  NULL, NULL },
};

static void test_cavs(void)
{
	for (size_t i = 0; i < sizeof(cavs) / sizeof(cavs[0]); i++) {
		unsigned char d[B], Q[PB], z[B], out[PB], pub[PB];
		hex_in(d, B, cavs[i].d);
		hex_in(Q, B, cavs[i].qx);
		hex_in(Q + B, B, cavs[i].qy);
		hex_in(z, B, cavs[i].z);
		OK(!p521_mul(out, d, Q) && !memcmp(out, z, B), "CAVS ECC CDH P-521 COUNT = %zu: ZIUT", i);
		if (cavs[i].pubx) {
			hex_in(pub, B, cavs[i].pubx);
			hex_in(pub + B, B, cavs[i].puby);
			OK(!p521_mul_base(out, d) && !memcmp(out, pub, PB), "CAVS ECC CDH P-521 COUNT = %zu: QIUT = dIUT·G", i);
		}
	}
}

/* ---- ES512 verification: NIST CAVS 186-3 SigVer [P-521,SHA-512] ---- */

static const struct {
	const char *qx, *qy, *msg, *r, *s;
	int valid;
	const char *result;	/* the file's Result line */
} sigver[] = {
	{ "0153eb2be05438e5c1effb41b413efc2843b927cbf19f0bc9cc14b693eee26394a0d8880dc946a06656bcd09871544a5f15c7a1fa68e00cdc728c7cfb9c448034867",
	  "0143ae8eecbce8fcf6b16e6159b2970a9ceb32c17c1d878c09317311b7519ed5ece3374e7929f338ddd0ec0522d81f2fa4fa47033ef0c0872dc049bb89233eef9bc1",
	  "f69417bead3b1e208c4c99236bf84474a00de7f0b9dd23f991b6b60ef0fb3c62073a5a7abb1ef69dbbd8cf61e64200ca086dfd645b641e8d02397782da92d3542fbddf6349ac0b48b1b1d69fe462d1bb492f34dd40d137163843ac11bd099df719212c160cbebcb2ab6f3525e64846c887e1b52b52eced9447a3d31938593a87",
	  "00dd633947446d0d51a96a0173c01125858abb2bece670af922a92dedcec067136c1fa92e5fa73d7116ac9c1a42b9cb642e4ac19310b049e48c53011ffc6e7461c36",
	  "00efbdc6a414bb8d663bb5cdb7c586bccfe7589049076f98cee82cdb5d203fddb2e0ffb77954959dfa5ed0de850e42a86f5a63c5a6592e9b9b8bd1b40557b9cd0cc0",
	  1, "P" },
	{ "00365388d9589c18ae608124b4cf746ff488183a912e07d26b6e867c5defb552a5a0df5a16b6342014dd1b0b6760072bcd60045d6a9a514fc74d16047c2e8765636d",
	  "01a5319b26fd555f2a12e557418f6aa65a3461aeaea5c0c6d8698ceaa5495eed7a7d2fed0b76e77b5be11834f36e413d5288e47231c0eb0e9007d4b042bb7a1b6014",
	  "27383a923d22292dacff105f00d0433eb719cc5fdf0d555f05a75fef392eb9a2b10aa7984ff8cfcc1425366578d138d193d735706e9689e1f2590374075c3b0143cf2a6f0d2108dcc3d6682c060e036c399774a3bc7800c7f34cba204693a42803df6592165fa19e34b6c1872ea11aa13e7a6648a4f0d56a5bf41dffd8f03aa4",
	  "01d9ef377063a592cf81e27815a2c20789ff9b60f7f125e618b52d90b35abdd41cd7f437cfad337953ab0314fe8e79a2f2d27fa08597d4b28313358f714a737321fb",
	  "00f01d4f150e0a174674a6a61a58a4ba781406024f6dd1b5252e04807b8a807a4ff8d52883eaa258286e506ef4b04ca890e6f81a79ed9a0cd5ed585094fea0bc5c43",
	  1, "P" },
	{ "010d587aa82a4d8e690672c00e3fd71826d892862d14dc4fbad4935aaab86924dc7ee6f7fd3e2bbe86a8652589448494dab83d363d1d623cbae59f6c2670706a0576",
	  "01a9734c99b6ff21267050738937c30971d0f6fe07e29794748a5017ea1036c975c9a52e6d3739ca0e8d70e784529cc1a7437aac5d75c69121b69020a95356137f1d",
	  "b6fd672065774d5c252a6a596d0373b898465af6778c7219011db482fd94a4e260df7fb7bd3703da7293e96e5324c12f5b8e1cd2c27dc3062007b6ea08e1fcc819ca099033eeb0a88ae28fe49be330a1b727d49fbff8f497edb45b8e0fa1553c33e26ff9b4c35b729b85a6e98654ec3f46a2089b6f863033498e1e4aac3690f9",
	  "0188dcb840dfc573a97117009226d58dbb930ba8ec848931786abc770611f3519c8ba73cceb5b489170805bcf04974672fe66c908ba379aca99fa67fec81a994c2d1",
	  "000b1a185512dc6a65e454ea2bdb8049ef8f012a53ae87b759fb5d9edba51ea32e254e80545a99eb4b7c58af96b7c433535fa3f009cc644b1c97666d88355af9fc19",
	  1, "P" },
	{ "01184b27a48e223891cbd1f4a0255747d078f82768157e5adcc8e78355a2ff17d8363dfa39bcdb48e2fae759ea3bd6a8909ce1b2e7c20653915b7cd7b94d8f110349",
	  "003bd6e273ee4278743f1bb71ff7aefe1f2c52954d674c96f268f3985e69727f22adbe31e0dbe01da91e3e6d19baf8efa4dcb4d1cacd06a8efe1b617bd681839e6b9",
	  "3607eaa1db2f696b93d573f67f0359422101cc6ceb526a5ec87b249e5b791ac4df488f4832eb00c6ec94bb52b7dd9d953a9c3ced3fb7171d28c42f81fd9998cd7d35c7030975381e54e071a37eb41d3e419fe93576d141e36a980089db54ebbf3a3ebf8a076daf8e57ce4484d7f7d234e1f6d658da5103a6e1d6ae9641ecac79",
	  "004c1d88d03878f967133eb56714945d3c89c3200fad08bd2d3b930190246bf8d43e453643c94fdab9c646c5a11271c800d5df25c11927c000263e785251d62acd59",
	  "012e31766af5c605a1a67834702052e7e56bbd9e2381163a9bf16b579912a98bebabb70587da58bec621c1e779a8a21c193dda0785018fd58034f9a6ac3e297e3790",
	  0, "F (1 - Message changed)" },
	{ "012a593f568ca2571e543e00066ecd3a3272a57e1c94fe311e5df96afc1b792e5862720fc730e62052bbf3e118d3a078f0144fc00c9d8baaaa8298ff63981d09d911",
	  "017cea5ae75a74100ee03cdf2468393eef55ddabfe8fd5718e88903eb9fd241e8cbf9c68ae16f4a1db26c6352afcb1894a9812da6d32cb862021c86cd8aa483afc26",
	  "a0732a605c785a2cc9a3ff84cbaf29175040f7a0cc35f4ea8eeff267c1f92f06f46d3b35437195185d322cbd775fd24741e86ee9236ba5b374a2ac29803554d715fa4656ac31778f103f88d68434dd2013d4c4e9848a11198b390c3d600d712893513e179cd3d31fb06c6e2a1016fb96ffd970b1489e36a556ab3b537eb29dff",
	  "01aac7692baf3aa94a97907307010895efc1337cdd686f9ef2fd8404796a74701e55b03ceef41f3e6f50a0eeea11869c4789a3e8ab5b77324961d081e1a3377ccc91",
	  "0009c1e7d93d056b5a97759458d58c49134a45071854b8a6b8272f9fe7e78e1f3d8097e8a6e731f7ab4851eb26d5aa4fdadba6296dc7af835fe3d1b6dba4b031d5f3",
	  0, "F (2 - R changed)" },
	{ "01d6aef44370325a8a5882f4667c21172cdc8fa41d712562883ececff53883ac8ee276124e825088c79d6c9d96323cb7b8c0b7ea44d3f0026e2538f4b62d785bb1af",
	  "0027203959a6e944b91fe6306debe74dc5dde9831fd0ec27e8be2d0b56807d63151b15f6495b8632e919e1e6b015f5ae5f2b6fb8cf75b5f848f00cf4ee457cebed3a",
	  "2fc1140a7414e33ab469799f9432b30d29d1e4451b28a756a0f24a7f7f90cb284fb443c074267a7600b370eefffea23078b4016b59cbeb95fab3c6f37a72e92271b29ee2382e1106f8dfd3871ef9bf045f78d378acc8d16c983d54c7bc0b0cb46bba0de78630f6d0796c2c275e46ebc88e6e6c0e675ebd849f02e47f51abd215",
	  "004417ff74889dde6bb1820b5d13da5c81dcf9b0723ee89bb1ff0d3faa90d497685709f315b2cbe55481dee43ebb6d25b1501ae69494dd69e7bffb72f987d1573b93",
	  "00fd7aa027c665458c7ac11d54d4f32cb4a1e727b499ce27b08d3d647c636cc3222a4f0a6057732249ddc22574d7cb80c3769c3ea9de3d33db3edd8ea90cb3f8dc8a",
	  0, "F (3 - S changed)" },
	{ "0007067d2cf7b7619b9fcff2c898246ae0950439b8bab92d809624970eda18456cb99953ce1ae45ee5d36ef02fcd5caa4d951de8581f0c21e572caad56d6dce60da3",
	  "01913c59007a309005f226b6a30122828d60b4d0390359e1977f88b5347dacf2056dd362648e8b1d6fc038a3bd3fde6f1140c740efa9075ab8b4a64b334c5cd43f09",
	  "3629ce6137cffaf0a485594cd47049e7866fa81bb56dd66168567542c6b8fdf7dbafe693c919a7288a03f2483b09c9cd2b3f91670264672967e4542d5bb6c87e861115ff3ec2ec2e96535148623e80525abae8d71f296a4e8947b48bb64074ebb7e0c7a586f57b35da910704f44b41151ac6db350c47e81805fc6932f435a98a",
	  "012aa4a532c108aa3cfb1753f95ca626bb72bd96a423d727656d4ebdc3f406d6cc6c44d3718f9abae8a0b46be9b57f8fd3a540326b63d0d4a8a93165715920437787",
	  "001badaf38e16efd75915f4806f054d40abd2d11e402039bd48c832f66cbfd145e4dac93357d476b7e608d7b75a017374ae76eee86c505f2cc16eaa19075827ccd60",
	  0, "F (4 - Q changed)" },
};

static void test_sigver(void)
{
	for (size_t i = 0; i < sizeof(sigver) / sizeof(sigver[0]); i++) {
		unsigned char Q[PB], msg[128], md[HASH_MAX_LEN], sig[2 * B];
		size_t mdlen;

		hex_in(Q, B, sigver[i].qx);
		hex_in(Q + B, B, sigver[i].qy);
		hex_in(msg, sizeof(msg), sigver[i].msg);
		hex_in(sig, B, sigver[i].r);
		hex_in(sig + B, B, sigver[i].s);
		mdlen = hash_compute("S512", msg, sizeof(msg), md);
		int want = sigver[i].valid ? 0 : 1;
		OK(mdlen == 64 && p521_ecdsa_verify_for_test(Q, md, mdlen, sig) == want &&
		   p521_ref_ecdsa_verify(Q, md, mdlen, sig) == want,
		   "CAVS SigVer P-521,SHA-512 #%zu: Result = %s, both verifiers", i + 1, sigver[i].result);
	}
}

/* ---- ES512 verification against mbedtls_ecdsa_verify() ---- */

/* the 66-byte hash input whose e (Mbed TLS's derive_mpi: the top 521
 * bits) is the scalar e < n */
static void hash_of_scalar(unsigned char md[B], const unsigned char e[B])
{
	for (int i = 0; i < B; i++)
		md[i] = (unsigned char)(e[i] << 7 | (i + 1 < B ? e[i + 1] >> 1 : 0));
}

/* r ‖ s of the hash scalar e by d with nonce k: r = x(k·G) mod n,
 * s = (e + r·d) / k; 0 or -1 */
static int sign_scalar(unsigned char sig[2 * B], const unsigned char d[B], const unsigned char k[B],
		       const unsigned char e[B])
{
	static const unsigned char zero[B];
	unsigned char R[PB], rd[B], sum[B];

	return p521_mul_base(R, k) || p521_ref_scalar_op(sig, '+', R, zero) || p521_ref_scalar_op(rd, '*', sig, d) ||
	       p521_ref_scalar_op(sum, '+', e, rd) || p521_ref_scalar_op(sig + B, '/', sum, k) ? -1 : 0;
}

/* both verifiers say want on (Q, md, sig) */
static int verdicts_are(int want, const unsigned char Q[PB], const unsigned char *md, size_t mdlen,
			const unsigned char sig[2 * B])
{
	return p521_ecdsa_verify_for_test(Q, md, mdlen, sig) == want && p521_ref_ecdsa_verify(Q, md, mdlen, sig) == want;
}

static void test_ecdsa_edges(void)
{
	static const unsigned char zero[B];
	unsigned char d[B], k[B], e[B], md[B], Q[PB], sig[2 * B], bad[2 * B], minus_one[B];

	rnd_bytes(d, B);
	d[0] = 0, d[1] &= 1;
	rnd_bytes(k, B);
	k[0] = 0, k[1] &= 1;
	p521_mul_base(Q, d);

	OK(!sign_scalar(sig, d, k, zero) && verdicts_are(0, Q, zero, B, sig),
	   "e = 0 (u1 = 0, u1·G infinity): valid for both verifiers");
	/* e = r·d makes u1 = k/2 and u2 = k/(2d): u1·G = u2·Q, the sum a doubling */
	OK(!p521_ref_scalar_op(e, '*', sig, d) && !sign_scalar(sig, d, k, e) && (hash_of_scalar(md, e), 1) &&
	   verdicts_are(0, Q, md, B, sig), "e = r·d (u1·G = u2·Q, the addition doubles): valid for both verifiers");
	/* (r, n − s) signs too (ECDSA's malleability; Mbed TLS accepts it) */
	memcpy(bad, sig, B);
	scalar_plus(minus_one, order, -1);
	OK(!p521_ref_scalar_op(bad + B, '*', sig + B, minus_one) && memcmp(bad + B, sig + B, B) &&
	   verdicts_are(0, Q, md, B, bad), "(r, n − s): valid for both verifiers");

	static const struct {
		const char *what;
		int r_edge, s_edge;	/* 0: keep, 1: zero, 2: n, 3: n − 1, 4: + n */
	} edges[] = {
		{ "r = 0", 1, 0 }, { "s = 0", 0, 1 }, { "r = n", 2, 0 }, { "s = n", 0, 2 },
		{ "r = n − 1", 3, 0 }, { "s = n − 1", 0, 3 }, { "r + n", 4, 0 }, { "s + n", 0, 4 },
	};
	int wrong = 0;
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		memcpy(bad, sig, 2 * B);
		for (int half = 0; half < 2; half++) {
			int edge = half ? edges[i].s_edge : edges[i].r_edge;
			unsigned char *v = bad + half * B;
			if (edge == 1)
				memset(v, 0, B);
			else if (edge == 2)
				memcpy(v, order, B);
			else if (edge == 3)
				memcpy(v, minus_one, B);
			else if (edge == 4)
				add_bytes(v, order);
		}
		if (!verdicts_are(1, Q, md, B, bad)) {
			printf("# %s: a verifier did not refuse it\n", edges[i].what);
			wrong++;
		}
	}
	OK(!wrong, "r or s of 0, n, n − 1 or + n: refused by both verifiers");

	memcpy(bad, Q, PB);
	scalar_plus(bad + B, Q + B, 1);
	OK(verdicts_are(2, bad, md, B, sig), "Q off the curve (y + 1): both verifiers refuse the key");
	memset(bad, 0, PB);
	OK(verdicts_are(2, bad, md, B, sig), "Q = (0, 0): both verifiers refuse the key");
}

/* n random keys and 64-byte hashes (SHA-512's, as ES512 has them): each
 * signature valid for both verifiers, and refused by both with one bit of
 * r ‖ s or of the hash flipped, or under the key 2·Q */
static void test_ecdsa_random(int n)
{
	unsigned char d[B], k[B], e[B] = { 0 }, md[64], Q[PB], Q2[PB], sig[2 * B], bad[2 * B], bad_md[64];
	int wrong = 0;

	for (int t = 0; t < n; t++) {
		rnd_bytes(d, B);
		d[0] = 0, d[1] &= 1;
		rnd_bytes(k, B);
		k[0] = 0, k[1] &= 1;
		rnd_bytes(md, sizeof(md));
		memcpy(e + B - sizeof(md), md, sizeof(md));
		if (p521_mul_base(Q, d) || sign_scalar(sig, d, k, e) || p521_add(Q2, Q, Q)) {
			wrong++;
			continue;
		}
		int ok = verdicts_are(0, Q, md, sizeof(md), sig);
		unsigned bit = (unsigned)(rnd() % (8 * sizeof(bad)));
		memcpy(bad, sig, sizeof(bad));
		bad[bit / 8] ^= (unsigned char)(1 << bit % 8);
		ok = ok && verdicts_are(1, Q, md, sizeof(md), bad);
		bit = (unsigned)(rnd() % (8 * sizeof(bad_md)));
		memcpy(bad_md, md, sizeof(bad_md));
		bad_md[bit / 8] ^= (unsigned char)(1 << bit % 8);
		ok = ok && verdicts_are(1, Q, bad_md, sizeof(bad_md), sig) && verdicts_are(1, Q2, md, sizeof(md), sig);
		if (!ok && !wrong)
			printf("# random signature %d: the verifiers differ or are wrong\n", t);
		wrong += !ok;
	}
	OK(!wrong, "%d random keys and hashes: valid, flipped-bit and wrong-key verdicts agree with Mbed TLS (%d wrong)",
	   n, wrong);
}

int main(void)
{
	const char *n_env = getenv("P521_DIFF_N"), *seed_env = getenv("P521_SEED");
	int n = n_env ? atoi(n_env) : DEFAULT_DIFF_N;

	if (seed_env)
		rng_state = strtoull(seed_env, NULL, 0);
	else if (rand_bytes(&rng_state, sizeof(rng_state)))
		return 1;
	rng_state |= 1;
	printf("# P521_SEED=0x%" PRIx64 " P521_DIFF_N=%d\n", rng_state, n);

	unsigned char one[B] = { [B - 1] = 1 };
	OK(!p521_ref_mul(G, one, NULL) && !p521_ref_order(order), "Mbed TLS gives G and n");
	negate(negG, G);

	test_field(n);
	test_cavs();
	test_edge_scalars();
	test_add(n / 40 + 1);
	test_random(n);
	test_sigver();
	test_ecdsa_edges();
	test_ecdsa_random(n / 40 + 1);
	return tap_done();
}
