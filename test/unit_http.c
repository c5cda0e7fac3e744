/* unit_http.c - what the request parser costs in memory: a body buffer
 * grows with the bytes that arrived, never with what a header announces,
 * and a server's lower body limit answers 413 before any body byte. */
#include "../net/http_request_parse.h"
#include "tap.h"

#include <string.h>

static size_t feed_str(struct http_request *r, const char *s)
{
	return http_request_feed(r, s, strlen(s));
}

static void announced_body_costs_nothing(void)
{
	struct http_request r;

	http_request_init(&r);
	feed_str(&r, "POST /rec/x HTTP/1.1\r\nContent-Length: 60000\r\n\r\n0123456789");
	OK(r.phase == HTTP_BODY, "a body of 60000 announced bytes is being received");
	OK(r.body_len == 10, "10 bytes of it arrived");
	OK(r.body_cap <= 512, "the buffer holds what arrived, not what was announced (%zu bytes)", r.body_cap);
	http_request_free(&r);
}

static void body_grows_to_fit(void)
{
	struct http_request r;
	char chunk[1000];

	memset(chunk, 'a', sizeof(chunk));
	http_request_init(&r);
	feed_str(&r, "POST /rec/x HTTP/1.1\r\nContent-Length: 3000\r\n\r\n");
	for (int i = 0; i < 3; i++)
		http_request_feed(&r, chunk, sizeof(chunk));
	OK(r.phase == HTTP_COMPLETE && r.body_len == 3000, "a 3000-byte body arrives in three pieces");
	OK(r.body_cap >= 3001 && r.body_cap <= 4096, "its buffer grew to fit (%zu bytes)", r.body_cap);
	OK(r.body[3000] == 0 && r.body[2999] == 'a', "the body is whole and NUL-terminated");
	http_request_free(&r);
}

static void server_body_limit(void)
{
	struct http_request r;

	http_request_init_max(&r, 4096);
	feed_str(&r, "POST /rec/x HTTP/1.1\r\nContent-Length: 4096\r\n\r\n");
	OK(r.phase == HTTP_INVALID && r.error_status == 413, "Content-Length at the lower limit gets 413");
	http_request_reset(&r);
	OK(r.body_max == 4096, "the limit survives a reset (next request on the connection)");
	feed_str(&r, "POST /rec/x HTTP/1.1\r\nContent-Length: 4095\r\n\r\n");
	OK(r.phase == HTTP_BODY, "one byte less is received");
	http_request_reset(&r);
	feed_str(&r, "POST /rec/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n");
	OK(r.phase == HTTP_CHUNK_DATA, "a 2048-byte chunk is received");
	char chunk[2048];
	memset(chunk, 'b', sizeof(chunk));
	http_request_feed(&r, chunk, sizeof(chunk));
	feed_str(&r, "\r\n800\r\n");
	OK(r.phase == HTTP_INVALID && r.error_status == 413, "chunks adding up to the limit get 413");
	http_request_free(&r);
	http_request_init_max(&r, 1u << 30);
	OK(r.body_max == HTTP_BODY_MAX, "a limit above HTTP_BODY_MAX is lowered to it");
	http_request_free(&r);
}

int main(void)
{
	announced_body_costs_nothing();
	body_grows_to_fit();
	server_body_limit();
	return tap_done();
}
