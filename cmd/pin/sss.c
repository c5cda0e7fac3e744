/* sss.c - the sss pin: Shamir secret sharing across child pins,
 * compatible with clevis-encrypt-sss / clevis-decrypt-sss.
 *
 * Encrypt: split a fresh content key into one 64-byte share per child
 * config, encrypt each share with its child pin (in-process, in config
 * order), seal the plaintext with the key. Decrypt: ask every child at once,
 * each in its own thread, and finish as soon as t shares are in (or can no
 * longer be), abandoning the rest, all inside the caller's deadline. */
#include "pin.h"
#include "../runtime/runtime.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../crypto/b64url.h"
#include "../../crypto/json.h"
#include "../../crypto/sss.h"
#include "../../net/thread.h"

#define WAIT_SLICE_MS 100
#define DEADLINE_SLACK_MS 1000	/* children end at the deadline; allow them to report */

/* --- encryption --- */

/* Counts child configs: "pins" members are one config object or an array of them. */
static bool count_children(const cJSON *pins, long long *n)
{
	const cJSON *v;

	*n = 0;
	cJSON_ArrayForEach(v, pins) {
		if (cJSON_IsArray(v))
			*n += cJSON_GetArraySize(v);
		else if (cJSON_IsObject(v))
			*n += 1;
		else
			return false;
	}
	return true;
}

/* Encrypts one share per child config, in config order, into the array jwes. */
static int encrypt_shares(const cJSON *pins, const unsigned char *shares, cJSON *jwes, const struct pin_opts *o)
{
	const cJSON *v, *c;
	size_t i = 0;
	struct pin_opts child_opts = *o;

	child_opts.depth++;
	cJSON_ArrayForEach(v, pins) {
		const cJSON *list = cJSON_IsArray(v) ? v : NULL;
		for (c = list ? list->child : v; c; c = list ? c->next : NULL) {
			AUTO_FREE char *child = pin_encrypt(v->string, c, shares + i++ * SSS_SHARE_LEN,
							    SSS_SHARE_LEN, &child_opts);
			if (!child || !cJSON_AddItemToArray(jwes, cJSON_CreateString(child)))
				return -1;
		}
	}
	return 0;
}

/* {"alg":"dir","clevis":{"pin":"sss","sss":{"jwe":[…],"p":…,"t":T}}} */
static cJSON *sss_header(long long t, const unsigned char prime[SSS_PRIME_LEN], cJSON **jwes)
{
	AUTO_JSON hdr = cJSON_CreateObject();
	AUTO_FREE char *p = b64url_encode(prime, SSS_PRIME_LEN);
	cJSON *clevis, *sss;

	if (!hdr || !p || !json_set_str(hdr, "alg", "dir") || !(clevis = cJSON_AddObjectToObject(hdr, "clevis")) ||
	    !json_set_str(clevis, "pin", "sss") || !(sss = cJSON_AddObjectToObject(clevis, "sss")) ||
	    !json_set_str(sss, "p", p) || !cJSON_AddNumberToObject(sss, "t", (double)t) ||
	    !(*jwes = cJSON_AddArrayToObject(sss, "jwe")))
		return NULL;
	return TAKE_PTR(hdr);
}

static char *seal(const cJSON *hdr, const unsigned char *key, const void *pt, size_t len, const struct pin_opts *o)
{
	AUTO_JWE j = { 0 };
	const char *err;
	char *out = NULL;

	if (jwe_seal(&j, hdr, key, pt, len, &err) || !(out = jwe_compact(&j)))
		pin_msg(o, "sss pin: encryption failed");
	return out;
}

