/* unit_tpm2.c - unit tests for the tpm2 pin's TPM 2.0 module (cmd/tpm2/):
 * the wire format both ways, the response parsers on malformed answers, the
 * response codes in words and the PolicyPCR digest against tpm2-tools'.
 * TAP on stdout. */
#include <stdio.h>
#include <string.h>

#include "../cmd/tpm2/marshal.h"
#include "../cmd/tpm2/tpm.h"
#include "../crypto/alloc.h"
#include "tap.h"

static size_t unhex(const char *h, unsigned char *out)
{
	size_t n = 0;
	for (; h[0] && h[1]; h += 2)
		sscanf(h, "%2hhx", &out[n++]);
	return n;
}

static void test_writer(void)
{
	static struct tpm_wbuf w;
	static const unsigned char want[] = { 0x80, 0x01, 0, 0, 0, 0x14, 0, 0, 0x01, 0x7A,
					      0x12, 0x34, 0, 3, 'a', 'b', 'c', 0, 0, 0 };

	tpm_cmd_begin(&w, TPM_ST_NO_SESSIONS, 0x17A);
	tpm_put_u16(&w, 0x1234);
	size_t at = tpm_begin_size16(&w);
	tpm_put_bytes(&w, "abc", 3);
	tpm_end_size16(&w, at);
	tpm_put_b2b(&w, NULL, 0);
	tpm_put_u8(&w, 0);
	OK(tpm_cmd_end(&w) == 0 && w.len == sizeof(want) && !memcmp(w.b, want, sizeof(want)),
	   "command header, big-endian fields and a nested size marshal as the spec lays them out");

	tpm_cmd_begin(&w, TPM_ST_SESSIONS, 0x131);
	for (int i = 0; i < TPM_MAX_MSG; i++)
		tpm_put_u8(&w, 0xAA);
	OK(w.overflow && w.len <= TPM_MAX_MSG && tpm_cmd_end(&w) == -1,
	   "writing past the command buffer marks it overflowed and the command is refused");
	tpm_cmd_begin(&w, TPM_ST_SESSIONS, 0x131);
	tpm_put_b2b(&w, w.b, 70000);
	OK(w.overflow && tpm_cmd_end(&w) == -1, "a TPM2B over 65535 bytes is refused");

	tpm_cmd_begin(&w, TPM_ST_NO_SESSIONS, 0x17E);
	tpm_put_pcr_sel(&w, &(struct tpm_pcr_sel){ TPM_ALG_SHA256, 1u << 0 | 1u << 7 | 1u << 23 });
	static const unsigned char sel[] = { 0, 0, 0, 1, 0, 0x0B, 3, 0x81, 0x00, 0x80 };
	OK(w.len == TPM_HEADER_LEN + sizeof(sel) && !memcmp(w.b + TPM_HEADER_LEN, sel, sizeof(sel)),
	   "PCR selection: one bank, 3 select bytes, PCR i = bit i%%8 of byte i/8");
}

static void test_reader(void)
{
	static const unsigned char in[] = { 0x12, 0x34, 0, 2, 'h', 'i', 0, 9, 'x' };
	struct tpm_rbuf r = tpm_rbuf(in, sizeof(in));
	size_t n;

	OK(tpm_get_u16(&r) == 0x1234, "u16 big-endian");
	const unsigned char *p = tpm_get_b2b(&r, 64, &n);
	OK(p && n == 2 && !memcmp(p, "hi", 2), "TPM2B read in place");
	p = tpm_get_b2b(&r, 64, &n);
	OK(!p && n == 0 && r.bad, "a TPM2B longer than what is left is refused");
	OK(tpm_get_u32(&r) == 0 && r.bad, "after a bad read every read yields zero");

	r = tpm_rbuf(in, sizeof(in));
	tpm_get_u16(&r);
	OK(!tpm_get_b2b(&r, 1, &n) && r.bad, "a TPM2B longer than its bound is refused");

	r = tpm_rbuf(in, 3);
	OK(tpm_get_u32(&r) == 0 && r.bad && r.pos == 0, "a u32 with 3 bytes left is refused, nothing consumed");

	r = tpm_rbuf(in, sizeof(in));
	struct tpm_rbuf sub = tpm_get_sub(&r, 4);
	OK(tpm_get_u32(&sub) == 0x12340002 && tpm_rbuf_done(&sub) && r.pos == 4, "sub-reader");
	sub = tpm_get_sub(&r, 100);
	OK(sub.bad && r.bad, "a sub-reader longer than what is left is refused");
}

