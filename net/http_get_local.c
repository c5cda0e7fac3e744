/* http_get_local.c - one blocking GET to loopback (see http_get_local.h).
 * Asks for "Connection: close" and reads to end of stream, so the reply
 * needs no incremental parsing: status line, then the body after the blank
 * line, cut to Content-Length when there is one. */
#include "http_get_local.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd until the deadline; false on timeout or error. */
static int wait_until(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left;
	int r;

	do {
		left = deadline - mono_ms();
		r = left > 0 ? poll(&p, 1, (int)left) : 0;
	} while (r < 0 && errno == EINTR);
	return r > 0;
}

static int connect_host(const char *host, const char *port, long long deadline)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai;
	int fd, e = 0;
	socklen_t len = sizeof(e);

	if (getaddrinfo(host, port, &hints, &ai))
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd >= 0 && (!wait_until(fd, POLLOUT, deadline) || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) || e)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t n, long long deadline)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (!(w < 0 && (errno == EINTR || errno == EAGAIN)) || !wait_until(fd, POLLOUT, deadline)) {
			return -1;
		}
	}
	return 0;
}

static int read_reply(int fd, long long deadline, char **out, size_t *len)
{
	size_t cap = 8192, n = 0;
	char *buf = malloc(cap + 1);

	while (buf) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r == 0)
			break;
		if (r > 0) {
			n += (size_t)r;
		} else if (!(errno == EINTR || errno == EAGAIN) || !wait_until(fd, POLLIN, deadline)) {
			free(buf);
			return -1;
		}
		if (n == cap) {
			char *more = cap < HTTP_GET_LOCAL_MAX ? realloc(buf, cap * 2 + 1) : NULL;
			if (!more)
				free(buf);
			buf = more;
			cap *= 2;
		}
	}
	if (!buf)
		return -1;
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

/* Status and body out of a whole reply; the body moves to the front. */
static int parse_reply(char *r, size_t n, int *status, size_t *body_len)
{
	char *end = strstr(r, "\r\n\r\n"), *cl;
	size_t head, len;

	if (strlen(r) != n || !end || sscanf(r, "HTTP/1.%*1[01] %3d ", status) != 1)
		return -1;
	*end = 0;
	head = (size_t)(end - r) + 4;
	len = n - head;
	for (cl = strstr(r, "\r\n"); cl; cl = strstr(cl + 2, "\r\n"))
		if (!strncasecmp(cl + 2, "Content-Length:", 15)) {
			size_t want = strtoul(cl + 17, NULL, 10);
			if (want > len)
				return -1;	/* cut short */
			len = want;
		}
	memmove(r, r + head, len);
	r[len] = 0;
	*body_len = len;
	return 0;
}

int http_get_local(const char *port, const char *path, int timeout_ms, int *status, char **body, size_t *len,
		   const char **err)
{
	long long deadline = mono_ms() + timeout_ms;
	char req[4200];
	int fd = connect_host("127.0.0.1", port, deadline), n;

	if (fd < 0)
		fd = connect_host("::1", port, deadline);
	if (fd < 0) {
		*err = "cannot connect to localhost";
		return -1;
	}
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost:%s\r\nConnection: close\r\n\r\n", path,
		     port);
	*err = "request failed";
	if (n < 0 || (size_t)n >= sizeof(req) || send_all(fd, req, (size_t)n, deadline) ||
	    read_reply(fd, deadline, body, len)) {
		close(fd);
		return -1;
	}
	close(fd);
	if (parse_reply(*body, *len, status, len)) {
		free(*body);
		*err = "malformed HTTP reply";
		return -1;
	}
	return 0;
}
