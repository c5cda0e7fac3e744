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
 * The handler knows nothing about sockets: it gets a parsed request and
 * fills in a status, a content type and a body. */
#ifndef NBDE_SERVER_H
#define NBDE_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "http_request.h"

struct server_response {
	int status;
	const char *content_type;	/* NULL for error replies */
	char *body;			/* malloc'd, freed by the server; NULL for none */
	size_t len;
};

/* Called on a worker thread (server_run) or the only thread (server_inetd);
 * must be thread-safe for server_run. */
typedef void (*server_handler)(void *ctx, const struct http_request *req, struct server_response *res);

struct server_config {
	server_handler handle;
	void *ctx;
	/* Requests it calls cheap (no key math: /adv, errors) are served before
	 * queued expensive ones, so they never wait behind a queue of /rec
	 * work. May be NULL: every request is equal. Loop thread. */
	bool (*is_cheap)(void *ctx, const struct http_request *req);
	void (*reload)(void *ctx);	/* SIGHUP, on the loop thread; may be NULL */
	void (*stopping)(void *ctx);	/* a stop began (loop thread); may be NULL */
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

/* What server_run did, for its caller's last log line. */
struct server_stats {
	unsigned long long served;		/* replies written in full */
	unsigned long long finished_in_stop;	/* ... of them after the stop began */
	unsigned long long cut;			/* requests in flight when the grace ran out */
	unsigned long long evicted;		/* connections closed to make room (cap, memory) */
	unsigned long long refused_per_address;	/* connections over max_per_address */
	unsigned long long head_timeouts;	/* requests whose head came too slowly */
	unsigned long long log_lines_dropped;	/* stderr did not keep up */
};

/* Serves one connection; returns 0 when the peer closed or a request was
 * malformed (the reply was sent), 1 on an I/O error or timeout. */
int server_inetd(const struct server_config *cfg, int in_fd, int out_fd, const char *peer);

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

/* The peer of a connected socket as text ("127.0.0.1", "::1"); false when
 * fd is not an IP socket. */
bool server_peer_name(int fd, char *out, size_t size);

/* True when fd is a TCP/IP socket or the same open file as other (so text
 * written to it would land inside the HTTP stream). */
bool server_fd_is_connection(int fd, int other);

#endif