static void test_pcr_sels(void)
{
	struct tpm_pcr_sel s[TPM_MAX_BANKS];
	size_t n;
	static const unsigned char two[] = { 0, 0, 0, 2, 0, 4, 3, 0xff, 0xff, 0xff, 0, 0x0b, 4, 0x80, 0, 0, 0xff };
	static const unsigned char many[] = { 0, 0, 0, 17 };
	static const unsigned char wide[] = { 0, 0, 0, 1, 0, 0x0b, 200 };
	struct tpm_rbuf r = tpm_rbuf(two, sizeof(two));

	OK(!tpm_get_pcr_sels(&r, s, TPM_MAX_BANKS, &n) && n == 2 && s[0].hash == TPM_ALG_SHA1 &&
	   s[0].mask == 0xffffff && s[1].hash == TPM_ALG_SHA256 && s[1].mask == 0x80 && tpm_rbuf_done(&r),
	   "two banks read; select bytes beyond PCR 23 are skipped");
	r = tpm_rbuf(many, sizeof(many));
	OK(tpm_get_pcr_sels(&r, s, TPM_MAX_BANKS, &n) == -1 && n == 0, "more banks than any TPM has is refused");
	r = tpm_rbuf(wide, sizeof(wide));
	OK(tpm_get_pcr_sels(&r, s, TPM_MAX_BANKS, &n) == -1, "a 200-byte select is refused");
}

static void test_resp_open(void)
{
	uint32_t rc;
	struct tpm_rbuf body;
	const char *err;
	static const unsigned char good[] = { 0x80, 0x01, 0, 0, 0, 12, 0, 0, 0, 0, 0xAB, 0xCD };
	static const unsigned char fail[] = { 0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x09, 0x9D };
	static const unsigned char fail_body[] = { 0x80, 0x01, 0, 0, 0, 11, 0, 0, 0x09, 0x9D, 0 };
	static const unsigned char longer[] = { 0x80, 0x01, 0, 0, 0, 99, 0, 0, 0, 0 };
	static const unsigned char tag[] = { 0x12, 0x34, 0, 0, 0, 10, 0, 0, 0, 0 };
	static const unsigned char v12[] = { 0x00, 0xC4, 0, 0, 0, 10, 0, 0, 0, 0x1E };

	OK(!tpm_resp_open(good, sizeof(good), TPM_ST_NO_SESSIONS, &rc, &body, &err) && rc == 0 && body.len == 2,
	   "a success header opens, its body follows");
	OK(tpm_resp_open(good, sizeof(good), TPM_ST_SESSIONS, &rc, &body, &err) == -1,
	   "a success tagged other than the command is refused");
	OK(!tpm_resp_open(fail, sizeof(fail), TPM_ST_SESSIONS, &rc, &body, &err) && rc == 0x99D,
	   "a failure gives its response code");
	OK(tpm_resp_open(fail_body, sizeof(fail_body), TPM_ST_NO_SESSIONS, &rc, &body, &err) == -1,
	   "a failure with a body is refused");
	OK(tpm_resp_open(longer, sizeof(longer), TPM_ST_NO_SESSIONS, &rc, &body, &err) == -1,
	   "a size field that disagrees with the bytes read is refused");
	OK(tpm_resp_open(tag, sizeof(tag), TPM_ST_NO_SESSIONS, &rc, &body, &err) == -1, "an unknown tag is refused");
	OK(tpm_resp_open(v12, 5, TPM_ST_NO_SESSIONS, &rc, &body, &err) == -1, "a short header is refused");
	OK(!tpm_resp_open(v12, sizeof(v12), TPM_ST_NO_SESSIONS, &rc, &body, &err) && rc == 0x1E,
	   "a TPM 1.2 style refusal gives its code");
}

