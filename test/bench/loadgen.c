/* loadgen.c - HTTP load for test/bench/tang.sh: C threads, each sending one
 * request per new connection, for a number of seconds.
 *
 * usage: loadgen PORT METHOD PATH BODY-FILE|- CONCURRENCY SECONDS
 * prints: requests/s  p50-ms  p99-ms  ok-count  error-count
 *
 * The reply is read up to its Content-Length instead of end of stream,
 * because tangd never closes a connection itself. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct worker {
	pthread_t t;
	double *lat;		/* milliseconds per successful request */
	size_t n, cap, errors;
};

static struct sockaddr_in server;
static char request[70000];
static size_t request_len;
static double stop_at;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Reads one reply; true when its status is 200. */
static int read_reply(int fd)
{
	char buf[16384];
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (r <= 0)
			return 0;
		n += (size_t)r;
		buf[n] = 0;
		char *end = strstr(buf, "\r\n\r\n"), *cl;
		if (!end)
			continue;
		cl = strcasestr(buf, "\r\nContent-Length:");
		size_t want = cl ? strtoul(cl + 17, NULL, 10) : 0;
		if (n >= (size_t)(end + 4 - buf) + want)
			return !strncmp(buf, "HTTP/1.1 200 ", 13);
		if (n == sizeof(buf) - 1)
			return 0;
	}
}

static int one_request(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, ok = 0;
	struct timeval tv = { 10, 0 };

	if (fd < 0)
		return 0;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (!connect(fd, (struct sockaddr *)&server, sizeof(server)) &&
	    write(fd, request, request_len) == (ssize_t)request_len)
		ok = read_reply(fd);
	close(fd);
	return ok;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	double t0;

	while ((t0 = now_s()) < stop_at) {
		if (!one_request()) {
			w->errors++;
			continue;
		}
		if (w->n == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 1024;
			w->lat = realloc(w->lat, w->cap * sizeof(*w->lat));
		}
		w->lat[w->n++] = (now_s() - t0) * 1000;
	}
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void build_request(const char *method, const char *path, const char *body_file, const char *port)
{
	char body[65536];
	size_t blen = 0;
	FILE *f = strcmp(body_file, "-") ? fopen(body_file, "r") : NULL;

	if (f) {
		blen = fread(body, 1, sizeof(body), f);
		fclose(f);
	}
	request_len = (size_t)snprintf(request, sizeof(request),
				       "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nContent-Length: %zu\r\n\r\n",
				       method, path, port, blen);
	memcpy(request + request_len, body, blen);
	request_len += blen;
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: loadgen PORT METHOD PATH BODY-FILE|- CONCURRENCY SECONDS\n");
		return 2;
	}
	int conc = atoi(argv[5]);
	struct worker *w = calloc((size_t)conc, sizeof(*w));
	size_t total = 0, errors = 0;

	server.sin_family = AF_INET;
	server.sin_port = htons((unsigned short)atoi(argv[1]));
	inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
	build_request(argv[2], argv[3], argv[4], argv[1]);
	stop_at = now_s() + atof(argv[6]);
	double start = now_s();
	for (int i = 0; i < conc; i++)
		pthread_create(&w[i].t, NULL, run, &w[i]);
	for (int i = 0; i < conc; i++) {
		pthread_join(w[i].t, NULL);
		total += w[i].n;
		errors += w[i].errors;
	}
	double elapsed = now_s() - start;
	double *all = malloc((total ? total : 1) * sizeof(*all));
	size_t k = 0;
	for (int i = 0; i < conc; i++)
		for (size_t j = 0; j < w[i].n; j++)
			all[k++] = w[i].lat[j];
	qsort(all, total, sizeof(*all), cmp_double);
	printf("%.0f %.2f %.2f %zu %zu\n", total / elapsed, total ? all[total / 2] : 0,
	       total ? all[total * 99 / 100] : 0, total, errors);
	return 0;
}
