/* http_response.h - formats whole HTTP/1.1 responses, so each goes out in
 * one write (tang's two writes per response stall keep-alive clients on
 * Nagle/delayed ACK). Headers as tang sends them: Content-Type (success
 * only) and Content-Length; "Connection: close" when the server closes. */
#ifndef NBDE_HTTP_RESPONSE_H
#define NBDE_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

/* The standard reason phrase, "Unknown" for codes nbde never sends. */
const char *http_reason(int status);

/* A malloc'd response: status line, headers, body; NULL when out of memory.
 * content_type may be NULL (then no Content-Type header). */
char *http_response_format(int status, const char *content_type, const void *body, size_t len,
			   bool closing, size_t *out_len);

#endif
