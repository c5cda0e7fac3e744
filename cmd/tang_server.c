/* tang_server.c - applet tang-server (alias tangd): the Tang key server.
 *
 * Three modes (the help says how to pick one): inetd, one connection on
 * stdin/stdout; systemd socket activation (LISTEN_FDS, Accept=no); and
 * standalone (-l). Routes and statuses are in tang/routes.c, the event loop
 * in net/server.c, the key store in tang_keydir.c: this file parses
 * options, opens sockets, drops privileges and reports how the run ended. */
#include "applets.h"
#include "tang/keydir.h"
#include "tang/access.h"
#include "tang/routes.h"
#include "runtime/options.h"
#include "runtime/runtime.h"
#include "../net/server.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct options {
	bool listen, quiet, no_admin;
	const char *port, *port_file, *user, *endpoint, *dir, *admin_addr, *admin_port, *allow_file;
	const char *addrs[TANG_ADDRESSES_MAX];
	size_t naddrs;
	const char *allow[TANG_OPTION_LIST_MAX];
	size_t nallow;
	struct cidr_list proxy_from;
	int max_conns, workers, idle_s, request_s, head_s, stop_s, max_per_address;
};

enum {
	OPT_PORT_FILE = OPTION_LONG(0),
	OPT_HEAD_TIMEOUT,
	OPT_STOP_TIMEOUT,
	OPT_MAX_PER_ADDRESS,
	OPT_ADMIN_ADDRESS,
	OPT_ADMIN_PORT,
	OPT_NO_ADMIN,
	OPT_ALLOW,
	OPT_ALLOW_FILE,
	OPT_PROXY_FROM,
};

#define DEFAULT(x) " (default " STRINGIFY(x) ")"
static const struct applet_help help = {
	.usage = "[OPTIONS] JWKDIR",
	.about = "Serves Tang advertisements and key recovery from the keys in JWKDIR.\n"
		 "Without -l it serves one connection on stdin/stdout (inetd, socat, systemd\n"
		 "Accept=yes), or the sockets systemd passes (LISTEN_FDS, Accept=no).",
	.opts = (const struct option_spec[]){
		{ 'l', "listen", NULL, "listen for connections (standalone)" },
		{ 'p', "port", "PORT", "port for -l" DEFAULT(TANG_PORT_DEFAULT) "; 0: any free port" },
		{ OPT_PORT_FILE, "port-file", "FILE", "once listening, write the (first) port to FILE" },
		{ 'a', "address", "ADDR", "bind address for -l, repeatable (default: all)" },
		{ 'e', "endpoint", "PATH", "serve under /PATH/adv and /PATH/rec" },
		{ 'u', "user", "USER", "run as USER once the sockets are bound" },
		{ 'c', "max-connections", "N", "open connections kept" DEFAULT(TANG_CONNECTIONS_DEFAULT) },
		{ 'w', "workers", "N", "threads for the key math (default: CPUs)" },
		{ 'i', "idle-timeout", "SECS", "wait for a next request" DEFAULT(TANG_IDLE_DEFAULT_S) },
		{ 'r', "request-timeout", "SECS", "receive a request / send a reply" DEFAULT(TANG_REQUEST_DEFAULT_S) },
		{ OPT_HEAD_TIMEOUT, "head-timeout", "SECS", "receive a request's head once begun" DEFAULT(TANG_HEAD_DEFAULT_S) },
		{ OPT_STOP_TIMEOUT, "stop-timeout", "SECS",
		  "after SIGTERM, finish requests in flight" DEFAULT(TANG_STOP_DEFAULT_S) },
		{ OPT_MAX_PER_ADDRESS, "max-per-address", "N", "open connections per client address (default 0:\n"
							       "no limit; behind a load balancer keep it 0\n"
							       "unless --proxy-protocol-from names it)" },
		{ OPT_ADMIN_ADDRESS, "admin-address", "ADDR", "serve /healthz and /metrics only on ADDR and" },
		{ OPT_ADMIN_PORT, "admin-port", "PORT", "PORT (default: on the tang port, also in inetd mode)" },
		{ OPT_NO_ADMIN, "no-admin", NULL, "serve neither /healthz nor /metrics" },
		{ OPT_ALLOW, "allow", "CIDR", "only clients in CIDR may use /rec, repeatable\n"
					      "(IPv4 or IPv6; default: every client may)" },
		{ OPT_ALLOW_FILE, "allow-file", "FILE", "the same from FILE: \"CIDR\" or \"CIDR THP...\" (only\n"
							"those keys) per line, # comments; re-read on change" },
		{ OPT_PROXY_FROM, "proxy-protocol-from", "CIDR", "connections from CIDR (a load balancer) begin\n"
								 "with a PROXY protocol v2 header naming the client;\n"
								 "repeatable" },
		{ 'q', "quiet", NULL, "no per-request log lines on stderr" },
		{ 'v', "version", NULL, "print the version" },
		{ 0 } },
};

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

