/* keydir.c - loading, caching and revalidating a Tang key directory,
 * signing its advertisements, and creating keys (see tang_keydir.h). */
/* asprintf needs _GNU_SOURCE, which the Makefile defines. */
#include "keydir.h"
#include "keyfile.h"
#include "../runtime/runtime.h"
#include "../../crypto/hash.h"
#include "../../crypto/json.h"
#include "../../crypto/jws.h"
#include "../../crypto/secret.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Timestamps of a change within this many seconds may not move again on the
 * next change (coarse file-system clocks), so such a cache is re-checked by
 * listing the directory. */
#define RACY_SECONDS 2
/* A key file edited in place changes no directory timestamp; the files
 * themselves are re-checked (one listing and fstatat pass) this often. */
#define FILE_CHECK_MS 1000
/* FNV-1a offset basis: the fingerprint of an empty directory. */
#define FINGERPRINT_SEED 0xcbf29ce484222325ULL

struct dir_stamp {
	dev_t dev;
	ino_t ino;
	struct timespec mtime, ctime;
};

struct tang_keyset {
	atomic_int refs;
	struct tang_key *keys;
	size_t n, nactive;
	int status;
	char *adv;			/* default advertisement */
	size_t adv_len;
	struct ec_key **signers;	/* active signing keys */
	size_t nsigners;
	char *payload;			/* {"keys":[...]} that every advertisement signs */
	pthread_mutex_t lazy;		/* guards tang_key.adv */
	struct dir_stamp stamp;
	uint64_t fingerprint;		/* names and identities of the *.jwk files and their targets */
	bool racy;			/* read within RACY_SECONDS of a change */
};

struct tang_keydir {
	char *path;
	long long next_file_check;	/* clock_mono_ms() time of the next fingerprint pass */
	pthread_mutex_t lock;
	struct tang_keyset *current;
	bool loaded;			/* a set was loaded once */
	unsigned long long reloads;	/* under lock */
};

/* ---- key sets ---- */

static void key_free(struct tang_key *k)
{
	free(k->file);
	json_delete_secret(k->jwk);
	ec_key_free(k->ec);
	for (size_t i = 0; i < HASH_COUNT; i++)
		free(k->thp[i]);
	free(k->adv);
}

void tang_keyset_release(struct tang_keyset *ks)
{
	if (!ks || atomic_fetch_sub(&ks->refs, 1) != 1)
		return;
	for (size_t i = 0; i < ks->n; i++)
		key_free(&ks->keys[i]);
	free(ks->keys);
	free(ks->adv);
	free(ks->signers);
	free(ks->payload);
	pthread_mutex_destroy(&ks->lazy);
	free(ks);
}

static struct tang_keyset *keyset_new(void)
{
	struct tang_keyset *ks = calloc(1, sizeof(*ks));
	if (!ks)
		return NULL;
	atomic_init(&ks->refs, 1);
	ks->status = 500;
	pthread_mutex_init(&ks->lazy, NULL);
	return ks;
}

int tang_keyset_status(const struct tang_keyset *ks)
{
	return ks->status;
}

void tang_keyset_active_counts(const struct tang_keyset *ks, size_t *signing, size_t *exchange)
{
	*signing = *exchange = 0;
	for (size_t i = 0; i < ks->n; i++) {
		*signing += !ks->keys[i].hidden && ks->keys[i].signs;
		*exchange += !ks->keys[i].hidden && ks->keys[i].exchanges;
	}
}

unsigned long long tang_keydir_reloads(struct tang_keydir *kd)
{
	pthread_mutex_lock(&kd->lock);
	unsigned long long n = kd->reloads;
	pthread_mutex_unlock(&kd->lock);
	return n;
}

static struct tang_key *find_key(struct tang_keyset *ks, const char *thp)
{
	for (size_t i = 0; thp && i < ks->n; i++)
		for (size_t h = 0; h < HASH_COUNT; h++)
			if (ks->keys[i].thp[h] && !strcmp(ks->keys[i].thp[h], thp))
				return &ks->keys[i];
	return NULL;
}

const struct tang_key *tang_keyset_find(const struct tang_keyset *ks, const char *thp)
{
	return find_key((struct tang_keyset *)ks, thp);
}

/* ---- reading the directory ---- */

static void stamp_of(struct dir_stamp *s, const struct stat *st)
{
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->mtime = st->st_mtim;
	s->ctime = st->st_ctim;
}

