/* tangd_keygen.c - applet tangd-keygen, with tang's name and contract (the
 * shell script tang ships under it).
 * Key files are created 0440 and never overwrite an existing file. */
/* asprintf needs _GNU_SOURCE, which the Makefile defines. */
#include "applets.h"
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

static const struct applet_help help = {
	.usage = "JWKDIR [SIG EXC]",
	.about = "Creates a new ES512 signing and ECMR exchange key (P-521) in JWKDIR, named\n"
		 "SIG.jwk and EXC.jwk or by their S256 thumbprints; mode 0440; an existing\n"
		 "file is never overwritten (an error instead).",
};

int tangd_keygen_main(int argc, char **argv)
{
	int dfd, r, c;

	while ((c = options_next(argc, argv, &help)) != OPTIONS_END)
		return c == OPTIONS_HELP ? 0 : exit_usage();
	argc -= optind - 1;
	argv += optind - 1;
	if (argc != 2 && argc != 4)
		return usage_error(&help, "JWKDIR, or JWKDIR SIG EXC, are the arguments");
	if (!is_directory(argv[1]))
		return usage_error(&help, "not a directory: %s", argv[1]);
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
