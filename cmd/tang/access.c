/* access.c - who may recover keys (see access.h). */
#include "access.h"
#include "keydir.h"
#include "../runtime/runtime.h"
#include "../../net/server.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Thumbprints one rule may name. */
#define ACCESS_THPS_MAX 64
/* Denied addresses remembered for the once-a-minute log line; when all are
 * fresher than a minute, further denials are not logged (counted only). */
#define DENIED_LOG_SLOTS 256
#define DENIED_LOG_MS 60000
/* File times are coarse: a file changed within this long of being read is
 * read again at the next check, as the key directory is. */
#define RACY_MS 2000

struct rule {
	struct cidr net;
	char **thps;			/* NULL: every key */
	size_t nthps;
};

struct rules {
	struct rule *v;
	size_t n;
};

struct file_stamp {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

struct denied {
	struct net_addr addr;
	long long at_ms;
};

struct tang_access {
	pthread_mutex_t lock;
	struct rules fixed;		/* --allow */
	struct rules file;		/* --allow-file, the last one that parsed */
	char *path;
	struct file_stamp stamp;
	bool stale;			/* read the file at the next check */
	bool any_source;
	struct denied denied[DENIED_LOG_SLOTS];
};

static void rules_free(struct rules *r)
{
	for (size_t i = 0; i < r->n; i++) {
		for (size_t j = 0; j < r->v[i].nthps; j++)
			free(r->v[i].thps[j]);
		free(r->v[i].thps);
	}
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

static bool rules_add(struct rules *r, const struct rule *x)
{
	struct rule *more = realloc(r->v, (r->n + 1) * sizeof(*more));

	if (!more)
		return false;
	more[r->n++] = *x;
	r->v = more;
	return true;
}

struct tang_access *tang_access_new(void)
{
	struct tang_access *a = calloc(1, sizeof(*a));

	if (a)
		pthread_mutex_init(&a->lock, NULL);
	return a;
}

void tang_access_free(struct tang_access *a)
{
	if (!a)
		return;
	rules_free(&a->fixed);
	rules_free(&a->file);
	free(a->path);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

bool tang_access_allow(struct tang_access *a, const char *text)
{
	struct rule r = { 0 };

	if (!cidr_parse(text, &r.net)) {
		msg("invalid --allow '%s' (expected an address or CIDR range, e.g. 10.0.0.0/8)", text);
		return false;
	}
	a->any_source = true;
	return rules_add(&a->fixed, &r);
}

/* ---- the file ---- */

static bool is_thp(const char *s)
{
	for (const char *p = s; *p; p++)
		if (!(*p >= '0' && *p <= '9') && !(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') && *p != '_' &&
		    *p != '-')
			return false;
	return *s;
}

/* One line into r (nothing for blank and comment lines); NULL, or what is wrong. */
static const char *parse_line(char *line, struct rules *r)
{
	struct rule x = { 0 };
	char *save = NULL, *word = strtok_r(line, " \t\r", &save);

	if (!word || *word == '#')
		return NULL;
	if (!cidr_parse(word, &x.net))
		return "not an address or CIDR range";
	while ((word = strtok_r(NULL, " \t\r", &save)) && *word != '#') {
		char **more;
		if (!is_thp(word))
			return "not a key thumbprint";
		if (x.nthps == ACCESS_THPS_MAX)
			return "too many thumbprints";
		if (!(more = realloc(x.thps, (x.nthps + 1) * sizeof(*more))) || !(more[x.nthps] = strdup(word))) {
			x.thps = more ? more : x.thps;
			goto oom;
		}
		x.thps = more;
		x.nthps++;
	}
	if (rules_add(r, &x))
		return NULL;
oom:
	for (size_t i = 0; i < x.nthps; i++)
		free(x.thps[i]);
	free(x.thps);
	return "out of memory";
}

static void stamp_of(struct file_stamp *s, const struct stat *st)
{
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->size = st->st_size;
	s->mtime = st->st_mtim;
	s->ctime = st->st_ctim;
}

static bool stamp_equal(const struct file_stamp *a, const struct file_stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec && a->ctime.tv_sec == b->ctime.tv_sec &&
	       a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static bool is_recent(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	long long age = (now.tv_sec - t->tv_sec) * 1000LL + (now.tv_nsec - t->tv_nsec) / 1000000;
	return age < RACY_MS;
}

/* Reads path into *out; false with *err (and *line for a bad line). */
static bool read_rules(const char *path, struct rules *out, struct file_stamp *stamp, bool *racy, const char **err,
		       unsigned *lineno)
{
	FILE *f = fopen(path, "re");
	char line[ACCESS_LINE_MAX];
	struct stat st;

	*lineno = 0;
	memset(out, 0, sizeof(*out));
	memset(stamp, 0, sizeof(*stamp));
	if (!f || fstat(fileno(f), &st)) {
		*err = strerror(errno);
		if (f)
			fclose(f);
		return false;
	}
	stamp_of(stamp, &st);
	*racy = is_recent(&st.st_mtim) || is_recent(&st.st_ctim);
	*err = S_ISREG(st.st_mode) && st.st_size <= ACCESS_FILE_MAX ? NULL : "not a regular file of at most 1 MiB";
	while (!*err && fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);
		++*lineno;
		if (n && line[n - 1] == '\n')
			line[--n] = 0;
		else if (!feof(f))
			*err = "line too long";
		if (!*err)
			*err = parse_line(line, out);
	}
	if (!*err && ferror(f))
		*err = "read error";
	fclose(f);
	if (*err) {
		rules_free(out);
		return false;
	}
	return true;
}

bool tang_access_set_file(struct tang_access *a, const char *path)
{
	const char *err;
	unsigned line;
	bool racy;

	if (!(a->path = strdup(path)))
		return false;
	a->any_source = true;
	if (!read_rules(path, &a->file, &a->stamp, &racy, &err, &line)) {
		if (line)
			msg("%s line %u: %s", path, line, err);
		else
			msg("cannot read %s: %s", path, err);
		return false;
	}
	a->stale = racy;
	return true;
}

void tang_access_invalidate(struct tang_access *a)
{
	pthread_mutex_lock(&a->lock);
	a->stale = true;
	pthread_mutex_unlock(&a->lock);
}

/* Under lock: the file's rules, re-read when it changed. */
static void refresh(struct tang_access *a)
{
	struct stat st;
	struct file_stamp now;
	struct rules fresh;
	const char *err;
	unsigned line;
	bool racy;

	if (!a->path)
		return;
	if (!stat(a->path, &st)) {
		stamp_of(&now, &st);
		if (!a->stale && stamp_equal(&now, &a->stamp))
			return;
	}
	if (!read_rules(a->path, &fresh, &now, &racy, &err, &line)) {
		/* said once per change of the file, not per request */
		if (!a->stale || !stamp_equal(&now, &a->stamp)) {
			if (line)
				server_log("%s line %u: %s; keeping the previous access rules", a->path, line, err);
			else
				server_log("cannot read %s: %s; keeping the previous access rules", a->path, err);
		}
		a->stamp = now;
		a->stale = false;
		return;
	}
	rules_free(&a->file);
	a->file = fresh;
	a->stamp = now;
	a->stale = racy;
	server_log("%s: %zu access rules loaded", a->path, fresh.n);
}

/* ---- checks ---- */

static bool rule_names(const struct rule *r, const struct tang_key *k)
{
	if (!r->thps)
		return true;
	for (size_t i = 0; k && i < r->nthps; i++)
		for (size_t h = 0; h < HASH_COUNT; h++)
			if (k->thp[h] && !strcmp(k->thp[h], r->thps[i]))
				return true;
	return false;
}

/* k NULL: any rule for addr, whatever keys it names. */
static bool rules_allow(const struct rules *rs, const struct net_addr *addr, const struct tang_key *k, bool any_key)
{
	for (size_t i = 0; i < rs->n; i++)
		if (cidr_match(&rs->v[i].net, addr) && (any_key || rule_names(&rs->v[i], k)))
			return true;
	return false;
}

static bool check(struct tang_access *a, const struct net_addr *addr, const struct tang_key *k, bool any_key)
{
	bool yes;

	if (!a || !a->any_source)
		return true;
	pthread_mutex_lock(&a->lock);
	refresh(a);
	yes = rules_allow(&a->fixed, addr, k, any_key) || rules_allow(&a->file, addr, k, any_key);
	pthread_mutex_unlock(&a->lock);
	return yes;
}

bool tang_access_may_recover(struct tang_access *a, const struct net_addr *addr)
{
	return check(a, addr, NULL, true);
}

bool tang_access_allows(struct tang_access *a, const struct net_addr *addr, const struct tang_key *k)
{
	return check(a, addr, k, false);
}

/* Under lock: true when addr was not logged within the minute (and now is). */
static bool log_due(struct tang_access *a, const struct net_addr *addr)
{
	long long now = clock_mono_ms();
	struct denied *slot = &a->denied[0];

	for (size_t i = 0; i < DENIED_LOG_SLOTS; i++) {
		struct denied *d = &a->denied[i];
		if (d->at_ms && net_addr_equal(&d->addr, addr)) {
			slot = d;
			break;
		}
		if (d->at_ms < slot->at_ms)
			slot = d;
	}
	if (slot->at_ms && now - slot->at_ms < DENIED_LOG_MS)
		return false;
	slot->addr = *addr;
	slot->at_ms = now;
	return true;
}

void tang_access_log_denied(struct tang_access *a, const struct net_addr *addr, const char *thp)
{
	char text[NET_ADDR_TEXT_MAX];
	bool due;

	pthread_mutex_lock(&a->lock);
	due = log_due(a, addr);
	pthread_mutex_unlock(&a->lock);
	if (!due)
		return;
	net_addr_format(addr, text, sizeof(text));
	/* thp is base64url: the route checked it */
	server_log("%s: /rec/%.100s denied by the access rules (logged once a minute per address)", text, thp);
}
