/* http_client.c - HTTP/1.1 client with deadlines and retries (see
 * http_client.h), over TLS for https:// (tls_transport.h). One request per
 * connection ("Connection: close"): tang exchanges are single round trips,
 * and a fresh connection per retry is what recovers from a server that
 * restarted. */
#include "http_client.h"
#include "clock.h"
#include "thread.h"
#include "tls_transport.h"
#include "url.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Raw bytes accepted: a full head, a full body and generous chunk framing. */
#define RAW_MAX (HTTP_REPLY_BODY_MAX + 2 * HTTP_REPLY_HEAD_MAX + 65536)

enum outcome { DONE, PERMANENT, TRANSIENT, CANCELLED };

struct attempt {
	const struct http_client_request *rq;
	const struct url *url;
	const char *text;	/* the request bytes */
	size_t text_len;
	char *err;
	size_t errlen;
};

static bool cancelled(const struct http_client_request *rq)
{
	return rq->cancelled && rq->cancelled(rq->cancel_ctx);
}

static enum outcome fail(struct attempt *a, enum outcome o, const char *what, const char *detail)
{
	snprintf(a->err, a->errlen, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
	return o;
}

/* Polls fds until one is ready, `until` passes or the request is cancelled.
 * Slices keep cancellation prompt. Returns poll's count, 0 on timeout, -2
 * when cancelled. */
static int wait_fds(struct pollfd *fds, nfds_t n, long long until, const struct http_client_request *rq)
{
	for (;;) {
		long long left = until - clock_mono_ms();
		int r;
		if (cancelled(rq))
			return -2;
		if (left <= 0)
			return 0;
		r = poll(fds, n, (int)(left < HTTP_CLIENT_POLL_SLICE_MS ? left : HTTP_CLIENT_POLL_SLICE_MS));
		if (r < 0 && errno == EINTR)
			continue;
		if (r != 0)
			return r;
	}
}

/* --- name resolution in a helper thread, so that it too has a deadline --- */

struct resolution {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs;		/* the waiter and the thread */
	bool done;
	int rc;
	struct addrinfo *res;
	char host[URL_HOST_MAX + 1], port[6];
};

static const struct addrinfo stream_hints = {
	.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV,
};

/* The last of the waiter and the thread frees it: a waiter that gave up
 * leaves a slow getaddrinfo() running without waiting for it. */
static void resolution_release(struct resolution *r)
{
	if (!shared_release(&r->mu, &r->refs))
		return;
	if (r->res)
		freeaddrinfo(r->res);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static void *resolve_thread(void *arg)
{
	struct resolution *r = arg;
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(r->host, r->port, &stream_hints, &res);

	pthread_mutex_lock(&r->mu);
	r->rc = rc;
	r->res = res;
	r->done = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	resolution_release(r);
	return NULL;
}

static struct resolution *resolution_start(const struct url *u)
{
	struct resolution *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	clock_cond_init(&r->cv);
	pthread_mutex_init(&r->mu, NULL);
	strcpy(r->host, u->host);
	strcpy(r->port, u->port);
	r->refs = 2;
	if (!thread_start_detached(resolve_thread, r, 0)) {
		r->refs = 1;
		resolution_release(r);
		return NULL;
	}
	return r;
}

/* Waits for the thread until the deadline, in slices for cancellation. */
static enum outcome resolution_wait(struct resolution *r, struct attempt *a, struct addrinfo **res)
{
	enum outcome o = TRANSIENT;

	pthread_mutex_lock(&r->mu);
	while (!r->done && !cancelled(a->rq) && clock_mono_ms() < a->rq->deadline_ms) {
		clock_cond_wait_until(&r->cv, &r->mu, clock_mono_ms() + HTTP_CLIENT_POLL_SLICE_MS);
	}
	if (r->done && r->rc == 0) {
		*res = r->res;
		r->res = NULL;
		o = DONE;
	} else if (r->done) {
		/* a name that does not exist will not start to exist by retrying */
		o = fail(a, r->rc == EAI_NONAME ? PERMANENT : TRANSIENT, "cannot resolve host name",
			 gai_strerror(r->rc));
	} else {
		o = fail(a, cancelled(a->rq) ? CANCELLED : TRANSIENT, "timed out resolving host name", NULL);
	}
	pthread_mutex_unlock(&r->mu);
	resolution_release(r);
	return o;
}

static enum outcome resolve(struct attempt *a, struct addrinfo **res)
{
	struct addrinfo numeric = stream_hints;
	struct resolution *r;

	numeric.ai_flags |= AI_NUMERICHOST;
	if (getaddrinfo(a->url->host, a->url->port, &numeric, res) == 0)
		return DONE;	/* an address literal needs no resolver */
	if (!(r = resolution_start(a->url)))
		return fail(a, TRANSIENT, "cannot start name resolution", strerror(errno));
	return resolution_wait(r, a, res);
}

/* --- connecting to every address at once --- */

static void close_all(struct pollfd *fds, nfds_t n, int keep)
{
	for (nfds_t i = 0; i < n; i++)
		if (fds[i].fd >= 0 && fds[i].fd != keep)
			close(fds[i].fd);
}

/* Starts a non-blocking connect; returns the socket or -1 with errno. */
static int start_connect(const struct addrinfo *ai, bool *connected)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	*connected = false;
	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		*connected = true;
		return fd;
	}
	if (errno == EINPROGRESS)
		return fd;
	int e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* The first connect to finish wins; a failed one just drops out. */
static enum outcome pick_connected(struct pollfd *fds, nfds_t n, struct attempt *a, int *fd_out)
{
	long long until = clock_mono_ms() + HTTP_CONNECT_TIMEOUT_MS;
	int last_errno = ETIMEDOUT;
	nfds_t open = 0;