/* The client: what inetd says (REMOTE_ADDR, "[::1]" or "::1"), else the
 * socket's peer. */
static int serve_inetd(const struct server_config *cfg)
{
	const char *peer = getenv("REMOTE_ADDR");
	char bare[NET_ADDR_TEXT_MAX];
	size_t n = peer ? strlen(peer) : 0;
	struct net_addr addr;

	if (n > 2 && n - 2 < sizeof(bare) && peer[0] == '[' && peer[n - 1] == ']') {
		memcpy(bare, peer + 1, n - 2);
		bare[n - 2] = 0;
		peer = bare;
	}
	if (!peer || !net_addr_parse(peer, &addr))
		server_peer_addr(0, &addr);
	return server_inetd(cfg, 0, 1, &addr);
}

static int drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (!pw) {
		msg("unknown user '%s'", user);
		return -1;
	}
	/* supplementary groups too: the keys may be readable through one; the
	 * uid change resets dumpable to fs.suid_dumpable, so harden again */
	if (initgroups(user, pw->pw_gid) || setgid(pw->pw_gid) || setuid(pw->pw_uid) || secret_process_harden()) {
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

/* The admin listener after tang's: tr->admin_listener is its index. */
static int open_admin_listener(const struct options *o, struct tang_routes *tr, int **fds, size_t *n)
{
	const char *err = NULL;

	tr->admin_listener = *n;
	if (server_listen(o->admin_addr, o->admin_port, fds, n, &err)) {
		msg("%s %s port %s: %s", err, o->admin_addr ? o->admin_addr : "(all addresses)", o->admin_port,
		    strerror(errno));
		return -1;
	}
	msg("/healthz and /metrics on %s port %s", o->admin_addr ? o->admin_addr : "all addresses", o->admin_port);
	return 0;
}

/* --port-file: the port the first listener got (the kernel's pick for -p 0),
 * written atomically, so a caller that sees the file can connect. */
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

static int serve_sockets(const struct options *o, struct server_config *cfg, struct tang_routes *tr,
			 const int *fds, size_t n)
{
	struct server_stats st;
	const char *err;

	if (o->user && drop_privileges(o->user))
		return 1;
	/* load (or create) the keys now: problems show at startup */
	tang_keyset_release(tang_keydir_get(tr->keys));
	cfg->max_conns = connection_cap(o->max_conns);
	if (server_run(cfg, fds, n, &st, &err)) {
		msg("%s", err);
		return 1;
	}
	msg("stopped: %llu requests finished during the stop, %llu cut; %llu served, %llu connections evicted, "
	    "%llu refused over the per-address limit, %llu head timeouts, %llu log lines dropped",
	    st.finished_in_stop, st.cut, st.served, st.evicted, st.refused_per_address, st.head_timeouts,
	    st.log_lines_dropped);
	return 0;
}

/* ---- options ---- */

/* parse_number into an int option: 0, or -1 after the message. */
static int parse_count(const char *s, int min, int max, const char *what, int *out)
{
	long v;

	if (!parse_number(s, min, max, what, &v))
		return -1;
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
	case OPT_PORT_FILE: o->port_file = optarg; return 0;
	case 'e': o->endpoint = optarg; return 0;
	case 'u': o->user = optarg; return 0;
	case 'c': return parse_count(optarg, 1, 1000000, "connection limit", &o->max_conns);
	case 'w': return parse_count(optarg, 1, 64, "worker count", &o->workers);
	case 'i': return parse_count(optarg, 1, 86400, "idle timeout", &o->idle_s);
	case 'r': return parse_count(optarg, 1, 3600, "request timeout", &o->request_s);
	case OPT_HEAD_TIMEOUT: return parse_count(optarg, 1, 3600, "head timeout", &o->head_s);
	case OPT_STOP_TIMEOUT: return parse_count(optarg, 0, 3600, "stop timeout", &o->stop_s);
	case OPT_MAX_PER_ADDRESS: return parse_count(optarg, 0, 1000000, "per-address limit", &o->max_per_address);
	case OPT_ADMIN_ADDRESS: o->admin_addr = optarg; return 0;
	case OPT_ADMIN_PORT: o->admin_port = optarg; return parse_count(optarg, 1, 65535, "admin port", &port);
	case OPT_NO_ADMIN: o->no_admin = true; return 0;
	case OPT_ALLOW_FILE: o->allow_file = optarg; return 0;
	case OPT_ALLOW:
		if (o->nallow == ARRAY_SIZE(o->allow)) {
			msg("too many --allow ranges (use --allow-file)");
			return -1;
		}
		o->allow[o->nallow++] = optarg;
		return 0;
	case OPT_PROXY_FROM: {
		struct cidr range;
		if (!cidr_parse(optarg, &range)) {
			msg("invalid --proxy-protocol-from '%s' (expected an address or CIDR range)", optarg);
			return -1;
		}
		return cidr_list_add(&o->proxy_from, &range) ? 0 : -1;
	}
	case 'a':
		if (o->naddrs == ARRAY_SIZE(o->addrs)) {
			msg("too many -a addresses");
			return -1;
		}
		o->addrs[o->naddrs++] = optarg;
		return 0;
	}
	return 0;
}

