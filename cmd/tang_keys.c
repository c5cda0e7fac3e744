/* tang_keys.c - applets for Tang key management, with tang's names and
 * contracts (the shell scripts tang ships under these names):
 *
 * usage: tangd-keygen JWKDIR [SIG EXC]
 *          a new ES512 signing and ECMR exchange key (P-521) in JWKDIR, named
 *          SIG.jwk and EXC.jwk or by their S256 thumbprints; mode 0440; an
 *          existing file is never overwritten (an error instead)
 *        tangd-rotate-keys [-v] -d JWKDIR
 *          a new pair, then every active key hidden: renamed to .NAME.jwk,
 *          or .NAME.1.jwk, .NAME.2.jwk, ... when that exists (never over
 *          an older hidden key: clients bound to it still need it)
 *        tang-show-keys [PORT] [ENDPOINT]
 *          S256 thumbprints of the signing keys that the server on
 *          localhost:PORT (default 80) advertises, one per line */
/* asprintf needs _GNU_SOURCE, which the Makefile defines. */
#include "applets.h"
#include "keyfile.h"
#include "tang_keydir.h"
#include "util.h"
#include "../crypto/json.h"
#include "../crypto/jwk.h"
#include "../crypto/jws.h"
#include "../net/clock.h"
#include "../net/http_client.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_directory(const char *path)
{
	struct stat st;
	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/* ---- tangd-keygen ---- */

/* Checked for both names first, so a taken EXC leaves no lone new SIG;
 * the create itself still never replaces a file that appears meanwhile. */
static bool name_taken(int dfd, const char *dir, const char *name)
{
	AUTO_FREE char *file = NULL;
	struct stat st;

	if (asprintf(&file, "%s.jwk", name) < 0 || fstatat(dfd, file, &st, AT_SYMLINK_NOFOLLOW))
		return false;
	msg("%s/%s exists; not overwriting a key", dir, file);
	return true;
}

int tangd_keygen_main(int argc, char **argv)
{
	static const char usage[] = "usage: tangd-keygen JWKDIR [SIG EXC]\n";
	int dfd, r;

	util_prog = "tangd-keygen";
	if ((argc != 2 && argc != 4) || !is_directory(argv[1])) {
		if (argc == 2 && !strcmp(argv[1], "-h")) {
			fputs(usage, stdout);
			return 0;
		}
		fputs(usage, stderr);
		return 1;
	}
	if (argc == 4 && !strcmp(argv[2], argv[3])) {
		msg("SIG and EXC must be different names");
		return 1;
	}
	if ((dfd = tang_keydir_lock(argv[1])) < 0) {
		msg("cannot open key directory %s: %s", argv[1], strerror(errno));
		return 1;
	}
	/* tang_key_create_at says what went wrong */
	r = (argc == 4 && (name_taken(dfd, argv[1], argv[2]) || name_taken(dfd, argv[1], argv[3]))) ||
	    tang_key_create_at(dfd, argv[1], "ES512", argc == 4 ? argv[2] : NULL, NULL) ||
	    tang_key_create_at(dfd, argv[1], "ECMR", argc == 4 ? argv[3] : NULL, NULL);
	tang_keydir_unlock(dfd);
	return r ? 1 : 0;
}

/* ---- tangd-rotate-keys ---- */

/* Hidden names tried for one key before giving up: .NAME.jwk, .NAME.1.jwk, ... */
#define HIDE_TRIES 1000

static void names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The active (not hidden) *.jwk names in the directory dfd. */
static int active_keys(int dfd, char ***out, size_t *n)
{
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	char **names = NULL;

	*n = 0;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(d);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char **more;
		if (e->d_name[0] == '.' || len <= 4 || strcmp(e->d_name + len - 4, ".jwk"))
			continue;
		if (!(more = realloc(names, (*n + 1) * sizeof(*names))) || !(more[*n] = strdup(e->d_name))) {
			names_free(more ? more : names, *n);
			closedir(d);
			return -1;
		}
		names = more;
		(*n)++;
	}
	closedir(d);
	*out = names;
	return 0;
}

/* Renames NAME.jwk to the first free hidden name; tang's loader reads any
 * *.jwk and treats a leading '.' as rotated out. */
static int hide_key(int dfd, const char *dir, const char *name, bool verbose)
{
	int base = (int)(strlen(name) - 4);	/* without .jwk */
	char hidden[NAME_MAX + 1];

	for (int i = 0; i < HIDE_TRIES; i++) {
		int n = i ? snprintf(hidden, sizeof(hidden), ".%.*s.%d.jwk", base, name, i)
			  : snprintf(hidden, sizeof(hidden), ".%s", name);
		if (n < 0 || (size_t)n >= sizeof(hidden)) {
			errno = ENAMETOOLONG;
			break;
		}
		if (!keyfile_rename_noreplace(dfd, name, hidden)) {
			if (verbose)
				msg("Disabled advertisement of key %s -> %s", name, hidden);
			return 0;
		}
		if (errno != EEXIST)
			break;
	}
	msg("cannot hide %s/%s: %s", dir, name, strerror(errno));
	return -1;
}

static int create_pair(int dfd, const char *dir, bool verbose)
{
	const char *algs[] = { "ES512", "ECMR" };

	for (size_t i = 0; i < 2; i++) {
		char *path = NULL;
		if (tang_key_create_at(dfd, dir, algs[i], NULL, &path))
			return -1;	/* with a message */
		if (verbose)
			msg("Created new key %s", path ? path : algs[i]);
		free(path);
	}
	return 0;
}

