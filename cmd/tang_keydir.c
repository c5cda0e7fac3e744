/* tang_keydir.c - loading, caching and revalidating a Tang key directory,
 * signing its advertisements, and creating keys (see tang_keydir.h). */
/* asprintf needs _GNU_SOURCE, which the Makefile defines. */
#include "tang_keydir.h"
#include "util.h"
#include "../crypto/hash.h"
#include "../crypto/json.h"
#include "../crypto/jws.h"
#include "../crypto/secret.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

#define KEY_FILE_MAX (64 * 1024)
/* Timestamps of a change within this many seconds may not move again on the
 * next change (coarse file-system clocks), so such a cache is re-checked by
 * listing the directory. */
#define RACY_SECONDS 2

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
	uint64_t fingerprint;		/* names, inodes, sizes and times of the *.jwk files */
	bool racy;
};

struct tang_keydir {
	char *path;
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
	for (size_t i = 0; i < 5; i++)
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
		for (size_t h = 0; h < 5; h++)
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

static bool is_recent(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return now.tv_sec - t->tv_sec < RACY_SECONDS;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t fingerprint_add(uint64_t h, const char *name, const struct stat *st)
{
	h = fnv(h, name, strlen(name) + 1);
	h = fnv(h, &st->st_ino, sizeof(st->st_ino));
	h = fnv(h, &st->st_size, sizeof(st->st_size));
	h = fnv(h, &st->st_mtim, sizeof(st->st_mtim));
	return fnv(h, &st->st_ctim, sizeof(st->st_ctim));
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

static void names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The *.jwk names in dfd, sorted; -1 when the directory cannot be read. */
static int list_key_files(int dfd, char ***names_out, size_t *n_out)
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
			names_free(more ? more : names, n);
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

/* The fingerprint as a fresh listing sees it; 0 when unreadable. */
static uint64_t current_fingerprint(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char **names;
	size_t n;
	uint64_t h = 0xcbf29ce484222325ULL;
	struct stat st;

	if (dfd < 0)
		return 0;
	if (list_key_files(dfd, &names, &n)) {
		close(dfd);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (!fstatat(dfd, names[i], &st, 0))
			h = fingerprint_add(h, names[i], &st);
	names_free(names, n);
	close(dfd);
	return h;
}

static bool compute_thumbprints(struct tang_key *k)
{
	for (size_t h = 0; h < 5; h++)
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

	if (read_fd_all(fd, KEY_FILE_MAX, &text)) {
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

/* Loads dir/name into the next slot of ks and adds it to the fingerprint. */
static void load_key_file(struct tang_keyset *ks, int dfd, const char *dir, const char *name, uint64_t *fp)
{
	struct tang_key *k = &ks->keys[ks->n];
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;

	memset(k, 0, sizeof(*k));
	if (fd < 0 || fstat(fd, &st)) {
		msg("Cannot load JSON file (%s/%s): %s; skipping", dir, name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	*fp = fingerprint_add(*fp, name, &st);
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

static int read_keys(struct tang_keyset *ks, int dfd, const char *dir)
{
	char **names;
	size_t n;
	uint64_t fp = 0xcbf29ce484222325ULL;

	if (list_key_files(dfd, &names, &n)) {
		msg("Cannot read key directory %s: %s", dir, strerror(errno));
		return -1;
	}
	ks->keys = calloc(n ? n : 1, sizeof(*ks->keys));
	for (size_t i = 0; ks->keys && i < n; i++)
		load_key_file(ks, dfd, dir, names[i], &fp);
	names_free(names, n);
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
	ks->racy = is_recent(&st.st_mtim);
	if (!read_keys(ks, dfd, dir) && ks->nactive)
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
		r = tang_key_create(dir, "ES512", NULL, NULL);
		if (!r)
			r = tang_key_create(dir, "ECMR", NULL, NULL);
		if (r)
			msg("Error saving JWK to file (%s): %s", dir, strerror(errno));
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

static bool still_valid(const char *dir, struct tang_keyset *ks)
{
	struct stat st;
	struct dir_stamp now;

	if (stat(dir, &st))
		return false;
	stamp_of(&now, &st);
	if (!stamp_equal(&now, &ks->stamp))
		return false;
	if (!ks->racy)
		return true;
	/* take the time first: the listing proves nothing changed before it */
	bool settled = !is_recent(&st.st_mtim);
	if (current_fingerprint(dir) != ks->fingerprint)
		return false;
	ks->racy = !settled;
	return true;
}

struct tang_keyset *tang_keydir_get(struct tang_keydir *kd)
{
	struct tang_keyset *ks;

	pthread_mutex_lock(&kd->lock);
	if (!kd->current || !still_valid(kd->path, kd->current)) {
		ks = load_or_create(kd->path);
		if (ks) {
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

/* Root creating keys for a server that runs as the directory's owner (e.g.
 * _tang) hands the files over, as tang's scripts try to. */
static void give_to_dir_owner(const char *dir, const char *path)
{
	struct stat st;

	if (geteuid() != 0 || stat(dir, &st) || (st.st_uid == 0 && st.st_gid == 0))
		return;
	if (chown(path, st.st_uid, st.st_gid))
		msg("warning: cannot chown %s: %s", path, strerror(errno));
}

static int store_key(const char *dir, const cJSON *jwk, const char *name, char **path_out)
{
	AUTO_SECRET_STR text = json_canonical(jwk);
	AUTO_FREE char *thp = name ? NULL : jwk_thumbprint(jwk, "S256");
	AUTO_BUF line = { 0 };
	char *path = NULL;
	int r;

	if (!text || (!name && !thp) || buf_alloc(&line, strlen(text) + 1) ||
	    asprintf(&path, "%s/%s.jwk", dir, name ? name : thp) < 0) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(line.p, text, line.len - 1);
	line.p[line.len - 1] = '\n';
	r = write_file_atomic(path, line.p, line.len, 0440);
	if (!r)
		give_to_dir_owner(dir, path);
	if (!r && path_out)
		*path_out = path;
	else
		free(path);
	return r;
}

int tang_key_create(const char *dir, const char *alg, const char *name, char **path_out)
{
	AUTO_JSON tmpl = cJSON_CreateObject();
	AUTO_JSON_SECRET jwk = NULL;
	const char *err;

	if (!tmpl || !json_set_str(tmpl, "alg", alg) || !(jwk = jwk_generate(tmpl, &err))) {
		errno = ENOMEM;
		return -1;
	}
	return store_key(dir, jwk, name, path_out);
}
