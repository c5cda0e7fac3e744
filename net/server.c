/* server.c - inetd-style and event-loop HTTP serving (see server.h).
 *
 * Event loop: the loop thread owns every connection except while one of its
 * requests is with a worker; hand-over is a locked job queue one way and a
 * locked done queue plus an eventfd the other way. Sockets are registered
 * once, edge-triggered, and each state (reading, handling, writing) simply
 * tries its I/O again whenever anything happens, so no per-request
 * epoll_ctl is needed. A one-second sweep enforces deadlines.
 *
 * Ownership on the way out: the workers are joined before any connection
 * is freed, and the queues are emptied without looking at their entries
 * (every queued connection is also on the connection list, which frees it). */
/* accept4 needs _GNU_SOURCE, which the Makefile defines. */
#include "server.h"
#include "tunables.h"
#include "clock.h"
#include "http_response_format.h"
#include "proxy_v2.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PEER_MAX NET_ADDR_TEXT_MAX

static void count(atomic_ullong *counter)
{
	atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

/* ---- shared by both modes ---- */

/* ---- request log ----
 *
 * In server_run the workers never write to stderr themselves: a stderr
 * pipe that nobody reads would stop every request. They append lines to a
 * bounded ring (dropping and counting what does not fit) and one log
 * thread writes them out, blocking if it must. In inetd mode the one
 * thread writes directly: it only delays its own connection. */


struct log_ring {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	char buf[SERVER_LOG_RING_BYTES];
	size_t start, len;
	unsigned long long dropped;
	bool on, quit;
	pthread_t thread;
};

static struct log_ring log_ring = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

static void log_write(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(2, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;	/* nowhere left to report it */
		p += w;
		n -= (size_t)w;
	}
}

static void log_push(const char *line, size_t n)
{
	struct log_ring *r = &log_ring;

	pthread_mutex_lock(&r->lock);
	if (!r->on) {
		pthread_mutex_unlock(&r->lock);
		log_write(line, n);	/* one write: never interleaved with another line */
		return;
	}
	if (r->len + n > sizeof(r->buf)) {
		r->dropped++;
	} else {
		for (size_t i = 0; i < n; i++)
			r->buf[(r->start + r->len + i) % sizeof(r->buf)] = line[i];
		r->len += n;
		pthread_cond_signal(&r->wake);
	}
	pthread_mutex_unlock(&r->lock);
}

static void *log_main(void *arg)
{
	struct log_ring *r = arg;
	char out[4096];

	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (!r->len && !r->quit)
			pthread_cond_wait(&r->wake, &r->lock);
		if (!r->len)
			break;
		size_t n = 0;
		for (; n < sizeof(out) && n < r->len; n++)
			out[n] = r->buf[(r->start + n) % sizeof(r->buf)];
		r->start = (r->start + n) % sizeof(r->buf);
		r->len -= n;
		pthread_mutex_unlock(&r->lock);
		log_write(out, n);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static void log_thread_start(void)
{
	struct log_ring *r = &log_ring;

	r->quit = false;
	r->on = !pthread_create(&r->thread, NULL, log_main, r);
}

/* Writes what is queued, unless stderr stays blocked: then the thread is
 * left behind (the process is about to exit) instead of hanging the stop. */
static unsigned long long log_thread_stop(void)
{
	struct log_ring *r = &log_ring;
	unsigned long long dropped;

	pthread_mutex_lock(&r->lock);
	bool was_on = r->on;
	r->on = false;
	r->quit = true;
	dropped = r->dropped;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	if (was_on)
		pthread_detach(r->thread);
	return dropped;
}

void server_log(const char *fmt, ...)
{
	char line[SERVER_LOG_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	log_push(line, (size_t)n);
}

static void log_request(const char *peer, const struct http_request *req, int status)
{
	char line[SERVER_LOG_LINE_MAX];
	int n;

	if (req->phase == HTTP_INVALID && !req->target)
		n = snprintf(line, sizeof(line), "%s => %d (%s)\n", peer, status, req->error);
	else if (req->phase == HTTP_INVALID)
		n = snprintf(line, sizeof(line), "%s %s %.300s => %d (%s)\n", peer, req->method, req->target,
			     status, req->error);
	else
		n = snprintf(line, sizeof(line), "%s %s %.300s => %d\n", peer, req->method, req->target, status);
	if (n > 0)
		log_push(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* Runs the handler for a complete request (or makes the error reply for an
 * invalid one) and formats the whole response; while stopping, every reply
 * closes its connection. */
static char *respond(const struct server_config *cfg, const struct server_request_info *info,
		     const struct http_request *req, bool stopping, bool *closing, int *status, size_t *len)
{
	struct server_response res = { 0 };
	char *out;
	bool body;

	if (req->phase == HTTP_INVALID) {
		res.status = req->error_status;
	} else {
		cfg->handle(cfg->ctx, info, req, &res);
		if (!res.status)
			res.status = 500;
	}
	body = res.body && res.content_type;
	*closing = stopping || req->phase == HTTP_INVALID || !req->keep_alive;
	out = http_response_format(res.status, body ? res.content_type : NULL, body ? res.body : NULL,
				   body ? res.len : 0, *closing, len);
	free(res.body);
	*status = res.status;
	if (cfg->log)
		log_request(info->peer, req, res.status);
	return out;
}

/* ---- inetd mode ---- */

static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r;	/* 0 on timeout */
}

static int write_all_timed(int fd, const char *p, size_t len, int timeout_ms)
{
	long long deadline = clock_mono_ms() + timeout_ms;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EAGAIN) {
			long long left = deadline - clock_mono_ms();
			if (left <= 0 || wait_fd(fd, POLLOUT, (int)left) <= 0)
				return -1;
		} else if (!(n < 0 && errno == EINTR)) {
			return -1;
		}
	}
	return 0;
}

/* Answers the request in req; returns 1 to go on, 0 to stop cleanly, -1 on error. */
static int inetd_answer(const struct server_config *cfg, const struct server_request_info *info,
			struct http_request *req, int out_fd, long long started_us)
{
	bool closing;
	size_t len;
	int status;
	char *resp = respond(cfg, info, req, false, &closing, &status, &len);
	int r = resp && !write_all_timed(out_fd, resp, len, cfg->request_timeout_ms) ? 1 : -1;

	free(resp);
	if (r > 0 && cfg->observe)
		cfg->observe(cfg->ctx, info, req, status, clock_mono_us() - started_us);
	http_request_reset(req);
	return r > 0 && closing ? 0 : r;
}

/* How long to wait for input: the request deadline once a request started. */
static int inetd_wait(const struct server_config *cfg, const struct http_request *req, long long started)
{
	if (!req->started)
		return cfg->idle_timeout_ms;
	long long left = started + cfg->request_timeout_ms - clock_mono_ms();
	return left > 0 ? (int)left : 0;
}

/* After a final reply: read what the client still sends, for a while, so
 * closing does not reset the connection before it read the reply. */
static void inetd_drain(int in_fd, int out_fd)
{
	char buf[SERVER_READ_CHUNK];
	long long deadline = clock_mono_ms() + 2000;
	long long left;

	shutdown(out_fd, SHUT_WR);
	while ((left = deadline - clock_mono_ms()) > 0 && wait_fd(in_fd, POLLIN, (int)left) > 0) {
		ssize_t n = read(in_fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			break;
	}
}

int server_inetd(const struct server_config *cfg, int in_fd, int out_fd, const struct net_addr *addr)
{
	struct http_request req;
	char buf[SERVER_READ_CHUNK], peer[PEER_MAX];
	struct server_request_info info = { .listener = 0, .addr = addr, .peer = peer };
	long long started = 0, started_us = 0;
	int r = 1;

	net_addr_format(addr, peer, sizeof(peer));
	http_request_init_max(&req, cfg->body_max ? cfg->body_max : HTTP_BODY_MAX);
	for (;;) {
		int wait = inetd_wait(cfg, &req, started);
		if (wait <= 0 || wait_fd(in_fd, POLLIN, wait) <= 0)
			break;	/* timeout */
		ssize_t n = read(in_fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			r = n < 0;
			break;
		}
		if (!req.started) {
			started_us = clock_mono_us();
			started = started_us / 1000;
		}
		for (size_t off = 0; off < (size_t)n;) {
			off += http_request_feed(&req, buf + off, (size_t)n - off);
			if (!http_request_done(&req))
				break;
			int a = inetd_answer(cfg, &info, &req, out_fd, started_us);
			if (a <= 0) {
				if (!a)
					inetd_drain(in_fd, out_fd);
				http_request_free(&req);
				return a < 0;
			}
			started_us = clock_mono_us();
			started = started_us / 1000;
		}
	}
	http_request_free(&req);
	return r;
}

/* ---- event loop: connections ---- */

enum conn_state {
	CONN_READING,
	CONN_PROXY,		/* reading a trusted balancer's PROXY header */
	CONN_HANDLING,		/* a worker has it: the loop keeps its hands off */
	CONN_WRITING,
	CONN_DRAINING,		/* final reply sent: reading the rest so close() sends no RST */
	CONN_CLOSED,		/* freed after the current batch of events */
};


/* A client address and how many connections it has open. */
struct addr_count {
	struct net_addr key;
	int count;
	struct addr_count *next;
};

struct conn {
	int fd;
	enum conn_state state;
	struct http_request req;
	char *pending;			/* bytes read past the request being handled */
	size_t pending_len;
	size_t held;			/* request buffer bytes counted in loop.held */
	char *out;			/* the response being written */
	size_t out_len, out_off;
	bool closing, head_done;
	int status;			/* of the reply being written */
	long long deadline, last_active, started_ms, started_us;
	size_t listener;		/* index of the listener it came in on */
	struct net_addr addr;		/* the client (after a PROXY header) */
	unsigned char *proxy;		/* CONN_PROXY: the header so far */
	size_t proxy_len;
	struct conn *prev, *next;	/* every connection, oldest first */
	struct conn *dead_next;		/* closed in this batch; next stays intact */
	struct conn *queue_next;	/* job or done queue */
	struct addr_count *addr_count;	/* when max_per_address is set */
	char peer[PEER_MAX];
};

struct queue {
	struct conn *head, *tail;
};

struct loop {
	const struct server_config *cfg;
	int epfd, evfd, sigfd;
	const int *listen_fds;
	size_t nlisten;
	bool listening;
	struct conn *conns, *conns_tail;
	struct conn *dead;		/* closed during this batch of events */
	int nconns;
	size_t held;			/* request buffer bytes of every connection */
	struct addr_count *addrs[SERVER_ADDR_BUCKETS];
	bool stopping;			/* written under lock; workers read it there */
	long long stop_deadline;
	pthread_mutex_t lock;		/* jobs, cheap, done, quit, stopping */
	pthread_cond_t wake;
	struct queue cheap, jobs, done;
	bool quit;
	pthread_t *threads;
	int nthreads;
	struct server_metrics *m;	/* cfg->metrics or own */
	struct server_metrics own;
};

static void queue_push(struct queue *q, struct conn *c)
{
	c->queue_next = NULL;
	if (q->tail)
		q->tail->queue_next = c;
	else
		q->head = c;
	q->tail = c;
}

static struct conn *queue_pop(struct queue *q)
{
	struct conn *c = q->head;
	if (c) {
		q->head = c->queue_next;
		if (!q->head)
			q->tail = NULL;
	}
	return c;
}

/* ---- per-address counts ---- */

static struct addr_count **addr_bucket(struct loop *l, const struct net_addr *key)
{
	uint32_t h = 2166136261u;	/* FNV-1a */
	const unsigned char *b = (const unsigned char *)key;

	for (size_t i = 0; i < sizeof(*key); i++)
		h = (h ^ b[i]) * 16777619u;
	return &l->addrs[h & (SERVER_ADDR_BUCKETS - 1)];
}

/* The count for the address, incremented; NULL when that address is at
 * the limit, unknown, or out of memory. */
static struct addr_count *addr_take(struct loop *l, const struct net_addr *key)
{
	struct addr_count **b, *a;

	if (!key->family)
		return NULL;
	b = addr_bucket(l, key);
	for (a = *b; a && !net_addr_equal(&a->key, key); a = a->next)
		;
	if (!a) {
		if (!(a = calloc(1, sizeof(*a))))
			return NULL;
		a->key = *key;
		a->next = *b;
		*b = a;
	}
	if (a->count >= l->cfg->max_per_address)
		return NULL;
	a->count++;
	return a;
}

static void addr_release(struct loop *l, struct addr_count *a)
{
	struct addr_count **p;

	if (!a || --a->count)
		return;
	for (p = addr_bucket(l, &a->key); *p != a; p = &(*p)->next)
		;
	*p = a->next;
	free(a);
}

/* The per-address limit for c's client; false when it is over it. */
static bool conn_take_address(struct loop *l, struct conn *c)
{
	if (l->cfg->max_per_address > 0 && !(c->addr_count = addr_take(l, &c->addr))) {
		count(&l->m->refused_per_address);
		return false;
	}
	return true;
}

/* ---- connections ---- */

/* Keeps loop.held equal to what every connection's buffers hold. */
static void conn_account(struct loop *l, struct conn *c)
{
	size_t now = c->state == CONN_CLOSED ? 0 : c->req.line_cap + c->req.body_cap + c->pending_len;

	l->held = l->held - c->held + now;
	c->held = now;
}

/* Events for c may still be waiting in the current batch, so the memory
 * itself is freed only by conns_bury(). c->next is left as it was, so a
 * walk of the list that is standing on c can go on. */
static void conn_close(struct loop *l, struct conn *c)
{
	close(c->fd);	/* also removes it from the epoll set */
	if (c->prev)
		c->prev->next = c->next;
	else
		l->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		l->conns_tail = c->prev;
	http_request_free(&c->req);
	free(c->pending);
	free(c->out);
	free(c->proxy);
	c->proxy = NULL;
	c->pending = c->out = NULL;
	c->state = CONN_CLOSED;
	conn_account(l, c);
	addr_release(l, c->addr_count);
	c->addr_count = NULL;
	c->dead_next = l->dead;
	l->dead = c;
	l->nconns--;
	atomic_fetch_sub_explicit(&l->m->connections_open, 1, memory_order_relaxed);
}

static void conns_bury(struct loop *l)
{
	while (l->dead) {
		struct conn *c = l->dead;
		l->dead = c->dead_next;
		free(c);
	}
}

static void conn_touch(struct loop *l, struct conn *c, int timeout_ms)
{
	c->last_active = clock_mono_ms();
	c->deadline = c->last_active + timeout_ms;
}

/* Closes the oldest connection still reading a request (started or not),
 * other than keep; false when there is none. Slow clients cannot hold the
 * slots: each new connection pushes the oldest reader out. */
static bool evict_oldest_reader(struct loop *l, const struct conn *keep, atomic_ullong *counter)
{
	for (struct conn *c = l->conns; c; c = c->next)
		if ((c->state == CONN_READING || c->state == CONN_PROXY) && c != keep) {
			conn_close(l, c);
			count(counter);
			return true;
		}
	return false;
}

static void conn_handover(struct loop *l, struct conn *c)
{
	bool cheap = c->req.phase == HTTP_INVALID || !l->cfg->is_cheap || l->cfg->is_cheap(l->cfg->ctx, &c->req);

	c->state = CONN_HANDLING;
	c->deadline = LLONG_MAX;	/* a worker cannot be interrupted */
	pthread_mutex_lock(&l->lock);
	queue_push(cheap ? &l->cheap : &l->jobs, c);
	pthread_cond_signal(&l->wake);
	pthread_mutex_unlock(&l->lock);
}

/* Deadlines of a request: its head within head_timeout of its first byte,
 * the whole of it within request_timeout. */
static void conn_request_deadline(struct loop *l, struct conn *c, bool was_started)
{
	const struct server_config *cfg = l->cfg;

	if (!was_started && c->req.started) {
		c->started_us = clock_mono_us();
		c->started_ms = c->started_us / 1000;
		c->head_done = false;
		c->last_active = c->started_ms;
		c->deadline = c->started_ms + (cfg->head_timeout_ms ? cfg->head_timeout_ms : cfg->request_timeout_ms);
	}
	if (c->req.started && !c->head_done && c->req.phase > HTTP_HEADERS) {
		c->head_done = true;
		c->deadline = c->started_ms + cfg->request_timeout_ms;
	}
}

/* Feeds bytes to the parser; a finished request goes to a worker and the
 * rest of the bytes wait in c->pending. Returns false when out of memory. */
static bool conn_feed(struct loop *l, struct conn *c, const char *p, size_t n)
{
	bool was_started = c->req.started;
	size_t used = http_request_feed(&c->req, p, n);

	conn_request_deadline(l, c, was_started);
	conn_account(l, c);
	while (l->held > SERVER_REQUEST_MEMORY_BUDGET && evict_oldest_reader(l, c, &l->m->evicted_memory))
		;
	if (!http_request_done(&c->req))
		return true;
	if (used < n) {
		if (!(c->pending = malloc(n - used)))
			return false;
		memcpy(c->pending, p + used, n - used);
		c->pending_len = n - used;
		conn_account(l, c);
	}
	conn_handover(l, c);
	return true;
}

/* Reads while the request is incomplete; false when the connection is over. */
/* One read or write on a non-blocking socket, EINTR retried: the byte
 * count, SOCK_AGAIN when it would block, or SOCK_OVER at the end of input
 * or on an error (the connection is over). */
enum { SOCK_OVER = 0, SOCK_AGAIN = -1 };

static ssize_t sock_result(ssize_t n)
{
	return n > 0 ? n : n < 0 && errno == EAGAIN ? SOCK_AGAIN : SOCK_OVER;
}

static ssize_t sock_read(int fd, void *buf, size_t len)
{
	ssize_t n;

	while ((n = read(fd, buf, len)) < 0 && errno == EINTR)
		;
	return sock_result(n);
}

static ssize_t sock_write(int fd, const void *buf, size_t len)
{
	ssize_t n;

	while ((n = write(fd, buf, len)) < 0 && errno == EINTR)
		;
	return sock_result(n);
}

static bool conn_read(struct loop *l, struct conn *c)
{
	char buf[SERVER_READ_CHUNK];

	while (c->state == CONN_READING) {
		ssize_t n = sock_read(c->fd, buf, sizeof(buf));
		if (n == SOCK_AGAIN)
			return true;
		if (n == SOCK_OVER || !conn_feed(l, c, buf, (size_t)n))
			return false;
	}
	return true;
}

/* After a response: the next pipelined request, or back to reading. */
static bool conn_next(struct loop *l, struct conn *c)
{
	char *pending = c->pending;
	size_t len = c->pending_len;
	bool ok = true;

	free(c->out);
	c->out = NULL;
	http_request_reset(&c->req);
	c->state = CONN_READING;
	conn_touch(l, c, l->cfg->idle_timeout_ms);
	c->pending = NULL;
	c->pending_len = 0;
	conn_account(l, c);
	if (len)
		ok = conn_feed(l, c, pending, len);
	free(pending);
	return ok && conn_read(l, c);
}

/* ---- event loop: a trusted balancer's PROXY header ---- */

/* The header is the first thing the balancer sends: it gets the head
 * deadline a request gets. */
static int proxy_timeout_ms(const struct server_config *cfg)
{
	return cfg->head_timeout_ms ? cfg->head_timeout_ms : cfg->request_timeout_ms;
}

/* The header is done: the connection is now its client's. */
static bool conn_proxy_done(struct loop *l, struct conn *c, const struct proxy_v2 *p)
{
	free(c->proxy);
	c->proxy = NULL;
	if (!p->local) {	/* LOCAL: the balancer's own health check */
		c->addr = p->src;
		net_addr_format(&c->addr, c->peer, sizeof(c->peer));
	}
	if (!conn_take_address(l, c))
		return false;
	c->state = CONN_READING;
	conn_touch(l, c, l->cfg->idle_timeout_ms);
	return true;
}

/* Reads no byte past the header (what follows is HTTP, read as usual);
 * false when the connection is over or the header is malformed. */
static bool conn_read_proxy(struct loop *l, struct conn *c)
{
	struct proxy_v2 p;
	size_t need = PROXY_V2_HEAD;
	enum proxy_v2_result r = PROXY_V2_MORE;

	while (r == PROXY_V2_MORE) {
		ssize_t n = sock_read(c->fd, c->proxy + c->proxy_len, need - c->proxy_len);
		if (n == SOCK_AGAIN)
			return true;
		if (n == SOCK_OVER)
			return false;
		c->proxy_len += (size_t)n;
		r = proxy_v2_parse(c->proxy, c->proxy_len, &p, &need);
	}
	if (r == PROXY_V2_INVALID) {
		count(&l->m->refused_proxy_header);
		return false;
	}
	return conn_proxy_done(l, c, &p);
}

/* False at end of input, which ends a draining connection. */
static bool conn_drain(struct conn *c)
{
	char buf[SERVER_READ_CHUNK];
	ssize_t n;

	while ((n = read(c->fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		;
	return n < 0 && errno == EAGAIN;
}

static bool conn_write(struct loop *l, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = sock_write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n == SOCK_AGAIN)
			return true;
		if (n == SOCK_OVER)
			return false;
		c->out_off += (size_t)n;
	}
	count(&l->m->served);
	if (l->stopping)
		count(&l->m->finished_in_stop);
	if (l->cfg->observe) {
		struct server_request_info info = { c->listener, &c->addr, c->peer };
		l->cfg->observe(l->cfg->ctx, &info, &c->req, c->status, clock_mono_us() - c->started_us);
	}
	if (!c->closing)
		return conn_next(l, c);
	/* the client may still be sending (a refused body): stop writing and
	 * read what comes, or close() would reset the connection and could
	 * destroy the reply before the client read it */
	shutdown(c->fd, SHUT_WR);
	c->state = CONN_DRAINING;
	conn_touch(l, c, SERVER_DRAIN_MS);
	return conn_drain(c);
}

/* Whatever the state allows; closes the connection when it is over. */
static void conn_progress(struct loop *l, struct conn *c)
{
	bool ok = true;

	if (c->state == CONN_PROXY && !conn_read_proxy(l, c)) {
		conn_close(l, c);
		return;
	}
	if (c->state == CONN_PROXY)
		return;	/* more of the header to come */
	if (c->state == CONN_READING)
		ok = conn_read(l, c);
	else if (c->state == CONN_WRITING)
		ok = conn_write(l, c);
	else if (c->state == CONN_DRAINING)
		ok = conn_drain(c);
	else
		return;	/* handling or already closed */
	if (!ok)
		conn_close(l, c);
}

/* ---- event loop: workers ---- */

/* The next job, cheap ones first; NULL when the workers are to quit. */
static struct conn *worker_take(struct loop *l, bool *stopping)
{
	struct conn *c = NULL;

	pthread_mutex_lock(&l->lock);
	while (!l->quit && !l->cheap.head && !l->jobs.head)
		pthread_cond_wait(&l->wake, &l->lock);
	if (!l->quit && !(c = queue_pop(&l->cheap)))
		c = queue_pop(&l->jobs);
	*stopping = l->stopping;
	pthread_mutex_unlock(&l->lock);
	return c;
}

static void *worker_main(void *arg)
{
	struct loop *l = arg;
	struct conn *c;
	bool stopping;
	uint64_t one = 1;

	while ((c = worker_take(l, &stopping))) {
		struct server_request_info info = { c->listener, &c->addr, c->peer };
		c->out = respond(l->cfg, &info, &c->req, stopping, &c->closing, &c->status, &c->out_len);
		c->out_off = 0;
		pthread_mutex_lock(&l->lock);
		queue_push(&l->done, c);
		pthread_mutex_unlock(&l->lock);
		if (write(l->evfd, &one, sizeof(one)) < 0)
			continue;	/* the counter is saturated: the loop wakes anyway */
	}
	return NULL;
}

static int workers_start(struct loop *l)
{
	pthread_attr_t attr;
	long n = l->cfg->workers > 0 ? l->cfg->workers : sysconf(_SC_NPROCESSORS_ONLN);

	n = n < 1 ? 1 : n > SERVER_WORKERS_MAX ? SERVER_WORKERS_MAX : n;
	if (!(l->threads = calloc((size_t)n, sizeof(*l->threads))))
		return -1;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, SERVER_WORKER_STACK);
	for (; l->nthreads < n; l->nthreads++)
		if (pthread_create(&l->threads[l->nthreads], &attr, worker_main, l))
			break;
	pthread_attr_destroy(&attr);
	return l->nthreads ? 0 : -1;
}

/* Joins the workers. Jobs still queued stay queued: their connections are
 * on the connection list and are freed with it. */
static void workers_stop(struct loop *l)
{
	pthread_mutex_lock(&l->lock);
	l->quit = true;
	pthread_cond_broadcast(&l->wake);
	pthread_mutex_unlock(&l->lock);
	for (int i = 0; i < l->nthreads; i++)
		pthread_join(l->threads[i], NULL);
	free(l->threads);
	l->cheap.head = l->cheap.tail = l->jobs.head = l->jobs.tail = NULL;
	l->done.head = l->done.tail = NULL;
}

/* Responses the workers finished: write them out on the loop thread. */
static void collect_done(struct loop *l)
{
	uint64_t count;
	struct queue done;
	struct conn *c;

	if (read(l->evfd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&l->lock);
	done = l->done;
	l->done.head = l->done.tail = NULL;
	pthread_mutex_unlock(&l->lock);
	while ((c = queue_pop(&done))) {
		if (!c->out) {
			conn_close(l, c);
			continue;
		}
		c->state = CONN_WRITING;
		conn_touch(l, c, l->cfg->request_timeout_ms);
		conn_progress(l, c);
	}
}

/* ---- event loop: accepting and deadlines ---- */

static void listeners_enable(struct loop *l, bool on)
{
	for (size_t i = 0; i < l->nlisten && on != l->listening; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
		ev.data.u64 = i + 1;	/* small numbers: listeners; pointers: connections */
		epoll_ctl(l->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, l->listen_fds[i], &ev);
	}
	l->listening = on;
}

/* False when the connection is refused (cap with nobody to evict, the
 * per-address limit, out of memory). A trusted balancer's connections are
 * counted against the client its header names, once it arrived. */
static bool conn_admit(struct loop *l, struct conn *c)
{
	if (c->state != CONN_PROXY && !conn_take_address(l, c))
		return false;
	if (l->nconns >= l->cfg->max_conns && !evict_oldest_reader(l, NULL, &l->m->evicted_cap)) {
		count(&l->m->refused_cap);
		addr_release(l, c->addr_count);
		return false;
	}
	return true;
}

static void conn_add(struct loop *l, int fd, size_t listener)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
	int one = 1;

	if (c) {
		server_peer_addr(fd, &c->addr);
		c->listener = listener;
		c->state = cidr_list_match(l->cfg->proxy_from, &c->addr) ? CONN_PROXY : CONN_READING;
	}
	if (!c || (c->state == CONN_PROXY && !(c->proxy = malloc(PROXY_V2_MAX))) || !conn_admit(l, c)) {
		if (c)
			free(c->proxy);
		free(c);
		close(fd);
		return;
	}
	c->fd = fd;
	http_request_init_max(&c->req, l->cfg->body_max ? l->cfg->body_max : HTTP_BODY_MAX);
	net_addr_format(&c->addr, c->peer, sizeof(c->peer));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	conn_touch(l, c, c->state == CONN_PROXY ? proxy_timeout_ms(l->cfg) : l->cfg->idle_timeout_ms);
	ev.data.ptr = c;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		addr_release(l, c->addr_count);
		free(c->proxy);
		free(c);
		close(fd);
		return;
	}
	c->prev = l->conns_tail;	/* newest last: eviction takes the oldest */
	if (l->conns_tail)
		l->conns_tail->next = c;
	else
		l->conns = c;
	l->conns_tail = c;
	l->nconns++;
	atomic_fetch_add_explicit(&l->m->connections_open, 1, memory_order_relaxed);
}

static void accept_all(struct loop *l, size_t listener)
{
	while (!l->stopping) {
		int fd = accept4(l->listen_fds[listener], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			conn_add(l, fd, listener);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			listeners_enable(l, false);	/* the sweep turns them back on */
		if (errno != EINTR && errno != ECONNABORTED)
			return;
	}
}

static void sweep(struct loop *l)
{
	long long now = clock_mono_ms();

	for (struct conn *c = l->conns; c; c = c->next) {
		if (c->state == CONN_CLOSED || c->state == CONN_HANDLING || now < c->deadline)
			continue;
		if (c->state == CONN_PROXY || (c->state == CONN_READING && c->req.started && !c->head_done))
			count(&l->m->head_timeouts);
		conn_close(l, c);
	}
	if (!l->stopping)
		listeners_enable(l, true);
}

/* ---- event loop: stopping ---- */

/* A request is in flight from its first byte until its reply is written. */
static bool conn_in_flight(const struct conn *c)
{
	return c->state == CONN_HANDLING || c->state == CONN_WRITING ||
	       (c->state == CONN_READING && c->req.started);
}

/* SIGTERM: no new connections; idle ones close now (after a last read, so
 * a request already sent is not lost); the rest finish and then close. */
static void stop_begin(struct loop *l)
{
	pthread_mutex_lock(&l->lock);
	l->stopping = true;
	pthread_mutex_unlock(&l->lock);
	l->stop_deadline = clock_mono_ms() + l->cfg->stop_timeout_ms;
	listeners_enable(l, false);
	if (l->cfg->stopping)
		l->cfg->stopping(l->cfg->ctx);
	for (struct conn *c = l->conns; c; c = c->next) {
		if (c->state == CONN_PROXY) {
			conn_close(l, c);	/* no request yet */
			continue;
		}
		if (c->state != CONN_READING)
			continue;
		conn_progress(l, c);
		if (c->state == CONN_READING && !c->req.started)
			conn_close(l, c);
	}
}

static bool stop_done(struct loop *l)
{
	return l->stopping && (!l->nconns || clock_mono_ms() >= l->stop_deadline);
}

/* Counts what the grace period did not finish. */
static void stop_count_cut(struct loop *l)
{
	for (struct conn *c = l->conns; c; c = c->next)
		if (conn_in_flight(c))
			count(&l->m->cut);
}

/* ---- event loop: the loop ---- */

static int signals_fd(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, old))
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static void handle_signal(struct loop *l)
{
	struct signalfd_siginfo si;

	while (read(l->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			if (l->cfg->reload)
				l->cfg->reload(l->cfg->ctx);
		} else if (!l->stopping) {
			stop_begin(l);
		} else {
			l->stop_deadline = 0;	/* a second one: no more grace */
		}
	}
}

static void dispatch(struct loop *l, struct epoll_event *ev)
{
	uintptr_t tag = (uintptr_t)ev->data.u64;

	if (ev->data.ptr == &l->evfd)
		collect_done(l);
	else if (ev->data.ptr == &l->sigfd)
		handle_signal(l);
	else if (tag && tag <= l->nlisten)
		accept_all(l, tag - 1);
	else
		conn_progress(l, ev->data.ptr);
}

static int loop_add(struct loop *l, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* Milliseconds to wait for events: a second, or less before the stop deadline. */
static int loop_wait_ms(const struct loop *l)
{
	long long left = l->stopping ? l->stop_deadline - clock_mono_ms() : 1000;

	return left < 0 ? 0 : left > 1000 ? 1000 : (int)left;
}

static void loop_run(struct loop *l)
{
	struct epoll_event evs[64];
	long long next_sweep = clock_mono_ms() + 1000;

	while (!stop_done(l)) {
		int n = epoll_wait(l->epfd, evs, 64, loop_wait_ms(l));
		for (int i = 0; i < n; i++)
			dispatch(l, &evs[i]);
		conns_bury(l);
		if (clock_mono_ms() >= next_sweep) {
			sweep(l);
			conns_bury(l);
			next_sweep = clock_mono_ms() + 1000;
		}
	}
	stop_count_cut(l);
}

static unsigned long long get(atomic_ullong *counter)
{
	return atomic_load_explicit(counter, memory_order_relaxed);
}

static void stats_from_metrics(struct server_metrics *m, unsigned long long dropped, struct server_stats *st)
{
	st->served = get(&m->served);
	st->finished_in_stop = get(&m->finished_in_stop);
	st->cut = get(&m->cut);
	st->evicted = get(&m->evicted_cap) + get(&m->evicted_memory);
	st->refused_per_address = get(&m->refused_per_address);
	st->head_timeouts = get(&m->head_timeouts);
	st->log_lines_dropped = dropped;
}

/* After the workers are joined (no queue refers to anything any more). */
static void loop_free(struct loop *l)
{
	while (l->conns)
		conn_close(l, l->conns);
	conns_bury(l);
	for (size_t i = 0; i < SERVER_ADDR_BUCKETS; i++)
		while (l->addrs[i]) {
			struct addr_count *a = l->addrs[i];
			l->addrs[i] = a->next;
			free(a);
		}
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->evfd >= 0)
		close(l->evfd);
	if (l->sigfd >= 0)
		close(l->sigfd);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->wake);
}

int server_run(const struct server_config *cfg, const int *fds, size_t nfds, struct server_stats *stats,
	       const char **err)
{
	struct loop l = { .cfg = cfg, .listen_fds = fds, .nlisten = nfds, .epfd = -1, .evfd = -1 };
	sigset_t old;
	int r = 1;
	unsigned long long dropped = 0;

	l.m = cfg->metrics ? cfg->metrics : &l.own;
	pthread_mutex_init(&l.lock, NULL);
	pthread_cond_init(&l.wake, NULL);
	/* signals blocked before the workers exist, so only the signalfd sees them */
	l.sigfd = signals_fd(&old);
	l.epfd = epoll_create1(EPOLL_CLOEXEC);
	l.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	*err = "cannot set up the event loop";
	if (l.sigfd >= 0 && l.epfd >= 0 && l.evfd >= 0 && !loop_add(&l, l.evfd, &l.evfd) &&
	    !loop_add(&l, l.sigfd, &l.sigfd)) {
		*err = "cannot start worker threads";
		/* also with -q: server_log lines go through it */
		log_thread_start();
		if (!workers_start(&l)) {
			listeners_enable(&l, true);
			loop_run(&l);
			r = 0;
			workers_stop(&l);
		}
		dropped = log_thread_stop();
	}
	loop_free(&l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (stats)
		stats_from_metrics(l.m, dropped, stats);
	return r;
}

/* ---- sockets ---- */

static int fds_append(int **fds, size_t *n, int fd)
{
	int *more = realloc(*fds, (*n + 1) * sizeof(**fds));
	if (!more)
		return -1;
	more[(*n)++] = fd;
	*fds = more;
	return 0;
}

static int listen_one(const struct addrinfo *ai)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	int one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 1024)) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int server_listen(const char *addr, const char *port, int **fds, size_t *nfds, const char **err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	char host[INET6_ADDRSTRLEN + 2];
	size_t len = addr ? strlen(addr) : 0;

	if (addr && len >= 2 && addr[0] == '[' && addr[len - 1] == ']' && len - 2 < sizeof(host)) {
		memcpy(host, addr + 1, len - 2);	/* "[::1]" as in URLs */
		host[len - 2] = 0;
		addr = host;
	}
	if (addr)
		hints.ai_flags |= AI_NUMERICHOST;
	if (getaddrinfo(addr, port, &hints, &res)) {
		*err = "invalid listen address or port";
		errno = EINVAL;
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		int fd = listen_one(ai);
		if (fd < 0 || fds_append(fds, nfds, fd)) {
			*err = "cannot listen";
			if (fd >= 0)
				close(fd);
			freeaddrinfo(res);
			return -1;
		}
	}
	freeaddrinfo(res);
	return 0;
}

