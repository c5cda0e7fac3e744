/* http_request_parse.h - incremental, bounded HTTP/1.x request parser. No I/O:
 * bytes go in through http_request_feed() in pieces of any size, and the
 * parser says when a whole request (head and body) has arrived or what is
 * wrong with it. Only what a Tang server needs is kept: method, target,
 * body, and whether the connection stays open.
 *
 * Bounds (tang's, plus one for the head): request-target >= 4096 bytes gives
 * 414, body >= 65536 bytes (or the lower limit given to init) 413, more than
 * 8 KiB of header lines 431. Memory is allocated only while a request is
 * being received, and only for bytes that arrived. */
#ifndef NBDE_HTTP_REQUEST_PARSE_H
#define NBDE_HTTP_REQUEST_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "tunables.h"


enum http_phase {
	HTTP_REQUEST_LINE,
	HTTP_HEADERS,
	HTTP_BODY,		/* Content-Length body */
	HTTP_CHUNK_SIZE,
	HTTP_CHUNK_DATA,
	HTTP_CHUNK_DATA_END,	/* the line break after a chunk */
	HTTP_TRAILERS,
	HTTP_COMPLETE,		/* a whole request is available */
	HTTP_INVALID,		/* error_status and error say why */
};

struct http_request {
	enum http_phase phase;
	bool started;			/* some byte of this request has arrived */

	/* the line being accumulated (request line, header, chunk size) */
	char *line;
	size_t line_len, line_cap;
	size_t head_bytes;		/* header and trailer bytes so far */

	char method[HTTP_METHOD_MAX + 1];
	char *target;			/* NUL-terminated, malloc'd */
	int version_minor;		/* HTTP/1.x */
	bool keep_alive;

	bool has_length, chunked;
	size_t content_length;		/* remaining bytes of the current body part */
	unsigned char *body;		/* NUL-terminated, malloc'd, may be NULL */
	size_t body_len, body_cap;
	size_t body_max;		/* body length that gets 413 (<= HTTP_BODY_MAX) */

	int error_status;		/* 400, 413, 414 or 431 when HTTP_INVALID */
	const char *error;		/* static text */
};

void http_request_init(struct http_request *r);
/* The same with a lower body limit (a server that knows its bodies are small). */
void http_request_init_max(struct http_request *r, size_t body_max);
/* Frees what the last request held and gets ready for the next one. */
void http_request_reset(struct http_request *r);
void http_request_free(struct http_request *r);

/* Consumes bytes until the request is complete or invalid and returns how
 * many it used; the rest belongs to the next (pipelined) request. */
size_t http_request_feed(struct http_request *r, const char *data, size_t len);

static inline bool http_request_done(const struct http_request *r)
{
	return r->phase == HTTP_COMPLETE || r->phase == HTTP_INVALID;
}

#endif
