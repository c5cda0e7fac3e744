/* unit_pins.c - unit tests for what the pins stand on: URL parsing, the HTTP
 * reply parser and Shamir secret sharing. TAP on stdout. */
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "../cmd/pin/pin.h"
#include "../crypto/b64url.h"
#include "../crypto/sss.h"
#include "../crypto/alloc.h"
#include "../net/http_reply_parse.h"
#include "../net/url.h"
#include "tap.h"

static void url_ok(const char *text, const char *host, const char *port, const char *authority, const char *path)
{
	struct url u;
	const char *err = NULL;
	int r = url_parse(text, &u, &err);

	OK(r == 0 && !strcmp(u.host, host) && !strcmp(u.port, port) && !strcmp(u.authority, authority) &&
	   !strcmp(u.path, path), "url %s -> host %s port %s Host: %s path %s", text, host, port, authority, path);
	if (r == 0)
		url_free(&u);
}

static void url_bad(const char *text, const char *why)
{
	struct url u;
	const char *err = NULL;
	int r = url_parse(text, &u, &err);

	OK(r == -1 && err && strstr(err, why), "url '%s' refused (%s)", text, err ? err : "accepted");
	if (r == 0)
		url_free(&u);
}

static void test_urls(void)
{
	url_ok("http://127.0.0.1:8080/x", "127.0.0.1", "8080", "127.0.0.1:8080", "/x");
	url_ok("HTTP://localhost", "localhost", "80", "localhost", "/");
	url_ok("localhost:7500", "localhost", "7500", "localhost:7500", "/");
	url_ok("foobar", "foobar", "80", "foobar", "/");
	url_ok("http://[fd00::1]:7500/a/b?c=d#frag", "fd00::1", "7500", "[fd00::1]:7500", "/a/b?c=d");
	url_ok("http://[::1]", "::1", "80", "[::1]", "/");
	url_ok("127.1.2.3:1234/adv/", "127.1.2.3", "1234", "127.1.2.3:1234", "/adv/");
	url_ok("http://localhost:80?q", "localhost", "80", "localhost", "/?q");
	url_ok("https://localhost", "localhost", "443", "localhost", "/");
	url_ok("HTTPS://tang.example:443/t", "tang.example", "443", "tang.example", "/t");
	url_ok("https://[::1]:80/", "::1", "80", "[::1]:80", "/");
	url_ok("https://127.0.0.1:", "127.0.0.1", "443", "127.0.0.1", "/");
	url_bad("ftp://localhost", "scheme");
	url_bad("foo bar", "spaces");
	url_bad("HTTP://user@localhost/", "user");
	url_bad("http://localhost:0/", "range");
	url_bad("http://localhost:65536/", "range");
	url_bad("http://localhost:12a/", "port");
	url_bad("http://::1/", "brackets");
	url_bad("http://[::1/", "IPv6");
	url_bad("http://[::1]x/", "after");
	url_bad("http:///x", "no host");
}

static enum http_reply_result parse(const char *text, bool eof, struct http_reply *r)
{
	const char *err;
	return http_reply_parse((const unsigned char *)text, strlen(text), eof, r, &err);
}

static void test_replies(void)
{
	struct http_reply r;
	char big[128];

	OK(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{\"a\"}", false, &r) == HTTP_REPLY_COMPLETE &&
	   r.status == 200 && r.body.len == 5 && !memcmp(r.body.p, "{\"a\"}", 5), "Content-Length reply");
	http_reply_free(&r);
	OK(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{\"a", false, &r) == HTTP_REPLY_PARTIAL,
	   "short body waits for more");
	OK(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{\"a", true, &r) == HTTP_REPLY_INVALID,
	   "short body at EOF is invalid");
	OK(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x\r\nde\r\n0\r\n\r\n", false, &r) ==
		   HTTP_REPLY_COMPLETE && r.body.len == 5 && !memcmp(r.body.p, "abcde", 5), "chunked reply");
	http_reply_free(&r);
	OK(parse("HTTP/1.0 404 Not Found\n\nnope", false, &r) == HTTP_REPLY_PARTIAL, "body to EOF waits for EOF");
	OK(parse("HTTP/1.0 404 Not Found\n\nnope", true, &r) == HTTP_REPLY_COMPLETE && r.status == 404 &&
	   r.body.len == 4, "body to EOF with bare LF lines");
	http_reply_free(&r);
	OK(parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", false, &r) == HTTP_REPLY_COMPLETE &&
	   r.status == 204 && r.body.len == 0, "interim 1xx skipped");
	http_reply_free(&r);
	snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", HTTP_REPLY_BODY_MAX + 1);
	OK(parse(big, false, &r) == HTTP_REPLY_INVALID, "body over 1 MiB refused from its Content-Length");
	OK(parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", false, &r) ==
		   HTTP_REPLY_INVALID, "conflicting Content-Length refused");
	OK(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, &r) == HTTP_REPLY_INVALID,
	   "unsupported Transfer-Encoding refused");
	OK(parse("<unknown> GET /adv => 200\r\n", false, &r) == HTTP_REPLY_INVALID, "garbage status line refused");
	OK(parse("", true, &r) == HTTP_REPLY_INVALID, "nothing at all is invalid at EOF");
}

