/* http_request_parse.c - the incremental request parser (see http_request_parse.h).
 *
 * Line-oriented parts (request line, headers, chunk sizes, trailers) are
 * gathered in one growable line buffer whose limit depends on the phase, so
 * no input can make it grow past a few KiB; bodies are copied straight into
 * a buffer that grows as they arrive (never by what a header announces). */
#include "http_request_parse.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* method SP target SP "HTTP/1.1" CR: anything longer is too long */
#define REQUEST_LINE_MAX (HTTP_METHOD_MAX + 1 + HTTP_TARGET_MAX + 1 + 8 + 1)

void http_request_init(struct http_request *r)
{
	http_request_init_max(r, HTTP_BODY_MAX);
}

void http_request_init_max(struct http_request *r, size_t body_max)
{
	memset(r, 0, sizeof(*r));
	r->phase = HTTP_REQUEST_LINE;
	r->body_max = body_max < HTTP_BODY_MAX ? body_max : HTTP_BODY_MAX;
}

void http_request_free(struct http_request *r)
{
	free(r->line);
	free(r->target);
	free(r->body);
	http_request_init_max(r, r->body_max);
}

void http_request_reset(struct http_request *r)
{
	http_request_free(r);
}

static void fail(struct http_request *r, int status, const char *why)
{
	r->phase = HTTP_INVALID;
	r->error_status = status;
	r->error = why;
}

static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static size_t line_limit(const struct http_request *r)
{
	switch (r->phase) {
	case HTTP_REQUEST_LINE:
		return REQUEST_LINE_MAX;
	case HTTP_HEADERS:
	case HTTP_TRAILERS:
		return r->head_bytes < HTTP_HEAD_MAX ? HTTP_HEAD_MAX - r->head_bytes : 0;
	case HTTP_CHUNK_SIZE:
		return HTTP_CHUNK_LINE_MAX;
	default:
		return 1;	/* the CR after chunk data */
	}
}

/* Which error a line that grew past its limit deserves. */
static void fail_long_line(struct http_request *r)
{
	const char *sp;

	switch (r->phase) {
	case HTTP_REQUEST_LINE:
		sp = memchr(r->line, ' ', r->line_len);
		if (sp && !memchr(sp + 1, ' ', r->line_len - (size_t)(sp + 1 - r->line)))
			fail(r, 414, "request target too long");
		else
			fail(r, 400, "request line too long");
		break;
	case HTTP_HEADERS:
	case HTTP_TRAILERS:
		fail(r, 431, "request header section too large");
		break;
	case HTTP_CHUNK_SIZE:
		fail(r, 400, "chunk size line too long");
		break;
	default:
		fail(r, 400, "chunk data not followed by a line break");
	}
}

static bool line_append(struct http_request *r, const char *p, size_t n)
{
	if (n > line_limit(r) - r->line_len) {
		/* keep what fits so fail_long_line can look at it */
		n = line_limit(r) - r->line_len;
		line_append(r, p, n);
		fail_long_line(r);
		return false;
	}
	if (r->line_len + n + 1 > r->line_cap) {
		size_t cap = r->line_cap ? r->line_cap : 256;
		while (cap < r->line_len + n + 1)
			cap *= 2;
		char *q = realloc(r->line, cap);
		if (!q) {
			fail(r, 400, "out of memory");
			return false;
		}
		r->line = q;
		r->line_cap = cap;
	}
	memcpy(r->line + r->line_len, p, n);
	r->line_len += n;
	r->line[r->line_len] = 0;
	return true;
}

