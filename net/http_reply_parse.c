/* http_reply_parse.c - HTTP/1.x response parser (see http_reply_parse.h).
 *
 * Stateless by design: the client re-parses the bytes it holds after every
 * read. Replies from tang are a few KiB, so the repeated work is negligible,
 * and a parser without state is simple to fuzz and hard to get wrong. */
#include "http_reply_parse.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct head {
	int status;
	size_t end;		/* offset of the first body byte */
	bool has_length, chunked;
	size_t length;
};

void http_reply_free(struct http_reply *r)
{
	buf_free(&r->body);
	r->status = 0;
}

/* The line starting at off, without its LF or CRLF. false when no LF yet. */
static bool get_line(const unsigned char *d, size_t len, size_t off, size_t *line_len, size_t *next)
{
	const unsigned char *lf = off < len ? memchr(d + off, '\n', len - off) : NULL;

	if (!lf)
		return false;
	*next = (size_t)(lf - d) + 1;
	*line_len = (size_t)(lf - d) - off;
	if (*line_len && d[off + *line_len - 1] == '\r')
		(*line_len)--;
	return true;
}

static bool parse_status_line(const unsigned char *l, size_t n, int *status)
{
	if (n < 12 || memcmp(l, "HTTP/1.", 7) || !isdigit(l[7]) || l[8] != ' ' ||
	    !isdigit(l[9]) || !isdigit(l[10]) || !isdigit(l[11]) || l[9] == '0' ||
	    (n > 12 && l[12] != ' '))
		return false;
	*status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	return true;
}

