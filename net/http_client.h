/* http_client.h - HTTP/1.1 GET/POST over TCP, or TLS for https://, with
 * deadlines.
 *
 * Every wait is bounded: name resolution, connecting (to every resolved
 * address at once, first to answer wins), sending and receiving each have a
 * per-attempt limit and all end by one absolute deadline. Replies are bounded
 * in size (http_reply_parse.h). Transient failures (refused, unreachable, timed
 * out, reset, 502/503/504) are retried with exponential backoff until the
 * deadline, because at boot a tang server or the network may come up late.
 * Over https a refused certificate or a failed TLS negotiation is final:
 * retrying cannot change it. */
#ifndef NBDE_HTTP_CLIENT_H
#define NBDE_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include "http_reply_parse.h"
#include "tunables.h"


struct http_client_request {
	const char *method;		/* "GET" or "POST" */
	const char *url;		/* http://, https:// or scheme-less (url.h) */
	const char *content_type;	/* sent with a body; NULL for none */
	const void *body;
	size_t body_len;
	long long deadline_ms;		/* absolute, clock_mono_ms() (clock.h) */
	bool once;			/* one attempt, no retries (a person is waiting
					 * on a local server that is up or not) */
	/* Called once, after the first failure that will be retried, with its
	 * description (NULL: never): lets a waiting person know. */
	void (*on_retry)(const void *ctx, const char *url, const char *err, long long deadline_ms);
	const void *retry_ctx;
	/* Polled about every 100 ms; true abandons the request (NULL: never). */
	bool (*cancelled)(const void *ctx);
	const void *cancel_ctx;
};

/* 0 with any HTTP status in *reply (free with http_reply_free), or -1 with a
 * description of the last failure in err ("connection refused", ...). */
int http_client_send(const struct http_client_request *rq, struct http_reply *reply,
		     char *err, size_t errlen);

#endif