char *pin_sss_encrypt(const cJSON *cfg, const void *pt, size_t len, const struct pin_opts *o)
{
	const cJSON *pins = json_get_obj(cfg, "pins");
	unsigned char prime[SSS_PRIME_LEN], key[SSS_PRIME_LEN];
	AUTO_FREE unsigned char *shares = NULL;
	AUTO_JSON hdr = NULL;
	cJSON *jwes;
	long long t = 1, n;
	const char *err;
	char *out = NULL;

	if (!cJSON_IsObject(cfg)) {
		pin_msg(o, "Error parsing config!");
		return NULL;
	}
	if (!pins) {
		pin_msg(o, "Config missing 'pins' attribute!");
		return NULL;
	}
	if ((cJSON_GetObjectItemCaseSensitive(cfg, "t") && !json_get_int(cfg, "t", LLONG_MIN, LLONG_MAX, &t)) ||
	    !count_children(pins, &n)) {
		pin_msg(o, "Error parsing config!");
		return NULL;
	}
	if (t < 1 || t > n) {
		pin_msg(o, "Invalid threshold (required: 1 <= %lld <= %lld)!", t, n);
		return NULL;
	}
	/* what decrypt would refuse (pins.h) is not made */
	if (n > PIN_SSS_MAX_CHILDREN) {
		pin_msg(o, "sss pin: %lld child pins, at most %d are allowed", n, PIN_SSS_MAX_CHILDREN);
		return NULL;
	}
	if (o->depth + 2 > PIN_MAX_DEPTH) {
		pin_msg(o, "sss pin: pins nested more than %d deep", PIN_MAX_DEPTH);
		return NULL;
	}
	if (!(shares = malloc((size_t)n * SSS_SHARE_LEN)) || sss_split((size_t)t, (size_t)n, prime, key, shares, &err)) {
		pin_msg(o, "sss pin: cannot make the secret shares");
		return NULL;
	}
	if ((hdr = sss_header(t, prime, &jwes)) && !encrypt_shares(pins, shares, jwes, o))
		out = seal(hdr, key, pt, len, o);
	wipe(shares, (size_t)n * SSS_SHARE_LEN);
	wipe(key, sizeof(key));
	return out;
}

/* --- decryption --- */

/* Shared by the waiting caller and the child threads; the last one out frees
 * it, so a child that outlives the decision (a blackholed server) never
 * touches freed memory. */
struct round {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs;
	size_t need, running, got;
	bool bad_share;
	/* The children's cancel. It lives here, not with the caller, because
	 * children may outlive the call; the caller forwards its own cancel. */
	struct pin_cancel cancel;
	char failures[4096];	/* what the failed children said, for an sss that fails */
	size_t failures_len;
	unsigned char shares[];	/* need × SSS_SHARE_LEN, first answers first */
};

struct child {
	struct round *round;
	struct pin_opts opts;
	char volume[PIN_VOLUME_MAX];	/* opts.volume's copy: the caller's may be gone */
	char *jwe;
};

