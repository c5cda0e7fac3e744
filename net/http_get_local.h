/* http_get_local.h - the smallest HTTP client: one GET to this machine's
 * loopback (127.0.0.1, then ::1) with a deadline, for tang-show-keys. The
 * full client for clevis is net/client.h. */
#ifndef NBDE_HTTP_GET_LOCAL_H
#define NBDE_HTTP_GET_LOCAL_H

#include <stddef.h>

#define HTTP_GET_LOCAL_MAX (1024 * 1024)	/* largest reply accepted */

/* GET path from localhost:port. On 0, *status is the reply's status and
 * *body (malloc'd, NUL-terminated) its body. On -1, *err says why. */
int http_get_local(const char *port, const char *path, int timeout_ms, int *status, char **body, size_t *len,
		   const char **err);

#endif