	if (until > a->rq->deadline_ms)
		until = a->rq->deadline_ms;
	for (nfds_t i = 0; i < n; i++)
		open += fds[i].fd >= 0;
	while (open) {
		int r = wait_fds(fds, n, until, a->rq);
		if (r <= 0)
			return fail(a, r == -2 ? CANCELLED : TRANSIENT, "timed out connecting", NULL);
		for (nfds_t i = 0; i < n; i++) {
			int e = 0;
			socklen_t el = sizeof(e);
			if (fds[i].fd < 0 || !fds[i].revents)
				continue;
			if (getsockopt(fds[i].fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == 0) {
				*fd_out = fds[i].fd;
				return DONE;
			}
			last_errno = e ? e : errno;
			close(fds[i].fd);
			fds[i].fd = -1;
			open--;
		}
	}
	return fail(a, TRANSIENT, "cannot connect", strerror(last_errno));
}

static enum outcome connect_any(struct attempt *a, const struct addrinfo *list, int *fd_out)
{
	struct pollfd fds[HTTP_CLIENT_ADDRS_MAX];
	nfds_t n = 0;
	int last_errno = 0;
	enum outcome o;

	*fd_out = -1;
	for (const struct addrinfo *ai = list; ai && n < HTTP_CLIENT_ADDRS_MAX; ai = ai->ai_next) {
		bool connected;
		int fd = start_connect(ai, &connected);
		if (fd < 0) {
			last_errno = errno;
			continue;
		}
		if (connected) {
			close_all(fds, n, -1);
			*fd_out = fd;
			return DONE;
		}
		fds[n++] = (struct pollfd){ .fd = fd, .events = POLLOUT };
	}
	if (!n)
		return fail(a, TRANSIENT, "cannot connect", strerror(last_errno ? last_errno : EADDRNOTAVAIL));
	o = pick_connected(fds, n, a, fd_out);
	close_all(fds, n, *fd_out);
	return o;
}

/* --- one exchange on a connected socket, over TLS for https --- */

/* The connection an exchange runs on: the socket, and over it a TLS
 * session for https. */
struct conn {
	int fd;
	struct tls_session *tls;	/* NULL for http */
};

static long long idle_limit(const struct attempt *a)
{
	long long t = clock_mono_ms() + HTTP_IDLE_TIMEOUT_MS;
	return t < a->rq->deadline_ms ? t : a->rq->deadline_ms;
}

/* Waits until the socket is ready for events, at most the idle limit;
 * timeout is the failure to report when it is not. */
static enum outcome wait_ready(struct attempt *a, int fd, short events, const char *timeout)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r = wait_fds(&p, 1, idle_limit(a), a->rq);

	if (r <= 0)
		return fail(a, r == -2 ? CANCELLED : TRANSIENT, timeout, NULL);
	return DONE;
}

static enum outcome tls_outcome(enum tls_status st)
{
	return st == TLS_NETWORK_FAILED ? TRANSIENT : PERMANENT;
}

/* The TLS handshake, the server's certificate checked for the URL's host. */
static enum outcome start_tls(struct attempt *a, struct conn *c)
{
	enum tls_status st;
	enum outcome o;