static bool stamp_equal(const struct dir_stamp *a, const struct dir_stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec && a->ctime.tv_sec == b->ctime.tv_sec &&
	       a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

/* The identity of one stat result: a file replaced, truncated or written
 * in place changes at least one of these. */
static uint64_t identity_add(uint64_t h, const struct stat *st)
{
	h = fnv(h, &st->st_dev, sizeof(st->st_dev));
	h = fnv(h, &st->st_ino, sizeof(st->st_ino));
	h = fnv(h, &st->st_mode, sizeof(st->st_mode));
	h = fnv(h, &st->st_size, sizeof(st->st_size));
	h = fnv(h, &st->st_mtim, sizeof(st->st_mtim));
	return fnv(h, &st->st_ctim, sizeof(st->st_ctim));
}

/* stat or lstat of dfd/name; all zero when it is gone or dangling. */
static void entry_stat(int dfd, const char *name, int flags, struct stat *st)
{
	if (fstatat(dfd, name, st, flags))
		memset(st, 0, sizeof(*st));
}

/* Within RACY_SECONDS either side of now (since = now - RACY_SECONDS). A
 * time further ahead is a clock that was wrong, not a change in progress:
 * the next real change moves it anyway, so it needs no per-request check. */
static bool is_recent(time_t t, time_t since)
{
	return t > since && t <= since + 2 * RACY_SECONDS;
}

static bool changed_recently(const struct stat *st, time_t since)
{
	return is_recent(st->st_mtim.tv_sec, since) || is_recent(st->st_ctim.tv_sec, since);
}

/* Adds dfd/name: the entry itself (not followed) and, for a symlink, what
 * it leads to, so a Kubernetes ..data swap or an edited target is seen.
 * *recent is set when either changed recently (see is_recent). */
static uint64_t fingerprint_add(uint64_t h, int dfd, const char *name, time_t since, bool *recent)
{
	struct stat st;

	h = fnv(h, name, strlen(name) + 1);
	entry_stat(dfd, name, AT_SYMLINK_NOFOLLOW, &st);
	h = identity_add(h, &st);
	*recent |= changed_recently(&st, since);
	if (S_ISLNK(st.st_mode)) {
		entry_stat(dfd, name, 0, &st);
		h = identity_add(h, &st);
		*recent |= changed_recently(&st, since);
	}
	return h;
}

static bool is_key_file(const char *name)
{
	size_t n = strlen(name);
	return n > 4 && !strcmp(name + n - 4, ".jwk");
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void tang_keydir_list_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int tang_keydir_list(int dfd, char ***names_out, size_t *n_out)
{
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(d);
	while ((e = readdir(d))) {
		char **more;
		if (!is_key_file(e->d_name))
			continue;
		if (!(more = realloc(names, (n + 1) * sizeof(*names))) || !(more[n] = strdup(e->d_name))) {
			tang_keydir_list_free(more ? more : names, n);
			closedir(d);
			return -1;
		}
		names = more;
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	*names_out = names;
	*n_out = n;
	return 0;
}

/* A clock reading RACY_SECONDS back: timestamps after it are recent. */
static time_t racy_since(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return now.tv_sec - RACY_SECONDS;
}

/* The fingerprint as a fresh listing sees it; 0 when unreadable. */
static uint64_t current_fingerprint(const char *dir, bool *recent)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char **names;
	size_t n;
	uint64_t h = FINGERPRINT_SEED;
	time_t since = racy_since();

	if (dfd < 0)
		return 0;
	if (tang_keydir_list(dfd, &names, &n)) {
		close(dfd);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		h = fingerprint_add(h, dfd, names[i], since, recent);
	tang_keydir_list_free(names, n);
	close(dfd);
	return h;
}

static bool compute_thumbprints(struct tang_key *k)
{
	for (size_t h = 0; h < HASH_COUNT; h++)
		if (!(k->thp[h] = jwk_thumbprint(k->jwk, hash_names[h])))
			return false;
	return true;
}

static void classify(struct tang_key *k)
{
	const char *alg = json_get_str(k->jwk, "alg");
	bool has_d = ec_key_has_private(k->ec);

	k->hidden = k->file[0] == '.';
	k->signs = has_d && jwk_allows(k->jwk, "sign", false) && jwk_allows(k->jwk, "verify", false);
	k->advertised = !k->hidden && (k->signs || jwk_allows(k->jwk, "deriveKey", false));
	k->exchanges = has_d && jwk_allows(k->jwk, "deriveKey", true) &&
		       cJSON_IsString(cJSON_GetObjectItemCaseSensitive(k->jwk, "d")) &&
		       (!cJSON_GetObjectItemCaseSensitive(k->jwk, "alg") || (alg && !strcmp(alg, "ECMR")));
}

/* Parses one open key file into k; false (with a message) to skip it. */
static bool parse_key(struct tang_key *k, int fd, const char *dir)
{
	AUTO_BUF text = { 0 };
	const char *err = "invalid JSON";

	if (read_fd_all(fd, TANG_KEY_FILE_MAX, &text)) {
		msg("Cannot load JSON file (%s/%s): %s; skipping", dir, k->file, strerror(errno));
		return false;
	}
	if (!(k->jwk = json_parse_object((const char *)text.p, text.len)) ||
	    !(k->ec = ec_key_from_jwk(k->jwk, &err)) || !compute_thumbprints(k)) {
		msg("Cannot load JSON file (%s/%s): %s; skipping", dir, k->file,
		    k->ec ? "no thumbprint" : err);
		return false;
	}
	classify(k);
	return true;
}

/* Opens dir/name through symlinks that stay inside dir; -1 to skip it. */
static int open_key_file(int dfd, const char *dir, const char *name)
{
	int fd = keyfile_open_beneath(dfd, name);

	if (fd < 0 && errno == EXDEV)
		msg("Refusing key file %s/%s: a symlink that leads out of the key directory; skipping", dir, name);
	else if (fd < 0)
		msg("Cannot load JSON file (%s/%s): %s; skipping", dir, name, strerror(errno));
	return fd;
}

/* Loads dir/name into the next slot of ks and adds it to the fingerprint
 * (taken first: a change during the read moves it). */
static void load_key_file(struct tang_keyset *ks, int dfd, const char *dir, const char *name, uint64_t *fp,
			  time_t since)
{
	struct tang_key *k = &ks->keys[ks->n];
	struct stat st;
	int fd;

	memset(k, 0, sizeof(*k));
	*fp = fingerprint_add(*fp, dfd, name, since, &ks->racy);
	if ((fd = open_key_file(dfd, dir, name)) < 0)
		return;
	if (fstat(fd, &st)) {
		msg("Cannot load JSON file (%s/%s): %s; skipping", dir, name, strerror(errno));
		close(fd);
		return;
	}
	k->file = strdup(name);
	if (k->file && S_ISREG(st.st_mode) && parse_key(k, fd, dir)) {
		ks->nactive += !k->hidden;
		ks->n++;
	} else {
		if (k->file && !S_ISREG(st.st_mode))
			msg("Cannot load JSON file (%s/%s): not a regular file; skipping", dir, name);
		key_free(k);
	}
	close(fd);
}

static int read_keys(struct tang_keyset *ks, int dfd, const char *dir, time_t since)
{
	char **names;
	size_t n;
	uint64_t fp = FINGERPRINT_SEED;

	if (tang_keydir_list(dfd, &names, &n)) {
		msg("Cannot read key directory %s: %s", dir, strerror(errno));
		return -1;
	}
	ks->keys = calloc(n ? n : 1, sizeof(*ks->keys));
	for (size_t i = 0; ks->keys && i < n; i++)
		load_key_file(ks, dfd, dir, names[i], &fp, since);
	tang_keydir_list_free(names, n);
	ks->fingerprint = fp;
	return ks->keys ? 0 : -1;
}

/* ---- advertisements ---- */

static char *sign_payload(const char *payload, struct ec_key *const *keys, size_t n, size_t *len)
{
	AUTO_JSON tmpl = cJSON_CreateObject();
	AUTO_JSON jws = NULL;
	const char *err;
	char *text;

	if (!tmpl || !json_set_str(tmpl, "cty", "jwk-set+json") ||
	    !(jws = jws_sign(payload, strlen(payload), tmpl, keys, n, &err)) || !(text = json_canonical(jws)))
		return NULL;
	*len = strlen(text);
	return text;
}

static char *build_payload(const struct tang_keyset *ks)
{
	AUTO_JSON doc = cJSON_CreateObject();
	cJSON *arr = doc ? cJSON_AddArrayToObject(doc, "keys") : NULL;

	if (!arr)
		return NULL;
	for (size_t i = 0; i < ks->n; i++) {
		cJSON *pub;
		if (!ks->keys[i].advertised)
			continue;
		if (!(pub = jwk_public(ks->keys[i].jwk)))
			return NULL;
		cJSON_AddItemToArray(arr, pub);
	}
	return cJSON_GetArraySize(arr) ? json_canonical(doc) : NULL;
}

/* Sign set, payload and default advertisement; status 200 when all exist. */
static void prepare_adv(struct tang_keyset *ks)
{
	ks->signers = calloc(ks->n + 1, sizeof(*ks->signers));
	for (size_t i = 0; ks->signers && i < ks->n; i++)
		if (ks->keys[i].signs && !ks->keys[i].hidden)
			ks->signers[ks->nsigners++] = ks->keys[i].ec;
	if (!ks->nsigners) {
		msg("no active signing key in the key directory");
		return;
	}
	if (!(ks->payload = build_payload(ks)) ||
	    !(ks->adv = sign_payload(ks->payload, ks->signers, ks->nsigners, &ks->adv_len))) {
		msg("cannot build the advertisement");
		return;
	}
	ks->status = 200;
}

/* The advertisement with the extra signature of k, made once per key set. */
static int adv_with_key(struct tang_keyset *ks, struct tang_key *k)
{
	pthread_mutex_lock(&ks->lazy);
	if (!k->adv) {
		ks->signers[ks->nsigners] = k->ec;
		k->adv = sign_payload(ks->payload, ks->signers, ks->nsigners + 1, &k->adv_len);
	}
	pthread_mutex_unlock(&ks->lazy);
	return k->adv ? 200 : 500;
}

int tang_keyset_adv(struct tang_keyset *ks, const char *thp, const char **adv, size_t *len)
{
	struct tang_key *k;
	int status;

	if (ks->status != 200)
		return ks->status;
	if (!thp) {
		*adv = ks->adv;
		*len = ks->adv_len;
		return 200;
	}
	k = find_key(ks, thp);
	if (!k || !k->signs)
		return 404;
	status = adv_with_key(ks, k);
	*adv = k->adv;
	*len = k->adv_len;
	return status;
}

/* ---- loading and caching ---- */

static struct tang_keyset *load(const char *dir)
{
	struct tang_keyset *ks = keyset_new();
	int dfd;
	struct stat st;
	time_t since;

	if (!ks)
		return NULL;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fstat(dfd, &st)) {
		msg("Cannot open key directory %s: %s", dir, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return ks;
	}
	/* stamp before reading: a change during the read moves the stamp */
	stamp_of(&ks->stamp, &st);
	since = racy_since();
	ks->racy = changed_recently(&st, since);
	if (!read_keys(ks, dfd, dir, since) && ks->nactive)
		prepare_adv(ks);
	close(dfd);
	return ks;
}

static bool has_active_keys(const char *dir)
{
	struct tang_keyset *ks = load(dir);
	bool any = ks && ks->nactive;
	tang_keyset_release(ks);
	return any;
}

/* tang's rule: a directory without active keys gets a fresh pair. The lock
 * keeps two servers (or a rotation) from both doing it. */
static int create_default_pair(const char *dir)
{
	int lock = tang_keydir_lock(dir), r = 0;

	if (lock < 0)
		return -1;
	if (!has_active_keys(dir)) {
		/* tang_key_create_at says what went wrong */
		r = tang_key_create_at(lock, dir, "ES512", NULL, NULL);
		if (!r)
			r = tang_key_create_at(lock, dir, "ECMR", NULL, NULL);
	}
	tang_keydir_unlock(lock);
	return r;
}

static struct tang_keyset *load_or_create(const char *dir)
{
	struct tang_keyset *ks = load(dir);

	if (ks && !ks->nactive && ks->stamp.ino && !create_default_pair(dir)) {
		tang_keyset_release(ks);
		ks = load(dir);
	}
	return ks;
}

/* Cheap when nothing changed: one stat of the directory per request, and
 * once per FILE_CHECK_MS (or per request while a change is recent) a
 * listing with the identity of every key file and symlink target. */
static bool still_valid(struct tang_keydir *kd, struct tang_keyset *ks)
{
	struct stat st;
	struct dir_stamp now;
	long long t = clock_mono_ms();
	bool recent;

	if (stat(kd->path, &st))
		return false;
	stamp_of(&now, &st);
	if (!stamp_equal(&now, &ks->stamp))
		return false;
	if (!ks->racy && t < kd->next_file_check)
		return true;
	kd->next_file_check = t + FILE_CHECK_MS;
	/* the clock is read first: the listing proves nothing changed before it */
	recent = changed_recently(&st, racy_since());
	if (current_fingerprint(kd->path, &recent) != ks->fingerprint)
		return false;
	/* A set read while its files were changing may predate a change that
	 * left the same timestamps (coarse clocks): once settled, read it again. */
	return !ks->racy || recent;
}

struct tang_keyset *tang_keydir_get(struct tang_keydir *kd)
{
	struct tang_keyset *ks;

	pthread_mutex_lock(&kd->lock);
	if (!kd->current || !still_valid(kd, kd->current)) {
		ks = load_or_create(kd->path);
		if (ks) {
			kd->next_file_check = clock_mono_ms() + FILE_CHECK_MS;
			tang_keyset_release(kd->current);
			kd->current = ks;
			kd->reloads += kd->loaded;
			kd->loaded = true;
		}
	}
	ks = kd->current;
	if (ks)
		atomic_fetch_add(&ks->refs, 1);
	pthread_mutex_unlock(&kd->lock);
	return ks;
}

void tang_keydir_invalidate(struct tang_keydir *kd)
{
	pthread_mutex_lock(&kd->lock);
	tang_keyset_release(kd->current);
	kd->current = NULL;
	pthread_mutex_unlock(&kd->lock);
}

struct tang_keydir *tang_keydir_open(const char *path)
{
	struct tang_keydir *kd;
	struct stat st;

	if (stat(path, &st)) {
		msg("Error calling stat() on path: %s: %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISDIR(st.st_mode)) {
		msg("Path is not a directory: %s", path);
		return NULL;
	}
	kd = calloc(1, sizeof(*kd));
	if (!kd || !(kd->path = strdup(path))) {
		free(kd);
		msg("out of memory");
		return NULL;
	}
	pthread_mutex_init(&kd->lock, NULL);
	return kd;
}

void tang_keydir_close(struct tang_keydir *kd)
{
	if (!kd)
		return;
	tang_keyset_release(kd->current);
	pthread_mutex_destroy(&kd->lock);
	free(kd->path);
	free(kd);
}

/* ---- creating keys ---- */

int tang_keydir_lock(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX)) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

void tang_keydir_unlock(int fd)
{
	if (fd >= 0)
		close(fd);	/* releases the flock */
}

/* NAME.jwk for a name given on a command line: one entry of the directory. */
static char *key_file_name(const char *dir, const char *name)
{
	char *file = NULL;

	if (!*name || strchr(name, '/') || strlen(name) + 4 > NAME_MAX) {
		msg("invalid key name '%s': one file name in %s, no '/'", name, dir);
		errno = EINVAL;
		return NULL;
	}
	if (asprintf(&file, "%s.jwk", name) < 0) {
		msg("out of memory");
		errno = ENOMEM;
		return NULL;
	}
	return file;
}

static int store_key(int dfd, const char *dir, const cJSON *jwk, const char *name, char **path_out)
{
	AUTO_SECRET_STR text = json_canonical(jwk);
	AUTO_FREE char *thp = name ? NULL : jwk_thumbprint(jwk, "S256");
	AUTO_FREE char *file = NULL;
	AUTO_BUF line = { 0 };

	if (!text || (!name && !thp) || buf_alloc(&line, strlen(text) + 1)) {
		msg("out of memory");
		errno = ENOMEM;
		return -1;
	}
	if (!(file = key_file_name(dir, name ? name : thp)))
		return -1;
	memcpy(line.p, text, line.len - 1);
	line.p[line.len - 1] = '\n';
	if (keyfile_create(dfd, file, line.p, line.len)) {
		int e = errno;
		if (e == EEXIST)
			msg("%s/%s exists; not overwriting a key", dir, file);
		else
			msg("cannot write %s/%s: %s", dir, file, strerror(e));
		errno = e;
		return -1;
	}
	if (path_out && asprintf(path_out, "%s/%s", dir, file) < 0)
		*path_out = NULL;
	return 0;
}

int tang_key_create_at(int dfd, const char *dir, const char *alg, const char *name, char **path_out)
{
	AUTO_JSON tmpl = cJSON_CreateObject();
	AUTO_JSON_SECRET jwk = NULL;
	const char *err;

	if (!tmpl || !json_set_str(tmpl, "alg", alg) || !(jwk = jwk_generate(tmpl, &err))) {
		msg("cannot generate a key: out of memory");
		errno = ENOMEM;
		return -1;
	}
	return store_key(dfd, dir, jwk, name, path_out);
}

int tang_key_create(const char *dir, const char *alg, const char *name, char **path_out)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (dfd < 0) {
		msg("cannot open key directory %s: %s", dir, strerror(errno));
		return -1;
	}
	r = tang_key_create_at(dfd, dir, alg, name, path_out);
	close(dfd);
	return r;
}
