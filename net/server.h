/* server.h - serving HTTP requests to a handler, three ways:
 *
 *  - server_inetd: one connection on a pair of descriptors (inetd, socat,
 *    systemd Accept=yes), requests answered in order until the peer closes;
 *  - server_run: one process for many connections on listening sockets (from
 *    server_listen or systemd's LISTEN_FDS): an epoll loop in the calling
 *    thread does all socket I/O, a pool of worker threads runs the handler
 *    (the EC math) so every core is used;
 *  - both bound every read by the parser limits and by time (idle and
 *    per-request deadlines), write each response with one write call, close
 *    the connection after malformed requests, and log one line per request
 *    on stderr ("ADDR METHOD TARGET => STATUS") when asked to; in server_run
 *    through a log thread, so a stderr nobody reads never stalls a request.
 *
 * The handler knows nothing about sockets: it gets a parsed request, which
 * listener and which client it came from, and fills in a status, a content
 * type and a body. */
#ifndef NBDE_SERVER_H
#define NBDE_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "cidr.h"
#include "http_request_parse.h"

struct server_response {
	int status;
	const char *content_type;	/* with body: sent whatever the status */
	char *body;			/* malloc'd, freed by the server; NULL for none */
	size_t len;
};

/* Where a request came from. */
struct server_request_info {
	size_t listener;		/* index into server_run's fds; 0 in server_inetd */
	const struct net_addr *addr;	/* the client: from the PROXY header when the
					 * connection came through a trusted balancer */
	const char *peer;		/* the same as text */
};

/* Called on a worker thread (server_run) or the only thread (server_inetd);
 * must be thread-safe for server_run. */
typedef void (*server_handler)(void *ctx, const struct server_request_info *info, const struct http_request *req,
			       struct server_response *res);

/* Called after each reply is written in full (also error replies to
 * malformed requests), on the loop thread or the inetd thread: status sent
 * and microseconds since the request's first byte. */
typedef void (*server_observer)(void *ctx, const struct server_request_info *info, const struct http_request *req,
				int status, long long duration_us);

/* What the server counts, readable at any time from any thread (relaxed
 * atomics: each is exact, they are not a snapshot together). The caller
 * owns it; server_run only adds. */
struct server_metrics {
	atomic_llong connections_open;
	atomic_ullong served;			/* replies written in full */
	atomic_ullong finished_in_stop;		/* ... of them after the stop began */
	atomic_ullong cut;			/* requests in flight when the grace ran out */
	atomic_ullong evicted_cap;		/* oldest reader closed to make room at the cap */
	atomic_ullong evicted_memory;		/* ... when request buffers reached their budget */
	atomic_ullong refused_cap;		/* at the cap with nobody to evict */
	atomic_ullong refused_per_address;	/* connections over max_per_address */
	atomic_ullong head_timeouts;		/* requests (or PROXY headers) whose head came too slowly */
	atomic_ullong refused_proxy_header;	/* a trusted balancer's header was malformed */
};

struct server_config {
	server_handler handle;
	void *ctx;
	/* Requests it calls cheap (no key math: /adv, errors) are served before
	 * queued expensive ones, so they never wait behind a queue of /rec
	 * work. May be NULL: every request is equal. Loop thread. */
	bool (*is_cheap)(void *ctx, const struct http_request *req);
	void (*reload)(void *ctx);	/* SIGHUP, on the loop thread; may be NULL */
	void (*stopping)(void *ctx);	/* a stop began (loop thread); may be NULL */
	server_observer observe;	/* may be NULL */
	struct server_metrics *metrics;	/* server_run; may be NULL */
	/* Connections from these addresses must begin with a PROXY protocol v2
	 * header and are then the client it names (rules, limits, log); from
	 * anywhere else such a header is HTTP garbage (400). server_run only. */
	const struct cidr_list *proxy_from;
	bool log;			/* one line per request on stderr */
	int idle_timeout_ms;		/* waiting for the next request */
	int head_timeout_ms;		/* receiving a request's head once it started */
	int request_timeout_ms;		/* receiving one request, sending one reply */
	int stop_timeout_ms;		/* server_run: grace for requests in flight at SIGTERM */
	int max_conns;			/* server_run; at the cap the oldest connection still
					 * reading a request is closed to make room */
	int max_per_address;		/* server_run; open connections per client address, 0 = any */
	size_t body_max;		/* request bodies this long get 413; 0 = HTTP_BODY_MAX */
	int workers;			/* server_run; 0 = one per online CPU */
};

/* What server_run did, for its caller's last log line (from the metrics,
 * so counted since they were zero). */
struct server_stats {
	unsigned long long served;		/* replies written in full */
	unsigned long long finished_in_stop;	/* ... of them after the stop began */
	unsigned long long cut;			/* requests in flight when the grace ran out */
	unsigned long long evicted;		/* connections closed to make room (cap, memory) */
	unsigned long long refused_per_address;	/* connections over max_per_address */
	unsigned long long head_timeouts;	/* requests whose head came too slowly */
	unsigned long long log_lines_dropped;	/* stderr did not keep up */
};

/* Serves one connection from addr (family 0 when unknown); returns 0 when
 * the peer closed or a request was malformed (the reply was sent), 1 on an
 * I/O error or timeout. */
int server_inetd(const struct server_config *cfg, int in_fd, int out_fd, const struct net_addr *addr);

/* One line on stderr, as the request log writes them (through its thread
 * in server_run, so a stderr nobody reads never stalls the caller). The
 * caller escapes what came from the network. */
void server_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs until SIGTERM or SIGINT (returns 0) or a fatal error (returns 1 with
 * *err set). Blocks SIGTERM, SIGINT and SIGHUP in the calling thread.
 *
 * A stop: accepting ends, idle connections close, requests in flight are
 * finished (each reply then closes its connection) for at most
 * stop_timeout_ms; a second SIGTERM or SIGINT cuts that grace short. The
 * workers are joined and every connection is freed only after both queues
 * are emptied. *stats (may be NULL) says what happened. */
int server_run(const struct server_config *cfg, const int *fds, size_t nfds, struct server_stats *stats,
	       const char **err);

/* Appends listening sockets for addr (NULL: every wildcard address, IPv4
 * and IPv6; "[::1]" and "::1" both work) and port to *fds. 0, or -1 with
 * *err and errno. */
int server_listen(const char *addr, const char *port, int **fds, size_t *nfds, const char **err);

/* systemd socket activation (LISTEN_PID, LISTEN_FDS, Accept=no): appends
 * the passed listening sockets to *fds; returns how many (0 when none were
 * passed), or -1 with *err when a passed descriptor is not a stream
 * listener. */
int server_activation_fds(int **fds, size_t *nfds, const char **err);

/* The peer of a connected socket; false (family 0) when fd is not an IP socket. */
bool server_peer_addr(int fd, struct net_addr *out);

/* True when fd is a TCP/IP socket or the same open file as other (so text
 * written to it would land inside the HTTP stream). */
bool server_fd_is_connection(int fd, int other);

#endif
