/* tang_server.c - applet tang-server (alias tangd): the Tang key server.
 *
 * usage: tang-server [OPTIONS] JWKDIR
 *   no -l, no LISTEN_FDS   inetd mode: one connection on stdin/stdout
 *                          (socat, xinetd, systemd Accept=yes)
 *   LISTEN_FDS set         systemd socket activation, Accept=no
 *   -l                     standalone: listen on -a ADDR (repeatable;
 *                          default every address, IPv4 and IPv6) port -p
 *   -p, --port PORT        port for -l (default 9090; 0: one the kernel picks)
 *   --port-file FILE       once listening, write the first listener's port
 *                          to FILE (atomically): how a caller learns the
 *                          port -p 0 got
 *   -a, --address ADDR     bind address for -l (e.g. 127.0.0.1, ::1)
 *   -e, --endpoint PATH    serve under /PATH/adv and /PATH/rec only
 *   -u, --user USER        run as USER after binding (long-running modes)
 *   -c, --max-connections N   open connections kept (default 4096)
 *   -w, --workers N        threads for the key math (default: one per CPU)
 *   -i, --idle-timeout S   seconds a connection may wait between requests (30)
 *   -r, --request-timeout S   seconds to receive a request or send a reply (10)
 *   -q, --quiet            no per-request log lines
 *   -v, --version, -h, --help
 *
 * Routes and status codes are tang's (src/tangd.c of latchset/tang): GET
 * /adv, /adv/, //adv//, /adv/{thp}; POST /rec/{thp}. */
#include "applets.h"
#include "tang_keydir.h"
#include "util.h"
#include "../crypto/ecmr.h"
#include "../crypto/json.h"
#include "../crypto/jwk.h"
#include "../net/server.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: tang-server [OPTIONS] JWKDIR\n"
	"Serves Tang advertisements and key recovery from the keys in JWKDIR.\n"
	"Without -l it serves one connection on stdin/stdout (inetd, socat, systemd\n"
	"Accept=yes), or the sockets systemd passes (LISTEN_FDS, Accept=no).\n\n"
	"  -l, --listen               listen for connections (standalone)\n"
	"  -p, --port PORT            port for -l (default 9090; 0: any free port)\n"
	"      --port-file FILE       once listening, write the (first) port to FILE\n"
	"  -a, --address ADDR         bind address for -l, repeatable (default: all)\n"
	"  -e, --endpoint PATH        serve under /PATH/adv and /PATH/rec\n"
	"  -u, --user USER            run as USER once the sockets are bound\n"
	"  -c, --max-connections N    open connections kept (default 4096)\n"
	"  -w, --workers N            threads for the key math (default: CPUs)\n"
	"  -i, --idle-timeout SECS    wait for a next request (default 30)\n"
	"  -r, --request-timeout SECS receive a request / send a reply (default 10)\n"
	"  -q, --quiet                no per-request log lines on stderr\n"
	"  -v, --version              print the version\n"
	"  -h, --help                 this text\n";

struct tang_server {
	struct tang_keydir *keys;
	char *endpoint;			/* without leading or trailing '/'; "" for none */
};

struct options {
	bool listen, quiet;
	const char *port, *port_file, *user, *endpoint, *dir;
	const char *addrs[16];
	size_t naddrs;
	int max_conns, workers, idle_s, request_s;
};

/* ---- routing (tang's paths: /adv, /adv/{thp}, /rec/{thp}) ---- */

enum route { ROUTE_NONE, ROUTE_ADV, ROUTE_ADV_THP, ROUTE_REC };

static const char *skip_slashes(const char *p)
{
	while (*p == '/')
		p++;
	return p;
}

/* The path after the endpoint prefix and its slashes; NULL if it has none.
 * Without an endpoint: one or more '/'. With one: exactly "/", the
 * endpoint, then one or more '/'. */
static const char *after_prefix(const char *endpoint, const char *path)
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
	const char *p = after_prefix(endpoint, path), *rest;
	bool adv = p && !strncmp(p, "adv", 3), rec = p && !strncmp(p, "rec", 3);

	if (!adv && !rec)
		return ROUTE_NONE;
	rest = skip_slashes(p + 3);
	if (adv && !*rest)
		return ROUTE_ADV;
	if (rest == p + 3 || !is_thp(rest))	/* "/advX", "/rec", "/adv/a=b" */
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

static void serve_adv(struct tang_server *ts, const char *thp, struct server_response *res)
{
	struct tang_keyset *ks = tang_keydir_get(ts->keys);
	const char *adv = NULL;
	size_t len = 0;

	res->status = ks ? tang_keyset_adv(ks, thp, &adv, &len) : 500;
	if (res->status == 200) {
		res->body = memdup(adv, len);
		res->len = len;
		res->content_type = "application/jose+json";
		if (!res->body)
			res->status = 500;
	}
	tang_keyset_release(ks);
}

