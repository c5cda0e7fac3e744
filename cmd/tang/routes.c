/* routes.c - Tang's routes (see routes.h).
 *
 * Paths as tang matches them: one or more '/' before "adv" or "rec" (after
 * "/ENDPOINT" when one is set), then "/adv" alone or "/adv/{thp}", and
 * "/rec/{thp}", where a thumbprint is base64url characters; "/healthz" and
 * "/metrics" exactly, on the listeners that serve them. Anything else is
 * 404; a known path with the wrong method 405. */
#include "routes.h"
#include "access.h"
#include "keydir.h"
#include "../runtime/runtime.h"
#include "../../crypto/ecmr.h"
#include "../../crypto/json.h"
#include "../../crypto/jwk.h"
#include "../../net/http_response_format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- paths ---- */

enum route { ROUTE_NONE, ROUTE_ADV, ROUTE_ADV_THP, ROUTE_REC, ROUTE_HEALTHZ, ROUTE_METRICS };

static const char *skip_slashes(const char *p)
{
	while (*p == '/')
		p++;
	return p;
}

/* The path after the endpoint prefix and its slashes; NULL if it has none.
 * Without an endpoint: one or more '/'. With one: exactly "/", the
 * endpoint, then one or more '/'. */
static const char *after_endpoint(const char *endpoint, const char *path)
{
	size_t n = strlen(endpoint);

	if (path[0] != '/')
		return NULL;
	if (!n)
		return skip_slashes(path);
	if (strncmp(path + 1, endpoint, n) || path[1 + n] != '/')
		return NULL;
	return skip_slashes(path + 1 + n);
}

static bool is_thp(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!(*s >= '0' && *s <= '9') && !(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    *s != '_' && *s != '-')
			return false;
	return true;
}

static enum route route(const char *endpoint, const char *path, const char **thp)
{
	if (!path)
		return ROUTE_NONE;
	if (!strcmp(path, "/healthz"))
		return ROUTE_HEALTHZ;
	if (!strcmp(path, "/metrics"))
		return ROUTE_METRICS;
	const char *p = after_endpoint(endpoint, path);
	const char *adv = p ? str_after_prefix(p, "adv") : NULL, *rec = p ? str_after_prefix(p, "rec") : NULL;
	const char *end = adv ? adv : rec, *rest;

	if (!end)
		return ROUTE_NONE;
	rest = skip_slashes(end);
	if (adv && !*rest)
		return ROUTE_ADV;
	if (rest == end || !is_thp(rest))	/* "/advX", "/rec", "/adv/a=b" */
		return ROUTE_NONE;
	*thp = rest;
	return adv ? ROUTE_ADV_THP : ROUTE_REC;
}

/* ---- handlers ---- */

static char *memdup(const char *p, size_t n)
{
	char *q = malloc(n + 1);
	if (q) {
		memcpy(q, p, n);
		q[n] = 0;
	}
	return q;
}

static void serve_adv(struct tang_routes *tr, const char *thp, struct server_response *res)
{
	struct tang_keyset *ks = tang_keydir_get(tr->keys);
	const char *adv = NULL;
	size_t len = 0;

	res->status = ks ? tang_keyset_adv(ks, thp, &adv, &len) : HTTP_SERVER_ERROR;
	if (res->status == HTTP_OK) {
		res->body = memdup(adv, len);
		res->len = len;
		res->content_type = "application/jose+json";
		if (!res->body)
			res->status = HTTP_SERVER_ERROR;
	}
	tang_keyset_release(ks);
}

/* What the body must be before any key is looked at (tang's order: a
 * JSON object or array, deriveKey allowed, kty EC, alg ECMR if present). */
static int check_client_jwk(const cJSON *jwk)
{
	const char *kty = json_get_str(jwk, "kty");
	const cJSON *alg = cJSON_GetObjectItemCaseSensitive(jwk, "alg");

	if (!cJSON_IsObject(jwk) && !cJSON_IsArray(jwk))
		return HTTP_BAD_REQUEST;
	if (cJSON_GetArraySize(jwk) > TANG_REC_MEMBERS_MAX)
		return HTTP_BAD_REQUEST;
	if (!jwk_allows(jwk, "deriveKey", false))
		return HTTP_FORBIDDEN;
	if (!kty || strcmp(kty, "EC"))
		return HTTP_BAD_REQUEST;
	if (alg && (!cJSON_IsString(alg) || strcmp(alg->valuestring, "ECMR")))
		return HTTP_BAD_REQUEST;
	return HTTP_OK;
}