static bool is_stream_listener(int fd)
{
	int type = 0, acc = 0;
	socklen_t l1 = sizeof(type), l2 = sizeof(acc);

	return !getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l1) && type == SOCK_STREAM &&
	       !getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l2) && acc;
}

int server_activation_fds(int **fds, size_t *nfds, const char **err)
{
	const char *pid = getenv("LISTEN_PID"), *count = getenv("LISTEN_FDS");
	char *end;
	long n;

	if (!pid || !count || strtol(pid, &end, 10) != (long)getpid() || *end)
		return 0;
	n = strtol(count, &end, 10);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (*end || n <= 0 || n > 64)
		return 0;
	for (int fd = 3; fd < 3 + n; fd++) {
		if (!is_stream_listener(fd)) {
			*err = "a LISTEN_FDS descriptor is not a listening stream socket (Accept=no is needed)";
			return -1;
		}
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		if (fds_append(fds, nfds, fd)) {
			*err = "out of memory";
			return -1;
		}
	}
	return (int)n;
}

bool server_peer_addr(int fd, struct net_addr *out)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(out, 0, sizeof(*out));
	if (getpeername(fd, (struct sockaddr *)&ss, &len))
		return false;
	return net_addr_from_sockaddr((struct sockaddr *)&ss, out);
}

bool server_fd_is_connection(int fd, int other)
{
	struct stat a, b;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (fstat(fd, &a))
		return false;
	if (!fstat(other, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return true;
	return S_ISSOCK(a.st_mode) && !getsockname(fd, (struct sockaddr *)&ss, &len) &&
	       (ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
}
