/* routes.h - Tang's HTTP routes over a key directory, as the server's
 * request handler: GET /adv, /adv/{thp} and POST /rec/{thp}, under an
 * optional endpoint prefix, with tang's statuses; and the operator's
 * GET /healthz and /metrics (never under the prefix), on the tang port, on
 * their own listener, or nowhere. /rec obeys the access rules (access.h).
 *
 * The handler knows nothing about sockets (net/server.h calls it with a
 * parsed request); the key store (tang_keydir.h) knows nothing about HTTP.
 * tang-server and the fuzz target of the whole request path both use it. */
#ifndef NBDE_TANG_ROUTES_H
#define NBDE_TANG_ROUTES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "metrics.h"
#include "../../net/server.h"

/* A P-521 client JWK is under 400 bytes: anything much larger is not one,
 * and refusing it before parsing bounds what a /rec can cost. */
#define TANG_REC_BODY_MAX 4096
/* A client JWK has kty, crv, x, y and a few optional members. */
#define TANG_REC_MEMBERS_MAX 32

struct tang_keydir;
struct tang_access;

enum tang_admin {
	TANG_ADMIN_SHARED,		/* /healthz and /metrics on every listener */
	TANG_ADMIN_OWN,			/* only on listeners from admin_listener on */
	TANG_ADMIN_OFF,
};

struct tang_routes {
	struct tang_keydir *keys;
	char *endpoint;			/* without leading or trailing '/'; "" for none */
	enum tang_admin admin;
	size_t admin_listener;		/* TANG_ADMIN_OWN: index of the first admin listener */
	struct tang_access *access;	/* NULL: everyone may recover */
	struct tang_metrics metrics;
	atomic_bool stopping;		/* /healthz answers 503 */
};

/* Opens the key directory and checks the endpoint ("/api/x/" serves
 * /api/x/adv); false with a message on stderr. */
bool tang_routes_open(struct tang_routes *tr, const char *dir, const char *endpoint);
void tang_routes_close(struct tang_routes *tr);

/* server_config callbacks; ctx is a struct tang_routes. */
void tang_routes_handle(void *ctx, const struct server_request_info *info, const struct http_request *req,
			struct server_response *res);
bool tang_routes_is_cheap(void *ctx, const struct http_request *req);
void tang_routes_reload(void *ctx);
void tang_routes_stopping(void *ctx);
void tang_routes_observe(void *ctx, const struct server_request_info *info, const struct http_request *req,
			 int status, long long duration_us);

#endif