/* What a /rec body must be (tang's first checks) before keys are looked at. */
static int check_client_jwk(const cJSON *jwk)
{
	const char *kty = json_get_str(jwk, "kty");
	const cJSON *alg = cJSON_GetObjectItemCaseSensitive(jwk, "alg");

	if (!cJSON_IsObject(jwk) && !cJSON_IsArray(jwk))
		return 400;
	if (!jwk_allows(jwk, "deriveKey", false))
		return 403;
	if (!kty || strcmp(kty, "EC"))
		return 400;
	if (alg && (!cJSON_IsString(alg) || strcmp(alg->valuestring, "ECMR")))
		return 400;
	return 200;
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
			return 400;
		}
	}
	result = ecmr_mul(k->ec, client, &err);
	if (!result) {
		cJSON_Delete(ops);
		return 400;
	}
	if (!json_set_str(result, "alg", "ECMR") || !json_set(result, "key_ops", ops) ||
	    !(*reply = json_canonical(result)))
		return 500;
	return 200;
}

static int recover(struct tang_server *ts, const char *thp, const struct http_request *req, char **reply)
{
	AUTO_JSON_SECRET client = req->body ? json_parse((const char *)req->body, req->body_len) : NULL;
	struct tang_keyset *ks;
	const struct tang_key *k;
	int status = client ? check_client_jwk(client) : 400;

	if (status != 200)
		return status;
	ks = tang_keydir_get(ts->keys);
	if (!ks || tang_keyset_status(ks) != 200)
		status = 500;
	else if (!(k = tang_keyset_find(ks, thp)))
		status = 404;
	else if (!k->exchanges)
		status = 403;
	else
		status = exchange(k, client, reply);
	tang_keyset_release(ks);
	return status;
}

static void serve_rec(struct tang_server *ts, const char *thp, const struct http_request *req,
		      struct server_response *res)
{
	char *reply = NULL;

	res->status = recover(ts, thp, req, &reply);
	if (res->status == 200) {
		res->body = reply;
		res->len = strlen(reply);
		res->content_type = "application/jwk+json";
	} else {
		free(reply);
	}
}

static void handle(void *ctx, const struct http_request *req, struct server_response *res)
{
	struct tang_server *ts = ctx;
	const char *thp = NULL;
	enum route r = route(ts->endpoint, req->target, &thp);

	if (r == ROUTE_NONE)
		res->status = 404;
	else if (strcmp(req->method, r == ROUTE_REC ? "POST" : "GET"))
		res->status = 405;
	else if (r == ROUTE_REC)
		serve_rec(ts, thp, req, res);
	else
		serve_adv(ts, thp, res);
}

static void reload(void *ctx)
{
	struct tang_server *ts = ctx;
	tang_keydir_invalidate(ts->keys);
}

/* ---- modes ---- */

/* xinetd hands the socket over as fd 2 too: messages would land inside
 * the HTTP stream, so they go nowhere instead. */
static void keep_logs_out_of_connection(void)
{
	if (server_fd_is_connection(2, 1) || server_fd_is_connection(2, 0)) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null >= 0 && null != 2) {
			dup2(null, 2);
			close(null);
		}
	}
}

static int serve_inetd(const struct server_config *cfg)
{
	const char *peer = getenv("REMOTE_ADDR");
	char name[64];

	if (!peer || !*peer)
		peer = server_peer_name(0, name, sizeof(name)) ? name : "<unknown>";
	return server_inetd(cfg, 0, 1, peer);
}

static int drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (!pw) {
		msg("unknown user '%s'", user);
		return -1;
	}
	/* supplementary groups too: the keys may be readable through one */
	if (initgroups(user, pw->pw_gid) || setgid(pw->pw_gid) || setuid(pw->pw_uid)) {
		msg("cannot switch to user '%s': %s", user, strerror(errno));
		return -1;
	}
	if (pw->pw_uid && !setuid(0)) {
		msg("privileges could be regained after switching to '%s'", user);
		return -1;
	}
	return 0;
}

/* Room for the connection cap: file descriptors up to the hard limit. */
static int connection_cap(int wanted)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return wanted;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)wanted + 64 > rl.rlim_cur)
		wanted = rl.rlim_cur > 128 ? (int)rl.rlim_cur - 64 : 64;
	return wanted;
}

static int open_listeners(const struct options *o, int **fds, size_t *n)
{
	const char *err = NULL;
	int passed = server_activation_fds(fds, n, &err);

	if (passed < 0) {
		msg("%s", err);
		return -1;
	}
	if (passed > 0 || !o->listen)
		return 0;
	for (size_t i = 0; i < (o->naddrs ? o->naddrs : 1); i++) {
		const char *addr = o->naddrs ? o->addrs[i] : NULL;
		if (server_listen(addr, o->port, fds, n, &err)) {
			msg("%s %s port %s: %s", err, addr ? addr : "(all addresses)", o->port, strerror(errno));
			return -1;
		}
		msg("Listening on %s port %s", addr ? addr : "all addresses", o->port);
	}
	return 0;
}