static bool parse_method(struct http_request *r, const char *p, size_t n)
{
	if (!n || n > HTTP_METHOD_MAX) {
		fail(r, 400, "invalid HTTP method");
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (!is_tchar((unsigned char)p[i])) {
			fail(r, 400, "invalid HTTP method");
			return false;
		}
	memcpy(r->method, p, n);
	r->method[n] = 0;
	return true;
}

static bool parse_target(struct http_request *r, const char *p, size_t n)
{
	if (n >= HTTP_TARGET_MAX) {
		fail(r, 414, "request target too long");
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f) {
			fail(r, 400, "invalid character in request target");
			return false;
		}
	if (!n || !(r->target = malloc(n + 1))) {
		fail(r, 400, n ? "out of memory" : "empty request target");
		return false;
	}
	memcpy(r->target, p, n);
	r->target[n] = 0;
	return true;
}

static bool parse_version(struct http_request *r, const char *p, size_t n)
{
	if (n != 8 || memcmp(p, "HTTP/1.", 7) || p[7] < '0' || p[7] > '9') {
		fail(r, 400, "invalid HTTP version");
		return false;
	}
	r->version_minor = p[7] - '0';
	r->keep_alive = r->version_minor >= 1;
	return true;
}

/* METHOD SP TARGET SP HTTP/1.x, single spaces. */
static void request_line(struct http_request *r, const char *line, size_t n)
{
	const char *sp1 = memchr(line, ' ', n), *sp2;

	if (!sp1 || !(sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - line)))) {
		fail(r, 400, "malformed request line");
		return;
	}
	if (parse_method(r, line, (size_t)(sp1 - line)) &&
	    parse_target(r, sp1 + 1, (size_t)(sp2 - sp1 - 1)) &&
	    parse_version(r, sp2 + 1, n - (size_t)(sp2 + 1 - line)))
		r->phase = HTTP_HEADERS;
}

static bool value_has_ctl(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return true;
	}
	return false;
}

static void content_length(struct http_request *r, const char *v, size_t n)
{
	size_t len = 0;

	if (!n) {
		fail(r, 400, "invalid Content-Length");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9') {
			fail(r, 400, "invalid Content-Length");
			return;
		}
		len = len * 10 + (size_t)(v[i] - '0');
		if (len >= r->body_max) {
			fail(r, 413, "request body too large");
			return;
		}
	}
	if (r->has_length && len != r->content_length) {
		fail(r, 400, "conflicting Content-Length headers");
		return;
	}
	r->has_length = true;
	r->content_length = len;
}

static bool token_in_list(const char *v, size_t n, const char *token)
{
	size_t tl = strlen(token);
	for (size_t i = 0; i < n;) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t start = i;
		while (i < n && v[i] != ',')
			i++;
		size_t end = i;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (end - start == tl && !strncasecmp(v + start, token, tl))
			return true;
	}
	return false;
}

static void header_value(struct http_request *r, const char *name, size_t nl, const char *v, size_t n)
{
	if (nl == 14 && !strncasecmp(name, "Content-Length", 14)) {
		content_length(r, v, n);
	} else if (nl == 17 && !strncasecmp(name, "Transfer-Encoding", 17)) {
		if (n != 7 || strncasecmp(v, "chunked", 7))
			fail(r, 400, "unsupported Transfer-Encoding");
		r->chunked = true;
	} else if (nl == 10 && !strncasecmp(name, "Connection", 10)) {
		if (token_in_list(v, n, "close"))
			r->keep_alive = false;
		else if (token_in_list(v, n, "keep-alive"))
			r->keep_alive = true;
	}
}

/* NAME ":" OWS VALUE OWS; returns false when the request became invalid. */
static bool header_line(struct http_request *r, const char *line, size_t n)
{
	size_t nl = 0, vs, ve;

	while (nl < n && is_tchar((unsigned char)line[nl]))
		nl++;
	if (!nl || nl == n || line[nl] != ':') {
		fail(r, 400, line[0] == ' ' || line[0] == '\t' ? "folded header line" : "malformed header line");
		return false;
	}
	for (vs = nl + 1; vs < n && (line[vs] == ' ' || line[vs] == '\t'); vs++)
		;
	for (ve = n; ve > vs && (line[ve - 1] == ' ' || line[ve - 1] == '\t'); ve--)
		;
	if (value_has_ctl(line + vs, ve - vs)) {
		fail(r, 400, "control character in header value");
		return false;
	}
	if (r->phase == HTTP_HEADERS)
		header_value(r, line, nl, line + vs, ve - vs);
	return r->phase != HTTP_INVALID;
}

/* Room for `more` body bytes that have arrived (never for bytes only
 * announced: a declared Content-Length costs nothing until it is sent).
 * Doubling keeps the copies linear. */