static void round_release(struct round *r)
{
	if (!shared_release(&r->mu, &r->refs))
		return;
	wipe(r->shares, r->need * SSS_SHARE_LEN);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static void record_failure(struct round *r, const struct pin_log *log)
{
	size_t n = sizeof(r->failures) - r->failures_len;

	if (log && log->len < n) {
		memcpy(r->failures + r->failures_len, log->text, log->len);
		r->failures_len += log->len;
	}
}

static void record_answer(struct round *r, int rc, const struct buf *share, const struct pin_log *log)
{
	pthread_mutex_lock(&r->mu);
	if (rc != 0)
		record_failure(r, log);
	if (rc == 0 && share->len != SSS_SHARE_LEN)
		r->bad_share = true;	/* clevis aborts on a share of the wrong size */
	else if (rc == 0 && r->got < r->need)
		memcpy(r->shares + r->got++ * SSS_SHARE_LEN, share->p, SSS_SHARE_LEN);
	r->running--;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static void *child_thread(void *arg)
{
	struct child *c = arg;
	AUTO_BUF share = { 0 };
	struct pin_log log = { .len = 0 };
	int rc;

	pin_log_capture(&log);
	rc = pin_decrypt(c->jwe, strlen(c->jwe), &share, &c->opts);
	pin_log_capture(NULL);
	record_answer(c->round, rc, &share, &log);
	round_release(c->round);
	free(c->jwe);
	free(c);
	return NULL;
}

static struct round *round_new(size_t need)
{
	struct round *r = calloc(1, sizeof(*r) + need * SSS_SHARE_LEN);

	if (!r)
		return NULL;
	clock_cond_init(&r->cv);
	pthread_mutex_init(&r->mu, NULL);
	r->need = need;
	r->refs = 1;
	return r;
}

/* Starts a detached thread decrypting one child JWE. */
static bool start_child(struct round *r, const char *jwe, const struct pin_opts *o)
{
	struct child *c = calloc(1, sizeof(*c));

	if (!c || !(c->jwe = str_dup(jwe))) {
		free(c);
		return false;
	}
	c->round = r;
	c->opts = *o;
	c->opts.cancel = &r->cancel;
	c->opts.depth = o->depth + 1;
	pin_opts_keep_volume(&c->opts, c->volume);
	pthread_mutex_lock(&r->mu);
	r->refs++, r->running++;
	pthread_mutex_unlock(&r->mu);
	if (thread_start_detached(child_thread, c, PIN_THREAD_STACK_SIZE))
		return true;
	record_answer(r, -1, NULL, NULL);
	round_release(r);
	free(c->jwe);
	free(c);
	return false;
}

/* Waits until t shares are in, or cannot be any more (of those running), or
 * time is up (until, 0: the deadline). */
static bool wait_for_shares_until(struct round *r, long long until, const struct pin_opts *o)
{
	bool enough;

	if (!until)
		until = o->deadline_ms + DEADLINE_SLACK_MS;

	pthread_mutex_lock(&r->mu);
	while (r->got < r->need && !r->bad_share && r->got + r->running >= r->need && clock_mono_ms() < until &&
	       !pin_abandoned(o)) {
		clock_cond_wait_until(&r->cv, &r->mu, clock_mono_ms() + WAIT_SLICE_MS);
	}
	enough = r->got >= r->need && !r->bad_share;
	pthread_mutex_unlock(&r->mu);
	return enough;
}

static bool wait_for_shares(struct round *r, const struct pin_opts *o)
{
	return wait_for_shares_until(r, 0, o);
}

struct sss_jwe {
	long long t;
	struct buf p;
	const cJSON *jwes;
	size_t n;
};

static int read_sss_header(const cJSON *hdr, struct sss_jwe *s, const struct pin_opts *o)
{
	const cJSON *sss = pin_header_data(hdr, "sss"), *c;

	s->jwes = json_get_arr(sss, "jwe");
	s->n = 0;
	cJSON_ArrayForEach(c, s->jwes) {
		if (!cJSON_IsString(c))
			s->jwes = NULL;
		s->n++;
	}
	if (!json_get_int(sss, "t", 1, LLONG_MAX, &s->t) || !s->jwes ||
	    b64url_decode_str(json_get_str(sss, "p"), &s->p) || s->p.len != SSS_PRIME_LEN) {
		pin_msg(o, "JWE has an invalid 'clevis.sss' header parameter!");
		return -1;
	}
	return 0;
}

/* Repeats, line by line, what the failed children said. */
static void report_failures(struct round *r, const struct pin_opts *o)
{
	pthread_mutex_lock(&r->mu);
	for (char *line = r->failures, *end; line < r->failures + r->failures_len; line = end + 1) {
		if (!(end = memchr(line, '\n', (size_t)(r->failures + r->failures_len - line))))
			break;
		pin_msg(o, "%.*s", (int)(end - line), line);
	}
	pthread_mutex_unlock(&r->mu);
}

/* Runs every child at once; fills key from the first t shares. */
static int gather_key(const struct sss_jwe *s, unsigned char *key, const struct pin_opts *o)
{
	struct round *r = round_new((size_t)s->t);
	const cJSON *c;
	const char *err;
	int rc = -1;

	if (!r)
		return -1;
	size_t deferred = 0;
	cJSON_ArrayForEach(c, s->jwes) {
		/* with no_person they fail at once: nothing to wait for */
		if (!o->no_person && pin_asks_person(c->valuestring, strlen(c->valuestring)))
			deferred++;
		else
			start_child(r, c->valuestring, o);
	}
	/* children that ask a person start only when the others cannot decrypt */
	long long ask_at = clock_mono_ms() + PIN_ASK_PERSON_DELAY_MS;
	if (ask_at > o->deadline_ms)
		ask_at = o->deadline_ms;
	if (deferred && !wait_for_shares_until(r, ask_at, o) && !pin_abandoned(o)) {
		cJSON_ArrayForEach(c, s->jwes)
			if (pin_asks_person(c->valuestring, strlen(c->valuestring)))
				start_child(r, c->valuestring, o);
	}
	if (wait_for_shares(r, o))
		rc = sss_combine(s->p.p, s->p.len, r->shares, r->need, key, &err);
	/* children still running are no longer needed: let them end quietly */
	atomic_store(&r->cancel.stop, true);
	if (rc)
		report_failures(r, o);
	round_release(r);
	return rc;
}

int pin_sss_decrypt(const struct jwe *j, struct buf *pt, const struct pin_opts *o)
{
	struct sss_jwe s = { 0 };
	unsigned char key[SSS_PRIME_LEN];
	const char *err;
	int rc = -1;

	if (read_sss_header(j->hdr, &s, o))
		goto out;
	if (s.t > (long long)s.n || gather_key(&s, key, o)) {
		pin_msg(o, "sss pin: fewer than %lld of %zu pins could decrypt", s.t, s.n);
		goto out;
	}
	if (jwe_open(j, key, pt, &err))
		pin_msg(o, "Unable to decrypt JWE: %s", err);
	else
		rc = 0;
out:
	wipe(key, sizeof(key));
	buf_free(&s.p);
	return rc;
}