/* t->resp = hex, its size field set to its length */
static void set_resp(struct tpm *t, const char *hex)
{
	t->resp_len = unhex(hex, t->resp);
	for (int i = 0; i < 4; i++)
		t->resp[2 + i] = (unsigned char)(t->resp_len >> (24 - 8 * i));
}

static void test_parsers(void)
{
	static struct tpm t;
	static unsigned char values[TPM_PCR_COUNT][TPM_MAX_DIGEST];
	struct tpm_pcr_sel want = { TPM_ALG_SHA1, 0x81 };
	uint32_t got, counter, handle;
	AUTO_BUF out = { 0 };

	/* PCR_Read: counter 5, PCRs 0 and 7 of sha1, two 20-byte digests */
	set_resp(&t, "800100000042000000000000000500000001000403810000000000020014"
		     "0101010101010101010101010101010101010101"
		     "0014"
		     "0707070707070707070707070707070707070707");
	OK(!tpm_parse_pcr_read(&t, &want, values, &got, &counter) && got == 0x81 && counter == 5 &&
	   values[0][0] == 1 && values[7][19] == 7, "PCR_Read: values land at their PCR numbers");
	want.mask = 0x01;
	OK(tpm_parse_pcr_read(&t, &want, values, &got, &counter) == -1 && strstr(t.err, "malformed"),
	   "PCR_Read: a PCR that was not asked for is refused");
	want.mask = 0x81;
	set_resp(&t, "80010000002c000000000000000500000001000403810000000000010014"
		     "0101010101010101010101010101010101010101");
	OK(tpm_parse_pcr_read(&t, &want, values, &got, &counter) == -1, "PCR_Read: fewer digests than selected bits");
	set_resp(&t, "80010000002d000000000000000500000001000403010000000000010015"
		     "010101010101010101010101010101010101010101");
	OK(tpm_parse_pcr_read(&t, &want, values, &got, &counter) == -1, "PCR_Read: a digest of the wrong length");
	set_resp(&t, "80010000000a0000099d");
	OK(tpm_parse_pcr_read(&t, &want, values, &got, &counter) == -1 && strstr(t.err, "TPM_RC_POLICY_FAIL"),
	   "a refusal is reported by its response code's name");

	set_resp(&t, "00c40000000a0000001e");
	OK(tpm_parse_pcr_read(&t, &want, values, &got, &counter) == -1 && strstr(t.err, "TPM 1.2"),
	   "a TPM 1.2's refusal says the pin needs a TPM 2.0");

	/* Unseal: parameterSize 5, TPM2B "abc", then the auth area */
	set_resp(&t, "800200000019000000000000000500036162630000010000");
	OK(!tpm_parse_unseal(&t, &out) && out.len == 3 && !memcmp(out.p, "abc", 3),
	   "Unseal: the sealed data comes out of its TPM2B");
	buf_free(&out);
	set_resp(&t, "80020000001a00000000000000050003616263000001000000");
	OK(tpm_parse_unseal(&t, &out) == -1 && !out.p, "Unseal: junk after the auth area is refused");
	set_resp(&t, "800200000018000000000000000600036162630000010000");
	OK(tpm_parse_unseal(&t, &out) == -1 && !out.p, "Unseal: a parameterSize beyond its data is refused");

	/* Create: outPrivate, outPublic, creation data/hash/ticket, auth area */
	struct buf pub = { 0 }, priv = { 0 };
	set_resp(&t, "800200000000000000000000001a0004aabbccdd00060008000000000000000080214000000100000000010000");
	OK(!tpm_parse_create(&t, &pub, &priv) && priv.len == 6 && !memcmp(priv.p, "\0\4\xaa\xbb\xcc\xdd", 6) &&
	   pub.len == 8 && pub.p[1] == 6, "Create: outPrivate and outPublic come out with their size fields");
	buf_free(&pub);
	buf_free(&priv);
	set_resp(&t, "800200000000000000000000001a0004aabbccdd00070008000000000000000080214000000100000000010000");
	OK(tpm_parse_create(&t, &pub, &priv) == -1 && !pub.p && !priv.p, "Create: a TPM2B overrunning the rest is refused");

	set_resp(&t, "80010000000e0000000080000001");
	OK(!tpm_parse_handle(&t, TPM_ST_NO_SESSIONS, "x", &handle) && handle == 0x80000001, "a handle response");
	set_resp(&t, "80010000000d00000000800000");
	OK(tpm_parse_handle(&t, TPM_ST_NO_SESSIONS, "x", &handle) == -1, "a truncated handle is refused");

	/* GetCapability(PCRS): sha1 empty, sha256 with all 24 */
	set_resp(&t, "80010000002300000000010000000500000002000403000000000b03ffffff");
	struct tpm_pcr_sel banks[TPM_MAX_BANKS];
	size_t n;
	OK(!tpm_parse_pcr_banks(&t, banks, TPM_MAX_BANKS, &n) && n == 1 && banks[0].hash == TPM_ALG_SHA256,
	   "GetCapability: only banks with PCRs count");
}