static int serve_sockets(const struct options *o, struct server_config *cfg, struct tang_server *ts,
			 const int *fds, size_t n)
{
	const char *err;

	if (o->user && drop_privileges(o->user))
		return 1;
	/* load (or create) the keys now: problems show at startup */
	tang_keyset_release(tang_keydir_get(ts->keys));
	cfg->max_conns = connection_cap(o->max_conns);
	if (server_run(cfg, fds, n, &err)) {
		msg("%s", err);
		return 1;
	}
	return 0;
}

/* --port-file: the port the first listener got (the kernel's pick for -p 0),
 * written atomically so a reader never sees half a number. */
static int write_port_file(const char *path, const int *fds, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char line[16];
	int port;

	if (!n) {
		msg("--port-file needs listening sockets (-l or socket activation)");
		return -1;
	}
	if (getsockname(fds[0], (struct sockaddr *)&ss, &len)) {
		msg("cannot read the listening port: %s", strerror(errno));
		return -1;
	}
	port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					      : ((struct sockaddr_in *)&ss)->sin_port);
	snprintf(line, sizeof(line), "%d\n", port);
	if (write_file_atomic(path, line, strlen(line), 0644)) {
		msg("cannot write the port file '%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- options ---- */

static int parse_count(const char *s, int min, int max, const char *what, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < min || v > max) {
		msg("invalid %s '%s' (expected %d to %d)", what, s, min, max);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int parse_option(int c, struct options *o)
{
	int port;

	switch (c) {
	case 'l': o->listen = true; return 0;
	case 'q': o->quiet = true; return 0;
	case 'p': o->port = optarg; return parse_count(optarg, 0, 65535, "port", &port);
	case 'P': o->port_file = optarg; return 0;
	case 'e': o->endpoint = optarg; return 0;
	case 'u': o->user = optarg; return 0;
	case 'c': return parse_count(optarg, 1, 1000000, "connection limit", &o->max_conns);
	case 'w': return parse_count(optarg, 1, 64, "worker count", &o->workers);
	case 'i': return parse_count(optarg, 1, 86400, "idle timeout", &o->idle_s);
	case 'r': return parse_count(optarg, 1, 3600, "request timeout", &o->request_s);
	case 'a':
		if (o->naddrs == sizeof(o->addrs) / sizeof(o->addrs[0])) {
			msg("too many -a addresses");
			return -1;
		}
		o->addrs[o->naddrs++] = optarg;
		return 0;
	default:
		fputs(usage_text, stderr);
		return -1;
	}
}

/* 0 to go on, 1 for an error, 2 when -h or -v was answered. */
static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "listen", no_argument, NULL, 'l' }, { "port", required_argument, NULL, 'p' },
		{ "address", required_argument, NULL, 'a' }, { "endpoint", required_argument, NULL, 'e' },
		{ "user", required_argument, NULL, 'u' }, { "max-connections", required_argument, NULL, 'c' },
		{ "workers", required_argument, NULL, 'w' }, { "idle-timeout", required_argument, NULL, 'i' },
		{ "request-timeout", required_argument, NULL, 'r' }, { "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' },
		{ "port-file", required_argument, NULL, 'P' }, { 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "lp:a:e:u:c:w:i:r:qvh", longopts, NULL)) != -1) {
		if (c == 'h' || c == 'v') {
			fputs(c == 'h' ? usage_text : "tangd (nbde " NBDE_VERSION ")\n", c == 'h' ? stdout : stderr);
			return 2;
		}
		if (parse_option(c, o))
			return 1;
	}
	if (optind != argc - 1) {
		fputs(usage_text, stderr);
		return 1;
	}
	o->dir = argv[optind];
	return 0;
}

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

int tang_server_main(int argc, char **argv)
{
	struct options o = { .port = "9090", .max_conns = 4096, .idle_s = 30, .request_s = 10 };
	struct tang_server ts = { 0 };
	int *fds = NULL, r;
	size_t nfds = 0;

	util_prog = "tangd";
	signal(SIGPIPE, SIG_IGN);
	keep_logs_out_of_connection();
	if ((r = parse_options(argc, argv, &o)))
		return r == 2 ? 0 : 1;
	if (!(ts.endpoint = normalize_endpoint(o.endpoint)) || !(ts.keys = tang_keydir_open(o.dir))) {
		free(ts.endpoint);
		return 1;
	}
	struct server_config cfg = {
		.handle = handle, .ctx = &ts, .reload = reload, .log = !o.quiet,
		.idle_timeout_ms = o.idle_s * 1000, .request_timeout_ms = o.request_s * 1000,
		.workers = o.workers,
	};
	if (open_listeners(&o, &fds, &nfds))
		r = 1;
	else if (o.port_file && write_port_file(o.port_file, fds, nfds))
		r = 1;
	else if (nfds)
		r = serve_sockets(&o, &cfg, &ts, fds, nfds);
	else
		r = serve_inetd(&cfg);
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	free(fds);
	tang_keydir_close(ts.keys);
	free(ts.endpoint);
	return r;
}
