/* http_response_format.h - formats whole HTTP/1.1 responses, so each goes out in
 * one write (tang's two writes per response stall keep-alive clients on
 * Nagle/delayed ACK). Headers as tang sends them: Content-Type (success
 * only) and Content-Length; "Connection: close" when the server closes. */
#ifndef NBDE_HTTP_RESPONSE_FORMAT_H
#define NBDE_HTTP_RESPONSE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

/* The statuses nbde sends, by name. */
enum http_status {
	HTTP_OK = 200,
	HTTP_BAD_REQUEST = 400,
	HTTP_FORBIDDEN = 403,
	HTTP_NOT_FOUND = 404,
	HTTP_METHOD_NOT_ALLOWED = 405,
	HTTP_REQUEST_TIMEOUT = 408,
	HTTP_PAYLOAD_TOO_LARGE = 413,
	HTTP_URI_TOO_LONG = 414,
	HTTP_HEADERS_TOO_LARGE = 431,
	HTTP_SERVER_ERROR = 500,
	HTTP_UNAVAILABLE = 503,
};

/* The standard reason phrase, "Unknown" for codes nbde never sends. */
const char *http_reason(int status);

/* A malloc'd response: status line, headers, body; NULL when out of memory.
 * content_type may be NULL (then no Content-Type header). */
char *http_response_format(int status, const char *content_type, const void *body, size_t len,
			   bool closing, size_t *out_len);

#endif