	if (!(c->tls = tls_session_new(c->fd, a->url->host, a->err, a->errlen)))
		return PERMANENT;
	while ((st = tls_handshake(c->tls, a->err, a->errlen)) != TLS_OK) {
		if (st != TLS_WANT_READ && st != TLS_WANT_WRITE)
			return tls_outcome(st);
		o = wait_ready(a, c->fd, st == TLS_WANT_READ ? POLLIN : POLLOUT, "timed out in the TLS handshake");
		if (o != DONE)
			return o;
	}
	return DONE;
}

/* Sends and receives are tried before any wait (TLS may hold bytes already
 * read from the socket): DONE with *n bytes moved (0 from a recv: the server
 * closed), or DONE with *n = 0 and *events to wait for first; or a failure. */

static enum outcome tls_io_outcome(enum tls_status st, short *events)
{
	if (st == TLS_WANT_READ || st == TLS_WANT_WRITE)
		*events = st == TLS_WANT_READ ? POLLIN : POLLOUT;
	return st == TLS_OK || *events ? DONE : tls_outcome(st);
}

static enum outcome socket_io_outcome(struct attempt *a, ssize_t r, short want, const char *what, size_t *n,
				      short *events)
{
	if (r >= 0)
		*n = (size_t)r;
	else if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
		*events = want;
	else
		return fail(a, TRANSIENT, what, strerror(errno));
	return DONE;
}

static enum outcome conn_send(struct attempt *a, const struct conn *c, const void *p, size_t len, size_t *n,
			      short *events)
{
	*n = 0;
	*events = 0;
	if (cancelled(a->rq))
		return fail(a, CANCELLED, "cancelled", NULL);
	if (c->tls)
		return tls_io_outcome(tls_send(c->tls, p, len, n, a->err, a->errlen), events);
	/* MSG_NOSIGNAL: a peer that went away must not kill us with SIGPIPE */
	return socket_io_outcome(a, send(c->fd, p, len, MSG_NOSIGNAL), POLLOUT, "cannot send the request", n,
				 events);
}

static enum outcome conn_recv(struct attempt *a, const struct conn *c, void *p, size_t len, size_t *n,
			      short *events)
{
	*n = 0;
	*events = 0;
	if (cancelled(a->rq))
		return fail(a, CANCELLED, "cancelled", NULL);
	if (c->tls)
		return tls_io_outcome(tls_recv(c->tls, p, len, n, a->err, a->errlen), events);
	return socket_io_outcome(a, recv(c->fd, p, len, 0), POLLIN, "cannot read the reply", n, events);
}

static enum outcome send_request(struct attempt *a, const struct conn *c)
{
	size_t off = 0, n;
	short events;
	enum outcome o;

	while (off < a->text_len) {
		o = conn_send(a, c, a->text + off, a->text_len - off, &n, &events);
		if (o == DONE && events)
			o = wait_ready(a, c->fd, events, "timed out sending the request");
		if (o != DONE)
			return o;
		off += n;
	}
	return DONE;
}

/* Grows *raw to hold at least one more read; false past RAW_MAX. */
static bool make_room(struct buf *raw, size_t used)
{
	size_t cap = raw->len ? raw->len * 2 : 16384;
	unsigned char *p;

	if (used < raw->len)
		return true;
	if (cap > RAW_MAX)
		cap = RAW_MAX;
	if (used >= cap || !(p = realloc(raw->p, cap)))
		return false;
	raw->p = p;
	raw->len = cap;
	return true;
}

static enum outcome classify_parse(struct attempt *a, enum http_reply_result r, size_t used, const char *why)
{
	if (r == HTTP_REPLY_COMPLETE)
		return DONE;
	/* closed or reset before a single byte: the server is restarting or overloaded */
	return fail(a, used ? PERMANENT : TRANSIENT, "invalid reply", why);
}

static enum outcome receive_reply(struct attempt *a, const struct conn *c, struct http_reply *reply)
{
	struct buf raw = { 0 };
	size_t used = 0, n;
	enum outcome o;

