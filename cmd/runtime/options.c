/* options.c - getopt_long driven by an applet's option table (options.h). */
#include "options.h"
#include "runtime.h"

#include <getopt.h>
#include <stdarg.h>
#include <string.h>

/* More than any applet has; a longer table is a programming error that
 * options_next() reports instead of overrunning. */
#define OPTIONS_MAX 40
/* The option column of the help: "-r, --request-timeout SECS" fits. */
#define HELP_LEFT_WIDTH 26

struct getopt_tables {
	const struct applet_help *for_help;
	char shorts[2 + 3 * OPTIONS_MAX + 1];
	struct option longs[OPTIONS_MAX + 2];
};

/* getopt's two views of the table; built again only when the table changes. */
static bool getopt_tables_build(const struct applet_help *h, struct getopt_tables *t)
{
	size_t ns = 0, nl = 0, n = 0;

	t->shorts[ns++] = h->in_order ? '+' : ':';
	if (h->in_order)
		t->shorts[ns++] = ':';
	t->shorts[ns++] = 'h';
	t->longs[nl++] = (struct option){ "help", no_argument, NULL, 'h' };
	for (const struct option_spec *o = h->opts; o && o->key; o++, n++) {
		if (n == OPTIONS_MAX)
			return false;
		if (o->key < 0x100) {
			t->shorts[ns++] = (char)o->key;
			if (o->arg)
				t->shorts[ns++] = ':';
		}
		if (o->name)
			t->longs[nl++] = (struct option){ o->name, o->arg ? required_argument : no_argument,
							  NULL, o->key };
	}
	t->shorts[ns] = 0;
	t->longs[nl] = (struct option){ 0 };
	t->for_help = h;
	return true;
}

static const struct option_spec *option_find(const struct applet_help *h, int key)
{
	for (const struct option_spec *o = h->opts; o && o->key; o++)
		if (o->key == key)
			return o;
	return NULL;
}

/* "-d" or "--timeout": how the user wrote the option getopt stopped at. */
static void option_name_print(const struct applet_help *h, int key, const char *written, char *out, size_t len)
{
	const struct option_spec *o = key ? option_find(h, key) : NULL;

	if (o && o->key < 0x100)
		snprintf(out, len, "-%c", o->key);
	else if (o)
		snprintf(out, len, "--%s", o->name);
	else if (key > 0 && key < 0x100)
		snprintf(out, len, "-%c", key);
	else
		snprintf(out, len, "%s", written ? written : "?");
}

int options_next(int argc, char **argv, const struct applet_help *h)
{
	static struct getopt_tables t;
	char name[64];
	int c;

	if (t.for_help != h) {
		if (!getopt_tables_build(h, &t))
			return usage_error(h, "internal error: option table too long"), OPTIONS_ERROR;
		optind = 0;	/* 0, not 1: glibc and musl then reset their state */
	}
	opterr = 0;
	c = getopt_long(argc, argv, t.shorts, t.longs, NULL);
	if (c == -1) {
		t.for_help = NULL;	/* a later parse of another argv starts over */
		return OPTIONS_END;
	}
	if (c != 'h' && c != '?' && c != ':')
		return c;
	t.for_help = NULL;
	if (c == 'h') {
		help_print(stdout, h);
		return OPTIONS_HELP;
	}
	option_name_print(h, optopt, argv[optind - 1], name, sizeof(name));
	usage_error(h, c == ':' ? "option '%s' needs an argument" : "unknown option '%s'", name);
	return OPTIONS_ERROR;
}

/* One option's help: "  -d, --dev DEV   text", continuations aligned. */
static void option_help_print(FILE *f, const struct option_spec *o)
{
	char left[64];
	int n = 0;

	if (o->key < 0x100)
		n = snprintf(left, sizeof(left), "-%c%s", o->key, o->name ? ", " : "");
	else
		n = snprintf(left, sizeof(left), "    ");
	if (o->name)
		n += snprintf(left + n, sizeof(left) - (size_t)n, "--%s", o->name);
	if (o->arg)
		snprintf(left + n, sizeof(left) - (size_t)n, " %s", o->arg);
	if (strlen(left) > HELP_LEFT_WIDTH)
		fprintf(f, "  %s\n%*s", left, HELP_LEFT_WIDTH + 3, "");
	else
		fprintf(f, "  %-*s ", HELP_LEFT_WIDTH, left);
	for (const char *s = o->help; *s; s++) {
		fputc(*s, f);
		if (*s == '\n')
			fprintf(f, "%*s", HELP_LEFT_WIDTH + 3, "");
	}
	fputc('\n', f);
}

static void synopsis_print(FILE *f, const struct applet_help *h)
{
	fprintf(f, "usage: %s %s\n", applet_usage_name(), h->usage);
}

void help_print(FILE *f, const struct applet_help *h)
{
	synopsis_print(f, h);
	if (h->about)
		fprintf(f, "\n%s\n", h->about);
	fputc('\n', f);
	for (const struct option_spec *o = h->opts; o && o->key; o++)
		if (o->help)
			option_help_print(f, o);
	fprintf(f, "  %-*s print this help\n", HELP_LEFT_WIDTH, "-h, --help");
	if (h->epilogue)
		fprintf(f, "\n%s\n", h->epilogue);
}

int usage_error(const struct applet_help *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	synopsis_print(stderr, h);
	return exit_usage();
}
