/* tangd_rotate_keys.c - applet tangd-rotate-keys, with tang's name and
 * contract (the shell script tang ships under it).
 *
 * A new pair, then every active key hidden: renamed to .NAME.jwk, or
 * .NAME.1.jwk, .NAME.2.jwk, ... when that exists (never over an older
 * hidden key: clients bound to it still need it). */
/* asprintf needs _GNU_SOURCE, which the Makefile defines. */
#include "applets.h"
#include "tang/keyfile.h"
#include "tang/keydir.h"
#include "runtime/options.h"
#include "runtime/runtime.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


/* Hidden names tried for one key before giving up: .NAME.jwk, .NAME.1.jwk, ... */
#define HIDE_TRIES 1000

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

	if (lock < 0 || tang_keydir_list(lock, &old, &n)) {
		msg("cannot read key directory %s: %s", dir, strerror(errno));
	} else if (!create_pair(lock, dir, verbose)) {
		r = 0;
		for (size_t i = 0; i < n; i++)
			if (old[i][0] != '.')	/* active keys only */
				r |= hide_key(lock, dir, old[i], verbose);
		if (!r)
			fsync(lock);	/* the renames reach the disk */
	}
	tang_keydir_list_free(old, n);
	tang_keydir_unlock(lock);
	return r;
}

static const struct applet_help help = {
	.usage = "[-v] -d JWKDIR",
	.about = "Creates a new signing and exchange key pair in JWKDIR, then hides the old\n"
		 "keys (renamed to .NAME.jwk): servers stop advertising them but still\n"
		 "recover with them, so existing bindings keep working.",
	.opts = (const struct option_spec[]){
		{ 'd', NULL, "JWKDIR", "the key directory" },
		{ 'v', NULL, NULL, "say which keys were created and hidden" },
		{ 0 } },
};

int tangd_rotate_keys_main(int argc, char **argv)
{
	const char *dir = NULL;
	bool verbose = false;
	int c;

	while ((c = options_next(argc, argv, &help)) != OPTIONS_END) {
		switch (c) {
		case OPTIONS_HELP: return 0;
		case OPTIONS_ERROR: return exit_usage();
		case 'v': verbose = true; break;
		case 'd': dir = optarg; break;
		}
	}
	if (!dir)
		return usage_error(&help, "-d JWKDIR is required");
	if (optind != argc)
		return usage_error(&help, "unexpected argument '%s'", argv[optind]);
	if (!is_directory(dir)) {
		msg("not a directory: %s", dir);
		return 1;
	}
	return rotate(dir, verbose) ? 1 : 0;
}