/* The header value with surrounding spaces and tabs removed. */
static void trim(const unsigned char **v, size_t *n)
{
	while (*n && (**v == ' ' || **v == '\t'))
		(*v)++, (*n)--;
	while (*n && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t'))
		(*n)--;
}

static bool parse_length(const unsigned char *v, size_t n, struct head *h, const char **err)
{
	size_t len = 0;

	if (!n) {
		*err = "empty Content-Length in reply";
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (!isdigit(v[i])) {
			*err = "invalid Content-Length in reply";
			return false;
		}
		len = len * 10 + (size_t)(v[i] - '0');
		if (len > HTTP_REPLY_BODY_MAX) {
			*err = "reply body larger than 1 MiB";
			return false;
		}
	}
	if (h->has_length && h->length != len) {
		*err = "conflicting Content-Length headers in reply";
		return false;
	}
	h->has_length = true;
	h->length = len;
	return true;
}

static bool parse_header_line(const unsigned char *l, size_t n, struct head *h, const char **err)
{
	const unsigned char *colon = memchr(l, ':', n), *v;
	size_t name_len, vlen;

	if (!colon || colon == l || l[0] == ' ' || l[0] == '\t') {
		*err = "malformed header line in reply";
		return false;
	}
	name_len = (size_t)(colon - l);
	v = colon + 1;
	vlen = n - name_len - 1;
	trim(&v, &vlen);
	if (name_len == 14 && !strncasecmp((const char *)l, "Content-Length", 14))
		return parse_length(v, vlen, h, err);
	if (name_len == 17 && !strncasecmp((const char *)l, "Transfer-Encoding", 17)) {
		/* tang never compresses; chunked is the only coding to expect */
		if (vlen != 7 || strncasecmp((const char *)v, "chunked", 7)) {
			*err = "unsupported Transfer-Encoding in reply";
			return false;
		}
		h->chunked = true;
	}
	return true;
}

/* Parses one status line and its headers starting at off. */
static enum http_reply_result parse_head(const unsigned char *d, size_t len, size_t off, bool eof,
					 struct head *h, const char **err)
{
	size_t n, next, start = off;
	bool first = true;

	memset(h, 0, sizeof(*h));
	while (get_line(d, len, off, &n, &next)) {
		if (next - start > HTTP_REPLY_HEAD_MAX)
			break;
		if (first && !parse_status_line(d + off, n, &h->status)) {
			*err = "malformed status line in reply";
			return HTTP_REPLY_INVALID;
		}
		if (!first && n == 0) {
			h->end = next;
			return HTTP_REPLY_COMPLETE;
		}
		if (!first && !parse_header_line(d + off, n, h, err))
			return HTTP_REPLY_INVALID;
		first = false;
		off = next;
	}
	if (len - start > HTTP_REPLY_HEAD_MAX) {
		*err = "reply header larger than 16 KiB";
		return HTTP_REPLY_INVALID;
	}
	if (eof) {
		*err = len > start ? "connection closed inside the reply header" : "connection closed without a reply";
		return HTTP_REPLY_INVALID;
	}
	return HTTP_REPLY_PARTIAL;
}

static bool parse_chunk_size(const unsigned char *l, size_t n, size_t *size)
{
	size_t i, v = 0;

	for (i = 0; i < n && isxdigit(l[i]); i++) {
		if (i >= 8)
			return false;
		v = v * 16 + (size_t)(isdigit(l[i]) ? l[i] - '0' : (tolower(l[i]) - 'a' + 10));
	}
	if (i == 0 || (i < n && l[i] != ';' && l[i] != ' ' && l[i] != '\t'))
		return false;
	*size = v;
	return true;
}

/* Sums the chunk sizes (first pass) or copies the data (second pass, into
 * out->body). Returns COMPLETE once the last chunk and trailers are in. */
static enum http_reply_result walk_chunks(const unsigned char *d, size_t len, size_t off, bool eof,
					  size_t *total, unsigned char *copy, const char **err)
{
	size_t n, next, size;

	*total = 0;
	for (;;) {
		if (!get_line(d, len, off, &n, &next))
			goto partial;
		if (!parse_chunk_size(d + off, n, &size)) {
			*err = "malformed chunk size in reply";
			return HTTP_REPLY_INVALID;
		}
		off = next;
		if (size == 0)
			break;
		if (size > HTTP_REPLY_BODY_MAX - *total) {
			*err = "reply body larger than 1 MiB";
			return HTTP_REPLY_INVALID;
		}
		if (len - off < size)
			goto partial;
		if (copy)
			memcpy(copy + *total, d + off, size);
		*total += size;
		off += size;
		if (!get_line(d, len, off, &n, &next))
			goto partial;
		if (n) {
			*err = "chunk data longer than its size in reply";
			return HTTP_REPLY_INVALID;
		}
		off = next;
	}
	/* trailer lines end with an empty line */
	for (size_t trailers = 0;; off = next) {
		if (!get_line(d, len, off, &n, &next))
			goto partial;
		if (n == 0)
			return HTTP_REPLY_COMPLETE;
		trailers += next - off;
		if (trailers > HTTP_REPLY_HEAD_MAX) {
			*err = "reply trailers larger than 16 KiB";
			return HTTP_REPLY_INVALID;
		}
	}
partial:
	if (eof) {
		*err = "connection closed inside a chunked reply";
		return HTTP_REPLY_INVALID;
	}
	return HTTP_REPLY_PARTIAL;
}

static enum http_reply_result chunked_body(const unsigned char *d, size_t len, size_t off, bool eof,
					   struct http_reply *out, const char **err)
{
	size_t total;
	enum http_reply_result r = walk_chunks(d, len, off, eof, &total, NULL, err);

	if (r != HTTP_REPLY_COMPLETE)
		return r;
	if (buf_alloc(&out->body, total)) {
		*err = "out of memory";
		return HTTP_REPLY_INVALID;
	}
	return walk_chunks(d, len, off, eof, &total, out->body.p, err);
}

static enum http_reply_result plain_body(const unsigned char *d, size_t len, const struct head *h,
					 bool eof, struct http_reply *out, const char **err)
{
	size_t have = len - h->end, want = h->has_length ? h->length : have;

	if (have > HTTP_REPLY_BODY_MAX && !h->has_length) {
		*err = "reply body larger than 1 MiB";
		return HTTP_REPLY_INVALID;
	}
	if (have < want || (!h->has_length && !eof)) {
		if (eof) {
			*err = "connection closed before the whole reply body";
			return HTTP_REPLY_INVALID;
		}
		return HTTP_REPLY_PARTIAL;
	}
	if (buf_set(&out->body, d + h->end, want)) {
		*err = "out of memory";
		return HTTP_REPLY_INVALID;
	}
	return HTTP_REPLY_COMPLETE;
}

enum http_reply_result http_reply_parse(const unsigned char *data, size_t len, bool eof,
					struct http_reply *out, const char **err)
{
	struct head h;
	size_t off = 0;
	enum http_reply_result r;

	memset(out, 0, sizeof(*out));
	for (;;) {
		if ((r = parse_head(data, len, off, eof, &h, err)) != HTTP_REPLY_COMPLETE)
			return r;
		if (h.status >= 200)
			break;
		off = h.end;	/* an interim 1xx reply: the real one follows */
	}
	out->status = h.status;
	if (h.status == 204 || h.status == 304)
		r = buf_set(&out->body, "", 0) ? HTTP_REPLY_INVALID : HTTP_REPLY_COMPLETE;
	else if (h.chunked)
		r = chunked_body(data, len, h.end, eof, out, err);
	else
		r = plain_body(data, len, &h, eof, out, err);
	if (r != HTTP_REPLY_COMPLETE)
		http_reply_free(out);
	return r;
}