static void test_rc_text(void)
{
	OK(strstr(tpm_rc_text(0x99D), "PCR values changed since the binding") != NULL,
	   "0x99d (policy failure on session 1) reads 'PCR values changed since the binding'");
	OK(strstr(tpm_rc_text(0x921), "lockout") != NULL, "0x921 reads as dictionary-attack lockout");
	OK(strstr(tpm_rc_text(0x1DF), "TPM_RC_INTEGRITY") != NULL, "0x1df (parameter 1) is TPM_RC_INTEGRITY");
	OK(tpm_rc_text(0x12345) == NULL && tpm_rc_text(0x3F) == NULL, "unknown codes have no text");
}

static void test_policy(void)
{
	unsigned char values[64], d[TPM_MAX_DIGEST], want[TPM_MAX_DIGEST];
	size_t n;

	/* tpm2_createpolicy -g sha256 --policy-pcr -l sha256:0,7 -f V, V = bytes 0..31 then 100..131 */
	for (int i = 0; i < 32; i++)
		values[i] = (unsigned char)i, values[32 + i] = (unsigned char)(100 + i);
	unhex("aed767964cb07d71ce957ab3bdf7969a2511c6d65d19f0cd2380052d2480b492", want);
	n = tpm_policy_pcr_digest(TPM_ALG_SHA256, &(struct tpm_pcr_sel){ TPM_ALG_SHA256, 0x81 }, values, 64, d);
	OK(n == 32 && !memcmp(d, want, 32), "PolicyPCR digest equals tpm2_createpolicy's (sha256, sha256:0,7)");

	/* -g sha384 -l sha1:16 -f bytes 0..19: the session hash, not the bank's, hashes */
	unhex("6b8a368b4c49fb6b8a38609c667f4b7660d5514516797ce22fb095e466b2d2a8d3484045a8cabd1008e46c80a24fdca7", want);
	n = tpm_policy_pcr_digest(TPM_ALG_SHA384, &(struct tpm_pcr_sel){ TPM_ALG_SHA1, 1u << 16 }, values, 20, d);
	OK(n == 48 && !memcmp(d, want, 48), "PolicyPCR digest equals tpm2_createpolicy's (sha384, sha1:16)");
	OK(tpm_policy_pcr_digest(0x0012, &(struct tpm_pcr_sel){ TPM_ALG_SHA1, 1 }, values, 20, d) == 0,
	   "an unsupported session hash gives no digest");
}