static void test_sss(void)
{
	unsigned char p[SSS_PRIME_LEN], secret[SSS_PRIME_LEN], shares[3 * SSS_SHARE_LEN], two[2 * SSS_SHARE_LEN],
		got[SSS_PRIME_LEN];
	const char *err;
	static const int pairs[3][2] = { { 0, 1 }, { 0, 2 }, { 2, 1 } };

	OK(sss_split(2, 3, p, secret, shares, &err) == 0 && (p[0] & 0x80), "split t=2 n=3 with a 256-bit prime");
	for (int i = 0; i < 3; i++) {
		memcpy(two, shares + pairs[i][0] * SSS_SHARE_LEN, SSS_SHARE_LEN);
		memcpy(two + SSS_SHARE_LEN, shares + pairs[i][1] * SSS_SHARE_LEN, SSS_SHARE_LEN);
		OK(sss_combine(p, sizeof(p), two, 2, got, &err) == 0 && !memcmp(got, secret, sizeof(got)),
		   "shares %d and %d recover the secret", pairs[i][0], pairs[i][1]);
	}
	OK(sss_combine(p, sizeof(p), shares, 1, got, &err) == 0 && memcmp(got, secret, sizeof(got)),
	   "one share of t=2 does not give the secret");
	memcpy(two + SSS_SHARE_LEN, two, SSS_SHARE_LEN);
	OK(sss_combine(p, sizeof(p), two, 2, got, &err) == -1, "the same share twice is refused");
	OK(sss_split(1, 2, p, secret, shares, &err) == 0 &&
	   sss_combine(p, sizeof(p), shares + SSS_SHARE_LEN, 1, got, &err) == 0 && !memcmp(got, secret, sizeof(got)),
	   "t=1: any single share is the secret");
	OK(sss_split(3, 2, p, secret, shares, &err) == -1, "t > n refused");
}

/* A compact JWE whose protected header is hdr (iv, tag of the right size;
 * nothing is decrypted here). */
static char *compact(const char *hdr)
{
	AUTO_FREE char *h = b64url_encode(hdr, strlen(hdr));
	char *out = NULL;
	if (!h || asprintf(&out, "%s..AAAAAAAAAAAAAAAA.AA.AAAAAAAAAAAAAAAAAAAAAA", h) < 0)
		return NULL;
	return out;
}

/* An sss JWE over the given child JWEs (n of them, each once). */
static char *sss_of(char *const *children, size_t n)
{
	size_t len = 128;
	for (size_t i = 0; i < n; i++)
		len += strlen(children[i]) + 3;
	AUTO_FREE char *hdr = malloc(len);
	size_t off = 0;
	if (!hdr)
		return NULL;
	off += snprintf(hdr + off, len - off, "{\"alg\":\"dir\",\"clevis\":{\"pin\":\"sss\",\"sss\":{\"jwe\":[");
	for (size_t i = 0; i < n; i++)
		off += snprintf(hdr + off, len - off, "%s\"%s\"", i ? "," : "", children[i]);
	snprintf(hdr + off, len - off, "],\"p\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"t\":1}}}");
	return compact(hdr);
}

/* Leaves JWEs nested in a chain, the leaf a null pin. */
static char *chain(int levels)
{
	char *j = compact("{\"alg\":\"dir\",\"clevis\":{\"pin\":\"null\"}}");
	for (int i = 1; j && i < levels; i++) {
		char *up = sss_of(&j, 1);
		free(j);
		j = up;
	}
	return j;
}

/* An sss of `fan` children, each an sss of `fan2` null pins (fan2 0: null pins). */
static char *fan_out(size_t fan, size_t fan2)
{
	char *leaf = chain(1), *mid = NULL, *top = NULL;
	char **kids = calloc(fan > fan2 ? fan : fan2 ? fan2 : 1, sizeof(*kids));
	if (!leaf || !kids)
		goto out;
	for (size_t i = 0; i < fan2; i++)
		kids[i] = leaf;
	mid = fan2 ? sss_of(kids, fan2) : leaf;
	for (size_t i = 0; mid && i < fan; i++)
		kids[i] = mid;
	top = mid ? sss_of(kids, fan) : NULL;
out:
	if (mid != leaf)
		free(mid);
	free(leaf);
	free(kids);
	return top;
}

static void shape_is(char *jwe, bool want, const char *why, const char *what)
{
	AUTO_JWE j = { 0 };
	const char *perr;
	char err[128] = "";
	int r = jwe && !jwe_parse(jwe, strlen(jwe), &j, &perr) ? pin_check_shape(&j, err, sizeof(err)) : -2;

	OK(want ? r == 0 : r == -1 && strstr(err, why), "%s %s (%zu bytes)%s%s", want ? "accepts" : "refuses", what,
	   jwe ? strlen(jwe) : 0, *err ? ": " : "", err);
	free(jwe);
}

static void test_shape(void)
{
	shape_is(chain(1), true, "", "a lone null pin");
	shape_is(chain(PIN_MAX_DEPTH), true, "", "JWEs nested 32 deep");
	shape_is(chain(PIN_MAX_DEPTH + 1), false, "nested more than 32 deep", "JWEs nested 33 deep");
	shape_is(fan_out(PIN_SSS_MAX_CHILDREN, 0), true, "", "an sss of 64 pins");
	shape_is(fan_out(PIN_SSS_MAX_CHILDREN + 1, 0), false, "65 child pins, at most 64", "an sss of 65 pins");
	shape_is(fan_out(2, PIN_SSS_MAX_CHILDREN + 1), false, "65 child pins", "65 pins in a nested sss");
	shape_is(fan_out(3, 64), true, "", "3 sss of 64 pins each (196 pins)");
	shape_is(fan_out(5, 64), false, "more than 256 pins", "5 sss of 64 pins each (326 pins)");
	char *junk[65];
	for (int i = 0; i < 65; i++)
		junk[i] = "x";
	shape_is(sss_of(junk, 64), true, "", "an sss of 64 children that are not JWEs (left to decrypt)");
	shape_is(sss_of(junk, 65), false, "65 child pins", "an sss of 65 children that are not JWEs");
}

int main(void)
{
	crypto_init();
	test_urls();
	test_replies();
	test_sss();
	test_shape();
	return tap_done();
}
