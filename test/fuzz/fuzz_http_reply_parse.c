/* fuzz_http_reply_parse.c - libFuzzer target for the HTTP client's reply parser.
 *
 * usage: build/fuzz/fuzz_http_response [CORPUS...]   (make fuzz)
 *
 * Parses the input with and without end-of-stream and as a prefix, and
 * aborts when a bound is broken or the answers contradict each other: a
 * reply complete without EOF stays the same with EOF or with bytes after it,
 * because the client stops reading at the first complete reply. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../net/http_reply_parse.h"

static void check_bounds(const struct http_reply *r)
{
	if (r->status < 100 || r->status > 999 || r->body.len > HTTP_REPLY_BODY_MAX || !r->body.p ||
	    r->body.p[r->body.len] != 0)
		abort();
}

static void check_same(const struct http_reply *a, const struct http_reply *b)
{
	if (a->status != b->status || a->body.len != b->body.len ||
	    (a->body.len && memcmp(a->body.p, b->body.p, a->body.len)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct http_reply open_ended, closed, prefix;
	const char *err;
	enum http_reply_result r1, r2, r3;

	r1 = http_reply_parse(data, len, false, &open_ended, &err);
	r2 = http_reply_parse(data, len, true, &closed, &err);
	r3 = http_reply_parse(data, len / 2, false, &prefix, &err);
	if (r2 == HTTP_REPLY_PARTIAL)
		abort();	/* at end of stream there is an answer */
	if (r1 == HTTP_REPLY_COMPLETE) {
		check_bounds(&open_ended);
		if (r2 != HTTP_REPLY_COMPLETE)
			abort();
		check_same(&open_ended, &closed);
	}
	if (r2 == HTTP_REPLY_COMPLETE)
		check_bounds(&closed);
	if (r3 == HTTP_REPLY_COMPLETE) {
		if (r1 != HTTP_REPLY_COMPLETE)
			abort();
		check_same(&prefix, &open_ended);
		http_reply_free(&prefix);
	}
	if (r1 == HTTP_REPLY_COMPLETE)
		http_reply_free(&open_ended);
	if (r2 == HTTP_REPLY_COMPLETE)
		http_reply_free(&closed);
	return 0;
}