/* PolicyAuthValue after an empty policy: tpm2_policyauthvalue's well-known
 * 8fcd2169...; after the PolicyPCR above: H(that ‖ TPM_CC_PolicyAuthValue). */
static void test_policy_auth_value(void)
{
	unsigned char d[TPM_MAX_DIGEST] = { 0 }, want[TPM_MAX_DIGEST];

	unhex("8fcd2169ab92694e0c633f1ab772842b8241bbc20288981fc7ac1eddc1fddb0e", want);
	OK(tpm_policy_auth_value_digest(TPM_ALG_SHA256, d, 32) == 32 && !memcmp(d, want, 32),
	   "PolicyAuthValue from the empty policy equals tpm2_policyauthvalue's digest");
	unhex("aed767964cb07d71ce957ab3bdf7969a2511c6d65d19f0cd2380052d2480b492", d);
	unhex("09b7a35eb6c29da73bde2799618f00b8a4f288e0b6ee1b86408105bea5151161", want);
	OK(tpm_policy_auth_value_digest(TPM_ALG_SHA256, d, 32) == 32 && !memcmp(d, want, 32),
	   "PolicyPCR then PolicyAuthValue chains the digests");
	OK(tpm_policy_auth_value_digest(TPM_ALG_SHA256, d, 20) == 0, "a digest of the wrong length is refused");
}

/* Session HMACs (Part 1 §19.6.5) against an independent computation. */
static void test_session_hmac(void)
{
	unsigned char name[34], nc[32], nt[32], mac[TPM_MAX_DIGEST], want[32];
	static const unsigned char params[] = { 0, 5, 'h', 'e', 'l', 'l', 'o' };

	name[0] = 0x00, name[1] = 0x0B;
	memset(name + 2, 0xAB, 32);
	memset(nc, 1, 32);
	memset(nt, 2, 32);
	struct tpm_hmac_in in = {
		.hash = TPM_ALG_SHA256, .key = "secret-auth", .key_len = 11, .cc = 0x15E,
		.names = name, .names_len = 34, .nonce_caller = nc, .nonce_caller_len = 32,
		.nonce_tpm = nt, .nonce_tpm_len = 32, .attrs = 0,
	};
	unhex("162e40d4e800ce70d0b24e15c697750ae42d837752d6db5b96ec5836973888d9", want);
	OK(tpm_cmd_hmac(&in, mac) == 32 && !memcmp(mac, want, 32),
	   "command HMAC = HMAC(auth, cpHash(cc, name) ‖ nonceCaller ‖ nonceTPM ‖ attrs)");
	in.key_len = 10;
	OK(tpm_cmd_hmac(&in, mac) == 32 && memcmp(mac, want, 32), "another key gives another command HMAC");
	in.key_len = 11;
	in.names = NULL, in.names_len = 0, in.params = params, in.params_len = sizeof(params), in.attrs = 1;
	unhex("cda9019590b18515ebb0174316dc2e3e3ebc1eaeb380a5b5818fd817594b61ad", want);
	OK(tpm_resp_hmac(&in, mac) == 32 && !memcmp(mac, want, 32),
	   "response HMAC = HMAC(auth, rpHash(0, cc, params) ‖ nonceTPM ‖ nonceCaller ‖ attrs)");
}

/* tpm2pin sends its authValue whole: the TPM drops its trailing zero
 * bytes, so sessionKey ‖ authValue and sessionKey ‖ trimmed authValue must
 * key the same HMAC (zero padding to the block; both fit in one block for
 * SHA-256's 32 + 32 and SHA-512's 64 + 64). */
