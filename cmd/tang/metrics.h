/* metrics.h - tang-server's Prometheus metrics (GET /metrics): what the
 * routes count (requests by route and status, their durations, /rec by
 * key, access-list refusals) next to what the server counts
 * (net/server.h's struct server_metrics), rendered in the text format
 * 0.0.4. Every label set is bounded: routes come from tang's route table,
 * never from the request; a key label only names keys of the key set. */
#ifndef NBDE_TANG_METRICS_H
#define NBDE_TANG_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "../../net/server.h"

#define TANG_METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The route label of a request. */
enum tang_route_label {
	TANG_LABEL_ADV,
	TANG_LABEL_REC,
	TANG_LABEL_HEALTHZ,
	TANG_LABEL_METRICS,
	TANG_LABEL_OTHER,	/* 404s, malformed requests */
	TANG_LABELS,
};

/* Every status nbde sends (http_response_format.h), and one for anything else. */
#define TANG_METRICS_CODES 12
/* Upper bounds of the duration histogram, in seconds: an /adv takes tens
 * of microseconds, a /rec a few milliseconds, a queue under load more. */
#define TANG_METRICS_BUCKETS 12
/* Distinct (key, state) pairs counted for /rec; a directory holds a handful
 * of keys, so more means rotation for months without a restart: the rest
 * are counted under thp="other". */
#define TANG_METRICS_REC_KEYS 64
/* Long enough for an S512 thumbprint (86 characters). */
#define TANG_METRICS_THP_MAX 88

struct tang_key;

struct tang_rec_count {
	char thp[TANG_METRICS_THP_MAX + 1];
	bool rotated;
	unsigned long long n;
};

struct tang_metrics {
	struct server_metrics server;	/* handed to server_run */
	atomic_ullong requests[TANG_LABELS][TANG_METRICS_CODES];
	atomic_ullong duration_le[TANG_LABELS][TANG_METRICS_BUCKETS + 1];	/* not cumulative; last: +Inf */
	atomic_ullong duration_us[TANG_LABELS];
	atomic_ullong access_denied;
	pthread_mutex_t rec_lock;
	struct tang_rec_count rec[TANG_METRICS_REC_KEYS];
	size_t nrec;
	unsigned long long rec_other;
};

void tang_metrics_init(struct tang_metrics *m);
void tang_metrics_free(struct tang_metrics *m);
/* A reply was sent. */
void tang_metrics_request(struct tang_metrics *m, enum tang_route_label route, int status, long long duration_us);
/* A /rec answered with key k. */
void tang_metrics_rec(struct tang_metrics *m, const struct tang_key *k);
/* The whole text (malloc'd), or NULL when out of memory. */
char *tang_metrics_render(struct tang_metrics *m, unsigned long long key_reloads, size_t *len);

#endif
