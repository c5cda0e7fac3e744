/* nbde.c - the multi-call dispatcher.
 *
 * usage: nbde APPLET [ARGS...]   or   APPLET [ARGS...] through a symlink
 *
 * A plain table from applet name to its *_main: basename(argv[0]) is tried
 * first, then argv[1]. Only applets that work are in the table. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd/applets.h"
#include "cmd/runtime/runtime.h"
#include "crypto/alloc.h"

#ifndef NBDE_VERSION
#define NBDE_VERSION "0.1"
#endif

struct applet {
	const char *name;
	int (*main)(int argc, char **argv);
	bool secrets;		/* holds keys or passphrases: no core dumps */
	const char *summary;	/* NULL: an alias, not listed separately */
};

#define SECRETS true
#define NO_SECRETS false
static const struct applet applets[] = {
#define APPLET(name, fn, secrets, summary) { name, fn, secrets, summary },
#include "cmd/applets.def"
#undef APPLET
};

static void usage(FILE *f)
{
	fprintf(f, "nbde %s - Network-Bound Disk Encryption (Tang server and Clevis client)\n\n"
		   "usage: nbde APPLET [ARGS...]   (or call a symlink named APPLET)\n"
		   "       nbde --help | --version\n\n"
		   "applets (each answers -h):\n", NBDE_VERSION);
	for (size_t i = 0; i < ARRAY_SIZE(applets); i++)
		if (applets[i].summary)
			fprintf(f, "  %-18s %s\n", applets[i].name, applets[i].summary);
}

static const struct applet *find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(applets); i++)
		if (!strcmp(applets[i].name, name))
			return &applets[i];
	return NULL;
}

/* The one place an applet starts: named as it was called (messages and
 * usage codes follow), hardened first when it holds secrets. */
static int run(const struct applet *a, bool via_symlink, int argc, char **argv)
{
	applet_name_from_call(a->name, via_symlink);
	if (a->secrets && secret_process_harden()) {
		fprintf(stderr, "nbde: %s: cannot keep secrets out of core dumps\n", a->name);
		return 1;
	}
	return a->main(argc, argv);
}

int main(int argc, char **argv)
{
	/* Before anything allocates through Mbed TLS (see crypto/alloc.c). */
	crypto_init();
	/* A peer closing a socket or pipe must give EPIPE, never kill an applet. */
	signal(SIGPIPE, SIG_IGN);
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
	const struct applet *a;

	base = base ? base + 1 : argc > 0 ? argv[0] : "nbde";
	if ((a = find(base)))
		return run(a, true, argc, argv);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("nbde %s\n", NBDE_VERSION);
		return 0;
	}
	if ((a = find(argv[1])))
		return run(a, false, argc - 1, argv + 1);
	fprintf(stderr, "nbde: unknown applet '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