/* 0 to go on, -1 when -h or -v was answered, else the exit status. */
static int parse_options(int argc, char **argv, struct options *o)
{
	int c;

	while ((c = options_next(argc, argv, &help)) != OPTIONS_END) {
		if (c == OPTIONS_HELP)
			return -1;
		if (c == 'v') {
			fputs("tangd (nbde " NBDE_VERSION ")\n", stderr);
			return -1;
		}
		if (c == OPTIONS_ERROR || parse_option(c, o))
			return exit_usage();
	}
	if (optind != argc - 1)
		return usage_error(&help, optind == argc ? "JWKDIR is required" : "one JWKDIR only");
	o->dir = argv[optind];
	if (o->admin_addr && !o->admin_port)
		return usage_error(&help, "--admin-address needs --admin-port");
	if (o->no_admin && o->admin_port)
		return usage_error(&help, "--no-admin and --admin-port contradict each other");
	return 0;
}

/* Access rules and the admin mode into tr; false with a message. */
static bool setup_routes(const struct options *o, struct tang_routes *tr)
{
	tr->admin = o->no_admin ? TANG_ADMIN_OFF : o->admin_port ? TANG_ADMIN_OWN : TANG_ADMIN_SHARED;
	if (!o->nallow && !o->allow_file)
		return true;
	if (!(tr->access = tang_access_new()))
		return false;
	for (size_t i = 0; i < o->nallow; i++)
		if (!tang_access_allow(tr->access, o->allow[i]))
			return false;
	return !o->allow_file || tang_access_set_file(tr->access, o->allow_file);
}

/* What needs listening sockets, asked for in inetd mode. */
static bool inetd_compatible(const struct options *o)
{
	if (o->admin_port)
		msg("--admin-port needs -l or socket activation (inetd mode serves /healthz and /metrics "
		    "on the connection)");
	else if (o->proxy_from.n)
		msg("--proxy-protocol-from needs -l or socket activation");
	return !o->admin_port && !o->proxy_from.n;
}

int tang_server_main(int argc, char **argv)
{
	struct options o = { .port = STRINGIFY(TANG_PORT_DEFAULT), .max_conns = TANG_CONNECTIONS_DEFAULT,
			     .idle_s = TANG_IDLE_DEFAULT_S, .request_s = TANG_REQUEST_DEFAULT_S,
			     .head_s = TANG_HEAD_DEFAULT_S, .stop_s = TANG_STOP_DEFAULT_S };
	struct tang_routes tr;
	int *fds = NULL, r;
	size_t nfds = 0;

	keep_logs_out_of_connection();
	if ((r = parse_options(argc, argv, &o))) {
		cidr_list_free(&o.proxy_from);
		return r < 0 ? 0 : r;
	}
	if (!tang_routes_open(&tr, o.dir, o.endpoint)) {
		cidr_list_free(&o.proxy_from);
		return 1;
	}
	struct server_config cfg = {
		.handle = tang_routes_handle, .ctx = &tr, .is_cheap = tang_routes_is_cheap,
		.reload = tang_routes_reload, .stopping = tang_routes_stopping, .observe = tang_routes_observe,
		.metrics = &tr.metrics.server, .proxy_from = &o.proxy_from, .log = !o.quiet,
		.idle_timeout_ms = o.idle_s * 1000, .head_timeout_ms = o.head_s * 1000,
		.request_timeout_ms = o.request_s * 1000, .stop_timeout_ms = o.stop_s * 1000,
		.max_per_address = o.max_per_address, .body_max = TANG_REC_BODY_MAX, .workers = o.workers,
	};
	if (!setup_routes(&o, &tr) || open_listeners(&o, &fds, &nfds))
		r = 1;
	else if (o.admin_port && nfds && open_admin_listener(&o, &tr, &fds, &nfds))
		r = 1;
	else if (o.port_file && write_port_file(o.port_file, fds, nfds))
		r = 1;
	else if (nfds)
		r = serve_sockets(&o, &cfg, &tr, fds, nfds);
	else
		r = inetd_compatible(&o) ? serve_inetd(&cfg) : 1;
	cidr_list_free(&o.proxy_from);
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	free(fds);
	tang_routes_close(&tr);
	return r;
}