	for (;;) {
		const char *why = NULL;
		enum http_reply_result r;
		short events;

		if (!make_room(&raw, used)) {
			o = fail(a, PERMANENT, "reply too large", NULL);
			break;
		}
		o = conn_recv(a, c, raw.p + used, raw.len - used, &n, &events);
		if (o == DONE && events) {
			if ((o = wait_ready(a, c->fd, events, "timed out waiting for the reply")) != DONE)
				break;
			continue;
		}
		if (o != DONE)
			break;
		used += n;
		r = http_reply_parse(raw.p, used, n == 0, reply, &why);
		if (r != HTTP_REPLY_PARTIAL) {
			o = classify_parse(a, r, used, why);
			break;
		}
	}
	free(raw.p);
	return o;
}

static enum outcome attempt_once(struct attempt *a, struct http_reply *reply)
{
	struct addrinfo *list = NULL;
	struct conn c = { .fd = -1 };
	enum outcome o;

	if ((o = resolve(a, &list)) != DONE)
		return o;
	o = connect_any(a, list, &c.fd);
	freeaddrinfo(list);
	if (o == DONE && a->url->tls)
		o = start_tls(a, &c);
	if (o == DONE)
		o = send_request(a, &c);
	if (o == DONE)
		o = receive_reply(a, &c, reply);
	tls_session_free(c.tls);
	if (c.fd >= 0)
		close(c.fd);
	if (o == DONE && (reply->status == 502 || reply->status == 503 || reply->status == 504)) {
		char status[32];
		snprintf(status, sizeof(status), "%d", reply->status);
		http_reply_free(reply);
		o = fail(a, TRANSIENT, "server busy, HTTP status", status);
	}
	return o;
}

static char *format_request(const struct http_client_request *rq, const struct url *u, size_t *len)
{
	char *head = NULL, *text;
	int n;

	if (rq->body)
		n = asprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: nbde\r\nAccept: */*\r\n"
			     "Connection: close\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
			     rq->method, u->path, u->authority,
			     rq->content_type ? rq->content_type : "application/octet-stream", rq->body_len);
	else
		n = asprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: nbde\r\nAccept: */*\r\n"
			     "Connection: close\r\n\r\n", rq->method, u->path, u->authority);
	if (n < 0)
		return NULL;
	if (!rq->body || !rq->body_len) {
		*len = (size_t)n;
		return head;
	}
	text = realloc(head, (size_t)n + rq->body_len);
	if (!text) {
		free(head);
		return NULL;
	}
	memcpy(text + n, rq->body, rq->body_len);
	*len = (size_t)n + rq->body_len;
	return text;
}

/* Sleeps until `until` unless cancelled first. */
static bool backoff_sleep(const struct http_client_request *rq, long long until)
{
	return wait_fds(NULL, 0, until, rq) != -2;
}

static int run_attempts(struct attempt *a, struct http_reply *reply)
{
	long long delay = HTTP_BACKOFF_FIRST_MS;
	bool told = false;
	enum outcome o;

	if (clock_mono_ms() >= a->rq->deadline_ms) {
		fail(a, PERMANENT, "deadline already passed", NULL);
		return -1;
	}
	for (;;) {
		o = attempt_once(a, reply);
		if (o != TRANSIENT || a->rq->once)
			break;
		/* the last pause is shortened so one more attempt fits before the deadline */
		long long left = a->rq->deadline_ms - clock_mono_ms() - HTTP_CLIENT_LAST_ATTEMPT_MIN_MS;
		if (left <= 0)
			break;
		if (!told && a->rq->on_retry)
			a->rq->on_retry(a->rq->retry_ctx, a->rq->url, a->err, a->rq->deadline_ms);
		told = true;
		if (!backoff_sleep(a->rq, clock_mono_ms() + (delay < left ? delay : left)))
			break;
		delay = delay * 2 > HTTP_BACKOFF_MAX_MS ? HTTP_BACKOFF_MAX_MS : delay * 2;
	}
	return o == DONE ? 0 : -1;
}

int http_client_send(const struct http_client_request *rq, struct http_reply *reply, char *err, size_t errlen)
{
	struct url u;
	const char *uerr = NULL;
	struct attempt a = { .rq = rq, .url = &u, .err = err, .errlen = errlen };
	char *text;
	int r;

	memset(reply, 0, sizeof(*reply));
	if (url_parse(rq->url, &u, &uerr)) {
		snprintf(err, errlen, "%s", uerr);
		return -1;
	}
	if (!(text = format_request(rq, &u, &a.text_len))) {
		url_free(&u);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	a.text = text;
	r = run_attempts(&a, reply);
	free(text);
	url_free(&u);
	return r;
}