/* The new pair comes first: a server never sees a directory without
 * active keys (it would make a pair of its own). */
static int rotate(const char *dir, bool verbose)
{
	char **old = NULL;
	size_t n = 0;
	int lock = tang_keydir_lock(dir), r = -1;

	if (lock < 0 || active_keys(lock, &old, &n)) {
		msg("cannot read key directory %s: %s", dir, strerror(errno));
	} else if (!create_pair(lock, dir, verbose)) {
		r = 0;
		for (size_t i = 0; i < n; i++)
			r |= hide_key(lock, dir, old[i], verbose);
		if (!r)
			fsync(lock);	/* the renames reach the disk */
	}
	names_free(old, n);
	tang_keydir_unlock(lock);
	return r;
}

int tangd_rotate_keys_main(int argc, char **argv)
{
	static const char usage[] = "usage: tangd-rotate-keys [-h] [-v] -d JWKDIR\n";
	const char *dir = NULL;
	bool verbose = false;
	int c;

	util_prog = "tangd-rotate-keys";
	while ((c = getopt(argc, argv, "hvd:")) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return 0;
		}
		if (c == 'v')
			verbose = true;
		else if (c == 'd')
			dir = optarg;
		else
			return fputs(usage, stderr), 1;
	}
	if (!dir || optind != argc) {
		fputs(usage, stderr);
		return 1;
	}
	if (!is_directory(dir)) {
		msg("not a directory: %s", dir);
		return 1;
	}
	return rotate(dir, verbose) ? 1 : 0;
}

/* ---- tang-show-keys ---- */

/* The advertised keys that may verify (the signing keys). */
static cJSON *verify_keys(const cJSON *keys)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *k;

	cJSON_ArrayForEach(k, keys) {
		if (out && jwk_allows(k, "verify", false))
			cJSON_AddItemToArray(out, cJSON_Duplicate(k, true));
	}
	return out;
}

/* The signing keys of an advertisement that every one of them signed. */
static cJSON *verified_signing_keys(const char *adv, size_t len)
{
	AUTO_JSON jws = jws_parse(adv, len);
	AUTO_JSON doc = NULL;
	AUTO_BUF payload = { 0 };
	cJSON *keys;

	if (!jws || jws_payload(jws, &payload) || !(doc = json_parse_object((char *)payload.p, payload.len)) ||
	    !(keys = verify_keys(json_get_arr(doc, "keys"))))
		return NULL;
	if (!cJSON_GetArraySize(keys) || !jws_verify_all(jws, keys)) {
		cJSON_Delete(keys);
		return NULL;
	}
	return keys;
}

static int print_thumbprints(const cJSON *keys)
{
	const cJSON *k;

	cJSON_ArrayForEach(k, keys) {
		AUTO_FREE char *thp = NULL;
		if (!(thp = jwk_thumbprint(k, "S256"))) {
			msg("the advertisement holds a key without a thumbprint");
			return 1;
		}
		printf("%s\n", thp);
	}
	return 0;
}

static char *adv_path(const char *endpoint)
{
	char *path = NULL;

	while (endpoint && *endpoint == '/')
		endpoint++;
	if (asprintf(&path, "%s%s/adv", endpoint && *endpoint ? "/" : "", endpoint ? endpoint : "") < 0)
		return NULL;
	return path;
}

/* GET http://localhost:PORT/PATH, 127.0.0.1 first, then ::1 (tang-show-keys
 * asks the server on this machine); one attempt each, 10 s at most. */
static int get_local(const char *port, const char *path, struct http_reply *reply)
{
	static const char *const hosts[] = { "127.0.0.1", "[::1]" };
	char url[4200], err[160] = "";

	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		struct http_client_request rq = { .method = "GET", .url = url, .once = true,
						  .deadline_ms = clock_mono_ms() + 10000 };
		if (snprintf(url, sizeof(url), "http://%s:%s%s", hosts[i], port, path) >= (int)sizeof(url)) {
			msg("endpoint too long");
			return -1;
		}
		if (!http_client_send(&rq, reply, err, sizeof(err)))
			return 0;
	}
	msg("GET localhost:%s%s: %s", port, path, err);
	return -1;
}

int tang_show_keys_main(int argc, char **argv)
{
	const char *port = argc > 1 ? argv[1] : "80";
	AUTO_FREE char *path = NULL;
	struct http_reply reply;

	util_prog = "tang-show-keys";
	if (argc > 3 || (argc > 1 && (!strcmp(argv[1], "-h") || strspn(port, "0123456789") != strlen(port)))) {
		fputs("usage: tang-show-keys [PORT] [ENDPOINT]\n", argc > 1 && !strcmp(argv[1], "-h") ? stdout : stderr);
		return argc > 1 && !strcmp(argv[1], "-h") ? 0 : 1;
	}
	if (!(path = adv_path(argc > 2 ? argv[2] : NULL)))
		return 1;
	if (get_local(port, path, &reply))
		return 1;
	if (reply.status != 200) {
		msg("GET localhost:%s%s: HTTP status %d", port, path, reply.status);
		http_reply_free(&reply);
		return 1;
	}
	AUTO_JSON keys = verified_signing_keys((const char *)reply.body.p, reply.body.len);
	http_reply_free(&reply);
	if (!keys) {
		msg("localhost:%s%s: not a valid advertisement", port, path);
		return 1;
	}
	return print_thumbprints(keys);
}
