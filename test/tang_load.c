/* tang_load.c - test client for stopping and reloading a server under load.
 *
 * usage: tang_load PORT REC-PATH BODY-FILE THREADS SECONDS
 *
 * Each thread opens connections to 127.0.0.1:PORT and sends one to three
 * requests on each (keep-alive), /rec (POST of BODY-FILE) and /adv in turn,
 * until SECONDS passed, the server stopped taking connections, or (when
 * the environment sets LOAD_REQUESTS) that many whole replies came. Every
 * attempt ends one of three ways:
 *   complete   a whole reply (status line, headers, Content-Length bytes)
 *   closed     the connection ended before any byte of the reply came
 *              (refused, reset or closed: the request was not taken)
 *   truncated  some of a reply came, then the connection ended
 * Prints "complete N closed N truncated N status-200 N status-503 N
 * status-other N adv-mean-us N rec-mean-us N" (the mean time from sending a
 * request to its whole reply, by route) and exits 1 when a reply was truncated or had a status
 * other than 200 or 503. A server that is stopping may answer or close;
 * it must never cut a reply in half. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REPLY_MAX 65536
#define THREADS_MAX 256
/* Replies come in milliseconds; a minute means the server is stuck. */
#define READ_TIMEOUT_MS 60000

enum outcome { COMPLETE, CLOSED, TRUNCATED };

static struct sockaddr_in server;
static char rec_request[8192], adv_request[256];
static size_t rec_len, adv_len;
static double stop_at;
static unsigned long max_complete;	/* LOAD_REQUESTS; 0 = no limit */
static atomic_ulong n_complete, n_closed, n_truncated, n_200, n_503, n_other;
static atomic_int gone;	/* consecutive refused connects */
static atomic_ullong adv_us, adv_n, rec_us, rec_n;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Length of the head (through CRLF CRLF) and the body length it announces;
 * 0 while the head is incomplete. */
static size_t head_length(const char *buf, size_t len, size_t *body, bool *closes)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	const char *p;

	if (!end)
		return 0;
	*body = 0;
	*closes = false;
	for (p = buf; p < end; p = memchr(p, '\n', (size_t)(end - p)) + 1) {
		if (!strncasecmp(p, "Content-Length:", 15))
			*body = strtoul(p + 15, NULL, 10);
		if (!strncasecmp(p, "Connection: close", 17))
			*closes = true;
		if (!memchr(p, '\n', (size_t)(end - p)))
			break;
	}
	return (size_t)(end - buf) + 4;
}

/* Reads one reply; *closes when the server said it closes afterwards. */
static enum outcome read_reply(int fd, int *status, bool *closes)
{
	char buf[REPLY_MAX];
	size_t len = 0, head = 0, body = 0;

	while (!head || len < head + body) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, READ_TIMEOUT_MS) <= 0)
			return len ? TRUNCATED : CLOSED;
		ssize_t n = recv(fd, buf + len, sizeof(buf) - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return len ? TRUNCATED : CLOSED;
		len += (size_t)n;
		if (!head)
			head = head_length(buf, len, &body, closes);
		if (len == sizeof(buf))
			return TRUNCATED;
	}
	*status = atoi(buf + 9);
	return COMPLETE;
}

static void count(enum outcome o, int status)
{
	if (o == CLOSED) {
		n_closed++;
		return;
	}
	if (o == TRUNCATED) {
		n_truncated++;
		return;
	}
	n_complete++;
	if (status == 200)
		n_200++;
	else if (status == 503)
		n_503++;
	else
		n_other++;
}

/* One connection, one to three requests. */
static void one_connection(unsigned seed)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int requests = 1 + (int)(seed % 3);

	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&server, sizeof(server))) {
		close(fd);
		n_closed++;
		gone++;
		usleep(1000);
		return;
	}
	gone = 0;
	for (int i = 0; i < requests; i++) {
		bool rec = (seed + (unsigned)i) % 2, closes = false;
		int status = 0;
		double t0 = now_s();
		enum outcome o = send_all(fd, rec ? rec_request : adv_request, rec ? rec_len : adv_len)
					 ? read_reply(fd, &status, &closes)
					 : CLOSED;
		count(o, status);
		if (o == COMPLETE) {
			*(rec ? &rec_us : &adv_us) += (unsigned long long)((now_s() - t0) * 1e6);
			*(rec ? &rec_n : &adv_n) += 1;
		}
		if (o != COMPLETE || closes)
			break;
	}
	close(fd);
}

static void *thread_main(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;

	while (now_s() < stop_at && gone < 200 && (!max_complete || n_complete < max_complete))
		one_connection(seed = seed * 1103515245u + 12345u);
	return NULL;
}

static bool load_requests(const char *port_s, const char *rec_path, const char *body_file)
{
	char body[4096];
	FILE *f = fopen(body_file, "r");
	size_t blen = f ? fread(body, 1, sizeof(body), f) : 0;

	if (f)
		fclose(f);
	if (!blen)
		return false;
	rec_len = (size_t)snprintf(rec_request, sizeof(rec_request),
				   "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nContent-Type: application/jwk+json\r\n"
				   "Content-Length: %zu\r\n\r\n%.*s",
				   rec_path, port_s, blen, (int)blen, body);
	adv_len = (size_t)snprintf(adv_request, sizeof(adv_request), "GET /adv HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n\r\n",
				   port_s);
	return rec_len < sizeof(rec_request);
}

int main(int argc, char **argv)
{
	pthread_t t[THREADS_MAX];
	int threads;

	if (argc != 6 || (threads = atoi(argv[4])) < 1 || threads > THREADS_MAX || atoi(argv[5]) < 1) {
		fputs("usage: tang_load PORT REC-PATH BODY-FILE THREADS SECONDS\n", stderr);
		return 2;
	}
	server.sin_family = AF_INET;
	server.sin_port = htons((uint16_t)atoi(argv[1]));
	server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!load_requests(argv[1], argv[2], argv[3])) {
		fprintf(stderr, "tang_load: cannot read the body file %s\n", argv[3]);
		return 2;
	}
	stop_at = now_s() + atoi(argv[5]);
	if (getenv("LOAD_REQUESTS"))
		max_complete = strtoul(getenv("LOAD_REQUESTS"), NULL, 10);
	for (int i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, thread_main, (void *)(uintptr_t)(i + 1)))
			return 2;
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	printf("complete %lu closed %lu truncated %lu status-200 %lu status-503 %lu status-other %lu "
	       "adv-mean-us %llu rec-mean-us %llu\n",
	       n_complete, n_closed, n_truncated, n_200, n_503, n_other, adv_n ? adv_us / adv_n : 0ULL,
	       rec_n ? rec_us / rec_n : 0ULL);
	return n_truncated || n_other ? 1 : 0;
}