static void test_hmac_trailing_zeros(void)
{
	static const struct { uint16_t alg; size_t len; } h[] = { { TPM_ALG_SHA256, 32 }, { TPM_ALG_SHA512, 64 } };
	unsigned char key[128], a[TPM_MAX_DIGEST], b[TPM_MAX_DIGEST], nc[32] = { 1 }, nt[32] = { 2 };

	for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
		memset(key, 0x5A, sizeof(key));
		memset(key + 2 * h[i].len - 3, 0, 3);	/* the authValue ends in three zero bytes */
		struct tpm_hmac_in in = { .hash = h[i].alg, .key = key, .key_len = 2 * h[i].len, .cc = 0x15E,
					  .nonce_caller = nc, .nonce_caller_len = 32, .nonce_tpm = nt,
					  .nonce_tpm_len = 32 };
		size_t n = tpm_cmd_hmac(&in, a);
		in.key_len -= 3;
		OK(n == h[i].len && tpm_cmd_hmac(&in, b) == n && !memcmp(a, b, n),
		   "a whole and a trimmed authValue key the same session HMAC (%zu-byte digest)", h[i].len);
		in.key_len -= 1;
		OK(tpm_cmd_hmac(&in, b) == n && memcmp(a, b, n), "  ... cutting a non-zero byte changes it");
	}
}

static void test_object_name(void)
{
	/* TPM2B_PUBLIC of 4 bytes: type KEYEDHASH, nameAlg sha256 */
	static const unsigned char pub[] = { 0, 4, 0, 8, 0, 0x0B };
	unsigned char name[2 + TPM_MAX_DIGEST], want[32];

	unhex("1e6c48651c0672c18d9e1ac4c74c6c30392f722842773ebafc5bde76c8c4ea11", want);
	size_t n = tpm_object_name(pub, sizeof(pub), name);
	OK(n == 34 && name[0] == 0 && name[1] == 0x0B && !memcmp(name + 2, want, 32),
	   "an object's name = nameAlg ‖ H(TPMT_PUBLIC)");
	OK(tpm_object_name(pub, sizeof(pub) - 1, name) == 0, "a truncated TPM2B_PUBLIC has no name");
	static const unsigned char bad_alg[] = { 0, 4, 0, 8, 0, 0x12 };
	OK(tpm_object_name(bad_alg, sizeof(bad_alg), name) == 0, "an unknown nameAlg has no name");
}

static void test_lockout_parser(void)
{
	static struct tpm t;
	struct tpm_lockout l;
	/* GetCapability answer: moreData 0, TPM_CAP_TPM_PROPERTIES, 4 properties */
	static const unsigned char good[] = {
		0x80, 0x01, 0, 0, 0, 0x33, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 4,
		0, 0, 2, 0x0E, 0, 0, 0, 2, 0, 0, 2, 0x0F, 0, 0, 0, 3,
		0, 0, 2, 0x10, 0, 0, 3, 0xE8, 0, 0, 2, 0x11, 0, 0, 3, 0xE8,
	};

	memcpy(t.resp, good, sizeof(good));
	t.resp_len = sizeof(good);
	OK(tpm_parse_lockout(&t, &l) == 0 && l.counter == 2 && l.max_tries == 3 && l.interval_s == 1000 &&
	   l.recovery_s == 1000, "lockout counter, max tries, interval and recovery read from GetCapability");
	t.resp[5] = 0x2B;	/* the last property cut off */
	t.resp_len = 0x2B;
	OK(tpm_parse_lockout(&t, &l) == -1, "a truncated property list is refused");
	memcpy(t.resp, good, sizeof(good));
	t.resp[18] = 9;		/* 9 properties, 4 sent */
	t.resp_len = sizeof(good);
	OK(tpm_parse_lockout(&t, &l) == -1, "a property count beyond what was asked is refused");
}

int main(void)
{
	crypto_init();
	test_writer();
	test_reader();
	test_pcr_sels();
	test_resp_open();
	test_parsers();
	test_rc_text();
	test_policy();
	test_policy_auth_value();
	test_session_hmac();
	test_hmac_trailing_zeros();
	test_object_name();
	test_lockout_parser();
	return tap_done();
}