static bool body_reserve(struct http_request *r, size_t more)
{
	size_t need = r->body_len + more + 1, cap = r->body_cap ? r->body_cap : HTTP_BODY_FIRST_CAP;

	if (need <= r->body_cap)
		return true;
	while (cap < need)
		cap *= 2;
	unsigned char *p = realloc(r->body, cap);
	if (!p) {
		fail(r, 400, "out of memory");
		return false;
	}
	r->body = p;
	r->body_cap = cap;
	r->body[r->body_len] = 0;
	return true;
}

static void headers_end(struct http_request *r)
{
	if (r->chunked && r->has_length) {
		fail(r, 400, "both Content-Length and Transfer-Encoding");
	} else if (r->chunked) {
		r->phase = HTTP_CHUNK_SIZE;
	} else if (r->has_length && r->content_length) {
		r->phase = HTTP_BODY;
	} else {
		r->phase = HTTP_COMPLETE;
	}
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 1*HEXDIG [ OWS ";" extensions ] */
static void chunk_size_line(struct http_request *r, const char *line, size_t n)
{
	size_t size = 0, i = 0;
	int d;

	for (; i < n && (d = hex_digit(line[i])) >= 0; i++) {
		size = size * 16 + (size_t)d;
		if (size >= r->body_max) {
			fail(r, 413, "request body too large");
			return;
		}
	}
	if (!i || (i < n && line[i] != ';' && line[i] != ' ' && line[i] != '\t')) {
		fail(r, 400, "invalid chunk size");
		return;
	}
	if (r->body_len + size >= r->body_max) {
		fail(r, 413, "request body too large");
		return;
	}
	if (!size) {
		r->phase = HTTP_TRAILERS;
	} else {
		r->content_length = size;
		r->phase = HTTP_CHUNK_DATA;
	}
}

static void finish_line(struct http_request *r)
{
	const char *line = r->line ? r->line : "";
	size_t n = r->line_len;

	if (n && line[n - 1] == '\r')
		n--;
	if (memchr(line, 0, n)) {
		fail(r, 400, "NUL byte in request");
		return;
	}
	switch (r->phase) {
	case HTTP_REQUEST_LINE:
		if (n)
			request_line(r, line, n);
		else if (++r->head_bytes > HTTP_HEAD_MAX)	/* empty lines before a request */
			fail(r, 400, "too many empty lines");
		break;
	case HTTP_HEADERS:
	case HTTP_TRAILERS:
		r->head_bytes += r->line_len + 1;
		if (!n && r->phase == HTTP_HEADERS)
			headers_end(r);
		else if (!n)
			r->phase = HTTP_COMPLETE;
		else
			header_line(r, line, n);
		break;
	case HTTP_CHUNK_SIZE:
		chunk_size_line(r, line, n);
		break;
	default:	/* HTTP_CHUNK_DATA_END */
		if (n)
			fail(r, 400, "chunk data not followed by a line break");
		else
			r->phase = HTTP_CHUNK_SIZE;
	}
	r->line_len = 0;
}

/* Takes bytes up to and including a LF; returns how many it used. */
static size_t feed_line(struct http_request *r, const char *p, size_t n)
{
	const char *lf = memchr(p, '\n', n);
	size_t take = lf ? (size_t)(lf - p) : n;

	if (!line_append(r, p, take))
		return take;
	if (!lf)
		return n;
	finish_line(r);
	return take + 1;
}

/* Copies body bytes of the current Content-Length body or chunk. */
static size_t feed_body(struct http_request *r, const char *p, size_t n)
{
	size_t take = n < r->content_length ? n : r->content_length;

	if (!body_reserve(r, take))
		return take;
	memcpy(r->body + r->body_len, p, take);
	r->body_len += take;
	r->body[r->body_len] = 0;
	r->content_length -= take;
	if (!r->content_length)
		r->phase = r->phase == HTTP_BODY ? HTTP_COMPLETE : HTTP_CHUNK_DATA_END;
	return take;
}

size_t http_request_feed(struct http_request *r, const char *data, size_t len)
{
	size_t used = 0;

	while (used < len && !http_request_done(r)) {
		r->started = true;
		if (r->phase == HTTP_BODY || r->phase == HTTP_CHUNK_DATA)
			used += feed_body(r, data + used, len - used);
		else
			used += feed_line(r, data + used, len - used);
	}
	return used;
}
