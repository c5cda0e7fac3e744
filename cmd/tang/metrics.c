/* metrics.c - tang-server's Prometheus metrics (see metrics.h). */
#include "metrics.h"
#include "../runtime/runtime.h"
#include "keydir.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The key's thumbprint in the label: S256, what tang-show-keys prints. */
#define LABEL_HASH 2

static const char *const route_names[TANG_LABELS] = { "adv", "rec", "healthz", "metrics", "other" };
static const int codes[TANG_METRICS_CODES - 1] = { 200, 400, 403, 404, 405, 408, 413, 414, 431, 500, 503 };
static const char *const bucket_names[TANG_METRICS_BUCKETS] = {
	"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "1", "10",
};
static const long long bucket_us[TANG_METRICS_BUCKETS] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 1000000, 10000000,
};

static void add(atomic_ullong *c, unsigned long long n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static unsigned long long get(atomic_ullong *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

void tang_metrics_init(struct tang_metrics *m)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->rec_lock, NULL);
}

void tang_metrics_free(struct tang_metrics *m)
{
	pthread_mutex_destroy(&m->rec_lock);
}

static size_t code_index(int status)
{
	for (size_t i = 0; i < TANG_METRICS_CODES - 1; i++)
		if (codes[i] == status)
			return i;
	return TANG_METRICS_CODES - 1;
}

void tang_metrics_request(struct tang_metrics *m, enum tang_route_label route, int status, long long duration_us)
{
	size_t b = 0;

	if (duration_us < 0)
		duration_us = 0;
	while (b < TANG_METRICS_BUCKETS && duration_us > bucket_us[b])
		b++;
	add(&m->requests[route][code_index(status)], 1);
	add(&m->duration_le[route][b], 1);
	add(&m->duration_us[route], (unsigned long long)duration_us);
}

void tang_metrics_rec(struct tang_metrics *m, const struct tang_key *k)
{
	const char *thp = k->thp[LABEL_HASH];
	size_t i;

	if (!thp || strlen(thp) > TANG_METRICS_THP_MAX)
		return;
	pthread_mutex_lock(&m->rec_lock);
	for (i = 0; i < m->nrec; i++)
		if (m->rec[i].rotated == k->hidden && !strcmp(m->rec[i].thp, thp))
			break;
	if (i == m->nrec && m->nrec < TANG_METRICS_REC_KEYS) {
		strcpy(m->rec[i].thp, thp);
		m->rec[i].rotated = k->hidden;
		m->nrec++;
	}
	if (i < m->nrec)
		m->rec[i].n++;
	else
		m->rec_other++;
	pthread_mutex_unlock(&m->rec_lock);
}

/* ---- text format ---- */

struct text {
	char *p;
	size_t len, cap;
	bool failed;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
			return;
		}
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		char *more = realloc(t->p, t->cap * 2 + (size_t)n);
		if (!more) {
			t->failed = true;
			return;
		}
		t->p = more;
		t->cap = t->cap * 2 + (size_t)n;
	}
}

static void head(struct text *t, const char *name, const char *type, const char *help)
{
	put(t, "# HELP nbde_tang_%s %s\n# TYPE nbde_tang_%s %s\n", name, help, name, type);
}

static void render_requests(struct text *t, struct tang_metrics *m)
{
	head(t, "requests_total", "counter", "Replies sent, by route and HTTP status code.");
	for (size_t r = 0; r < TANG_LABELS; r++)
		for (size_t c = 0; c < TANG_METRICS_CODES; c++) {
			unsigned long long n = get(&m->requests[r][c]);
			if (!n)
				continue;
			if (c < TANG_METRICS_CODES - 1)
				put(t, "nbde_tang_requests_total{route=\"%s\",code=\"%d\"} %llu\n", route_names[r],
				    codes[c], n);
			else
				put(t, "nbde_tang_requests_total{route=\"%s\",code=\"other\"} %llu\n", route_names[r],
				    n);
		}
}

static void render_durations(struct text *t, struct tang_metrics *m)
{
	head(t, "request_duration_seconds", "histogram",
	     "Time from a request's first byte to its reply written, by route.");
	for (size_t r = 0; r < TANG_LABELS; r++) {
		unsigned long long sum = 0;
		for (size_t b = 0; b <= TANG_METRICS_BUCKETS; b++) {
			sum += get(&m->duration_le[r][b]);
			put(t, "nbde_tang_request_duration_seconds_bucket{route=\"%s\",le=\"%s\"} %llu\n",
			    route_names[r], b < TANG_METRICS_BUCKETS ? bucket_names[b] : "+Inf", sum);
		}
		unsigned long long us = get(&m->duration_us[r]);
		put(t, "nbde_tang_request_duration_seconds_sum{route=\"%s\"} %llu.%06llu\n", route_names[r],
		    us / 1000000, us % 1000000);
		put(t, "nbde_tang_request_duration_seconds_count{route=\"%s\"} %llu\n", route_names[r], sum);
	}
}

static void render_rec(struct text *t, struct tang_metrics *m)
{
	head(t, "rec_total", "counter",
	     "Key recoveries answered, by key (S256 thumbprint) and whether it was active or rotated.");
	pthread_mutex_lock(&m->rec_lock);
	for (size_t i = 0; i < m->nrec; i++)
		put(t, "nbde_tang_rec_total{thp=\"%s\",state=\"%s\"} %llu\n", m->rec[i].thp,
		    m->rec[i].rotated ? "rotated" : "active", m->rec[i].n);
	if (m->rec_other)
		put(t, "nbde_tang_rec_total{thp=\"other\",state=\"other\"} %llu\n", m->rec_other);
	pthread_mutex_unlock(&m->rec_lock);
}

static void render_connections(struct text *t, struct tang_metrics *m)
{
	struct server_metrics *s = &m->server;
	const struct {
		const char *reason;
		unsigned long long n;
	} rejected[] = {
		{ "cap", get(&s->evicted_cap) + get(&s->refused_cap) },
		{ "memory", get(&s->evicted_memory) },
		{ "per_address", get(&s->refused_per_address) },
		{ "head_timeout", get(&s->head_timeouts) },
		{ "proxy_header", get(&s->refused_proxy_header) },
		{ "access_list", get(&m->access_denied) },
	};

	head(t, "connections_open", "gauge", "Client connections open now.");
	put(t, "nbde_tang_connections_open %lld\n", atomic_load_explicit(&s->connections_open, memory_order_relaxed));
	head(t, "connections_rejected_total", "counter",
	     "Connections closed or refused, and /rec requests refused by the access rules, by reason.");
	for (size_t i = 0; i < ARRAY_SIZE(rejected); i++)
		put(t, "nbde_tang_connections_rejected_total{reason=\"%s\"} %llu\n", rejected[i].reason, rejected[i].n);
}

char *tang_metrics_render(struct tang_metrics *m, unsigned long long key_reloads, size_t *len)
{
	struct text t = { .cap = 8192 };

	if (!(t.p = malloc(t.cap)))
		return NULL;
	render_requests(&t, m);
	render_durations(&t, m);
	render_rec(&t, m);
	render_connections(&t, m);
	head(&t, "key_reloads_total", "counter", "Key sets loaded again after a change on disk or SIGHUP.");
	put(&t, "nbde_tang_key_reloads_total %llu\n", key_reloads);
	head(&t, "build_info", "gauge", "Always 1; the version as a label.");
	put(&t, "nbde_tang_build_info{version=\"%s\"} 1\n", NBDE_VERSION);
	if (t.failed) {
		free(t.p);
		return NULL;
	}
	*len = t.len;
	return t.p;
}
