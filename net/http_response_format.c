/* http_response_format.c - status lines and headers for the server's replies. */
#include "http_response_format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

char *http_response_format(int status, const char *content_type, const void *body, size_t len,
			   bool closing, size_t *out_len)
{
	char head[256];
	int n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n%s%s%sContent-Length: %zu\r\n%s\r\n",
			 status, http_reason(status),
			 content_type ? "Content-Type: " : "", content_type ? content_type : "",
			 content_type ? "\r\n" : "", len, closing ? "Connection: close\r\n" : "");
	char *out;

	if (n < 0 || (size_t)n >= sizeof(head) || !(out = malloc((size_t)n + len + 1)))
		return NULL;
	memcpy(out, head, (size_t)n);
	if (len)
		memcpy(out + n, body, len);
	out[(size_t)n + len] = 0;
	*out_len = (size_t)n + len;
	return out;
}