/* d·P as tang answers it: compact sorted JWK with alg and key_ops added. */
static int exchange(const struct tang_key *k, const cJSON *client, char **reply)
{
	const char *err;
	AUTO_JSON result = NULL;
	cJSON *ops = cJSON_CreateStringArray((const char *[]){ "deriveKey" }, 1);

	if (cJSON_GetObjectItemCaseSensitive(client, "d")) {
		/* a client that sends its private key must send a matching one */
		AUTO_EC_KEY whole = ec_key_from_jwk(client, &err);
		if (!whole) {
			cJSON_Delete(ops);
			return HTTP_BAD_REQUEST;
		}
	}
	result = ecmr_mul(k->ec, client, &err);
	if (!result) {
		cJSON_Delete(ops);
		return HTTP_BAD_REQUEST;
	}
	if (!json_set_str(result, "alg", "ECMR") || !json_set(result, "key_ops", ops) ||
	    !(*reply = json_canonical(result)))
		return HTTP_SERVER_ERROR;
	return HTTP_OK;
}

/* A client the access rules refuse: tang's status for a key that may not
 * be used, counted and logged (bounded). */
static int denied(struct tang_routes *tr, const struct server_request_info *info, const char *thp)
{
	atomic_fetch_add_explicit(&tr->metrics.access_denied, 1, memory_order_relaxed);
	tang_access_log_denied(tr->access, info->addr, thp);
	return HTTP_FORBIDDEN;
}

static int recover(struct tang_routes *tr, const struct server_request_info *info, const char *thp,
		   const struct http_request *req, char **reply)
{
	AUTO_JSON_SECRET client = NULL;
	struct tang_keyset *ks;
	const struct tang_key *k;
	int status;

	/* before any parsing: a refused client costs nothing */
	if (!tang_access_may_recover(tr->access, info->addr))
		return denied(tr, info, thp);
	client = req->body ? json_parse((const char *)req->body, req->body_len) : NULL;
	status = client ? check_client_jwk(client) : HTTP_BAD_REQUEST;
	if (status != HTTP_OK)
		return status;
	ks = tang_keydir_get(tr->keys);
	if (!ks || tang_keyset_status(ks) != HTTP_OK)
		status = HTTP_SERVER_ERROR;
	else if (!(k = tang_keyset_find(ks, thp)))
		status = HTTP_NOT_FOUND;
	else if (!tang_access_allows(tr->access, info->addr, k))
		status = denied(tr, info, thp);
	else if (!k->exchanges)
		status = HTTP_FORBIDDEN;
	else if ((status = exchange(k, client, reply)) == HTTP_OK)
		tang_metrics_rec(&tr->metrics, k);
	tang_keyset_release(ks);
	return status;
}

static void serve_rec(struct tang_routes *tr, const struct server_request_info *info, const char *thp,
		      const struct http_request *req, struct server_response *res)
{
	char *reply = NULL;

	res->status = recover(tr, info, thp, req, &reply);
	if (res->status == HTTP_OK) {
		res->body = reply;
		res->len = strlen(reply);
		res->content_type = "application/jwk+json";
	} else {
		free(reply);
	}
}

/* ---- the operator's routes ---- */

static void text_reply(struct server_response *res, int status, const char *text)
{
	res->status = status;
	res->body = strdup(text);
	res->len = res->body ? strlen(text) : 0;
	res->content_type = "text/plain; charset=utf-8";
}

/* Ready when a stop has not begun and the keys can serve both routes. No
 * EC work: the key set is the one /adv uses. */
static void serve_healthz(struct tang_routes *tr, const struct server_request_info *info, const char *thp,
			  const struct http_request *req, struct server_response *res)
{
	struct tang_keyset *ks;
	size_t signing = 0, exchange_keys = 0;
	bool loaded;

	if (atomic_load(&tr->stopping)) {
		text_reply(res, HTTP_UNAVAILABLE, "stopping\n");
		return;
	}
	ks = tang_keydir_get(tr->keys);
	loaded = ks && tang_keyset_status(ks) == HTTP_OK;
	if (ks)
		tang_keyset_active_counts(ks, &signing, &exchange_keys);
	tang_keyset_release(ks);
	if (!loaded)
		text_reply(res, HTTP_UNAVAILABLE, "key set not loaded (no usable keys in the key directory)\n");
	else if (!signing)
		text_reply(res, HTTP_UNAVAILABLE, "no active signing key\n");
	else if (!exchange_keys)
		text_reply(res, HTTP_UNAVAILABLE, "no active exchange key\n");
	else
		text_reply(res, HTTP_OK, "ok\n");
}

static void serve_metrics(struct tang_routes *tr, const struct server_request_info *info, const char *thp,
			  const struct http_request *req, struct server_response *res)
{
	res->body = tang_metrics_render(&tr->metrics, tang_keydir_reloads(tr->keys), &res->len);
	res->status = res->body ? HTTP_OK : HTTP_SERVER_ERROR;
	res->content_type = TANG_METRICS_TYPE;
}

