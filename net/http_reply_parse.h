/* http_reply_parse.h - HTTP/1.x response parser for the client. Pure: no I/O, no
 * state between calls. The client calls it on everything received so far
 * after each read; it says whether a whole reply is there yet. */
#ifndef NBDE_HTTP_REPLY_PARSE_H
#define NBDE_HTTP_REPLY_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include "../crypto/secret.h"
#include "tunables.h"


struct http_reply {
	int status;		/* 100..999 */
	struct buf body;	/* decoded (de-chunked) body, NUL-terminated */
};

enum http_reply_result {
	HTTP_REPLY_COMPLETE = 0,	/* *out filled; free with http_reply_free */
	HTTP_REPLY_PARTIAL = 1,		/* need more bytes */
	HTTP_REPLY_INVALID = -1,	/* *err says why */
};

/* Parses data[0..len). eof says the peer closed the connection, which ends a
 * body that has neither Content-Length nor chunked encoding. Interim 1xx
 * replies are skipped. Replies to HEAD are not supported (never sent). */
enum http_reply_result http_reply_parse(const unsigned char *data, size_t len, bool eof,
					struct http_reply *out, const char **err);
void http_reply_free(struct http_reply *r);

#endif
