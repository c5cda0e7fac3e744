/* unit_pins.c - unit tests for what the pins stand on: URL parsing, the HTTP
 * reply parser and Shamir secret sharing. TAP on stdout. */
#include <stdio.h>
#include <string.h>

#include "../crypto/sss.h"
#include "../crypto/alloc.h"
#include "../net/http_reply.h"
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
	url_bad("https://localhost", "https:// URLs are not supported");
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

int main(void)
{
	crypto_init();
	test_urls();
	test_replies();
	test_sss();
	return tap_done();
}