/* ---- the route table ---- */

struct route_entry {
	const char *method;
	bool cheap;			/* no key math: served before queued /rec work */
	bool admin;			/* the operator's, not tang's */
	enum tang_route_label label;
	void (*serve)(struct tang_routes *tr, const struct server_request_info *info, const char *thp,
		      const struct http_request *req, struct server_response *res);
};

static void serve_adv_route(struct tang_routes *tr, const struct server_request_info *info, const char *thp,
			    const struct http_request *req, struct server_response *res)
{
	serve_adv(tr, thp, res);
}

static const struct route_entry route_table[] = {
	[ROUTE_NONE] = { NULL, true, false, TANG_LABEL_OTHER, NULL },
	[ROUTE_ADV] = { "GET", true, false, TANG_LABEL_ADV, serve_adv_route },
	[ROUTE_ADV_THP] = { "GET", true, false, TANG_LABEL_ADV, serve_adv_route },
	[ROUTE_REC] = { "POST", false, false, TANG_LABEL_REC, serve_rec },
	[ROUTE_HEALTHZ] = { "GET", true, true, TANG_LABEL_HEALTHZ, serve_healthz },
	[ROUTE_METRICS] = { "GET", true, true, TANG_LABEL_METRICS, serve_metrics },
};

/* Whether the listener the request came in on serves the route. */
static bool listener_serves(const struct tang_routes *tr, size_t listener, const struct route_entry *e)
{
	bool admin_listener = tr->admin == TANG_ADMIN_OWN && listener >= tr->admin_listener;

	if (!e->admin)
		return !admin_listener;
	return tr->admin == TANG_ADMIN_SHARED || admin_listener;
}

bool tang_routes_is_cheap(void *ctx, const struct http_request *req)
{
	struct tang_routes *tr = ctx;
	const char *thp = NULL;
	enum route r = route(tr->endpoint, req->target, &thp);

	return route_table[r].cheap;
}

void tang_routes_handle(void *ctx, const struct server_request_info *info, const struct http_request *req,
			struct server_response *res)
{
	struct tang_routes *tr = ctx;
	const char *thp = NULL;
	enum route r = route(tr->endpoint, req->target, &thp);
	const struct route_entry *e = &route_table[r];

	if (r == ROUTE_NONE || !listener_serves(tr, info->listener, e))
		res->status = HTTP_NOT_FOUND;
	else if (strcmp(req->method, e->method))
		res->status = HTTP_METHOD_NOT_ALLOWED;
	else
		e->serve(tr, info, thp, req, res);
}

void tang_routes_observe(void *ctx, const struct server_request_info *info, const struct http_request *req,
			 int status, long long duration_us)
{
	struct tang_routes *tr = ctx;
	const char *thp = NULL;
	enum route r = route(tr->endpoint, req->target, &thp);

	tang_metrics_request(&tr->metrics, route_table[r].label, status, duration_us);
}

void tang_routes_reload(void *ctx)
{
	struct tang_routes *tr = ctx;
	tang_keydir_invalidate(tr->keys);
	if (tr->access)
		tang_access_invalidate(tr->access);
}

void tang_routes_stopping(void *ctx)
{
	struct tang_routes *tr = ctx;

	atomic_store(&tr->stopping, true);
	/* the operator sees when the stop began; a probe sees 503 (routes.h) */
	server_log("%s: stopping: /healthz answers 503, requests in flight are finished", util_prog);
}

/* ---- setup ---- */

/* "/api/x/" → "api/x": the prefix is compared literally. */
static char *normalize_endpoint(const char *e)
{
	size_t n;
	char *s;

	while (e && *e == '/')
		e++;
	s = strdup(e ? e : "");
	n = s ? strlen(s) : 0;
	while (n && s[n - 1] == '/')
		s[--n] = 0;
	for (size_t i = 0; s && i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '?' || s[i] == '#') {
			msg("invalid endpoint '%s'", e);
			free(s);
			return NULL;
		}
	return s;
}

bool tang_routes_open(struct tang_routes *tr, const char *dir, const char *endpoint)
{
	memset(tr, 0, sizeof(*tr));
	tang_metrics_init(&tr->metrics);
	if (!(tr->endpoint = normalize_endpoint(endpoint)) || !(tr->keys = tang_keydir_open(dir))) {
		free(tr->endpoint);
		tr->endpoint = NULL;
		tang_metrics_free(&tr->metrics);
		return false;
	}
	return true;
}

void tang_routes_close(struct tang_routes *tr)
{
	tang_keydir_close(tr->keys);
	tang_access_free(tr->access);
	tang_metrics_free(&tr->metrics);
	free(tr->endpoint);
	tr->keys = NULL;
	tr->endpoint = NULL;
	tr->access = NULL;
}
