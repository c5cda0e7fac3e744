/* options.h - the one option engine of the applets: a table that is both
 * what the parser accepts and what -h prints, so each usage text exists
 * once (toybox's lib/args.c and jose's option tables work this way).
 *
 *	static const struct applet_help help = {
 *		.usage = "-d DEV [-s SLOT] PIN CFG",
 *		.about = "Binds a LUKS volume to a pin.",
 *		.opts = (const struct option_spec[]){
 *			{ 'd', NULL, "DEV", "the LUKS device or image file" },
 *			{ 0 } },
 *	};
 *	while ((c = options_next(argc, argv, &help)) != OPTIONS_END)
 *		switch (c) { case OPTIONS_HELP: return 0;
 *			     case OPTIONS_ERROR: return exit_usage(); ... }
 *
 * -h and --help are answered by the engine (help on stdout). */
#ifndef NBDE_OPTIONS_H
#define NBDE_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>	/* optarg, optind */

/* Keys of long-only options: above every char. */
#define OPTION_LONG(n) (0x100 + (n))

struct option_spec {
	int key;		/* the short letter, or OPTION_LONG(n) */
	const char *name;	/* long name without "--", or NULL */
	const char *arg;	/* the argument's name in the help; NULL: a flag */
	const char *help;	/* "\n" starts a continuation line; NULL: accepted
				 * for compatibility but not listed */
};

struct applet_help {
	const char *usage;	/* the synopsis after the program name; lines
				 * after the first are printed as they are */
	const char *about;	/* what the applet does, one paragraph */
	const struct option_spec *opts;	/* ends with a zero key */
	const char *epilogue;	/* after the options: exit statuses, notes */
	bool in_order;		/* stop at the first operand (clevis's scripts
				 * pass arguments after PIN CFG through) */
};

enum {
	OPTIONS_END = -1,	/* no more options: operands start at optind */
	OPTIONS_HELP = -2,	/* -h/--help answered on stdout: exit 0 */
	OPTIONS_ERROR = -3,	/* unknown option or missing argument, said on
				 * stderr with the synopsis: exit_usage() */
};

/* The next option's key (optarg set for options with an argument), or an
 * OPTIONS_* value. The first call for an argv restarts getopt. */
int options_next(int argc, char **argv, const struct applet_help *h);

/* The whole help: usage line, about, options, epilogue. */
void help_print(FILE *f, const struct applet_help *h);

/* "PROG: message" then the synopsis on stderr; returns exit_usage(). */
int usage_error(const struct applet_help *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
