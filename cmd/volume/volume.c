/* volume.c - helpers of the LUKS applets (see luks_util.h). */
#include "volume.h"
#include "../runtime/runtime.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../crypto/b64url.h"
#include "../../crypto/rand.h"
#include "../../luks/bind.h"
#include "../../luks/device.h"

#define LINE_MAX_LEN 8192

struct luks_dev *open_device(const char *path)
{
	struct luks_dev *d = NULL;
	const char *err = NULL;

	if (luks_open(path, &d, &err) < 0) {
		msg("%s: %s", path, err ? err : "cannot open");
		return NULL;
	}
	return d;
}

int parse_slot(const char *s)
{
	char *end;
	long v;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	return errno || *end || v > 31 ? -1 : (int)v;
}

bool parse_slot_arg(const char *arg, const char *what, int *out)
{
	if ((*out = parse_slot(arg)) >= 0)
		return true;
	msg("invalid %s '%s'", what, arg);
	return false;
}

int luks_parse_opts(int argc, char **argv, const struct applet_help *h, bool need_slot, struct luks_opts *o)
{
	int c;

	*o = (struct luks_opts){ .slot = -1 };
	while ((c = options_next(argc, argv, h)) != OPTIONS_END) {
		switch (c) {
		case OPTIONS_HELP: return 0;
		case OPTIONS_ERROR: return exit_usage();
		case 'd': o->dev = optarg; break;
		case 'k': o->keyfile = optarg; break;
		case 's': if (!parse_slot_arg(optarg, "keyslot", &o->slot)) return exit_usage(); break;
		default: o->flags |= LUKS_FLAG(c); break;	/* the table holds only letters */
		}
	}
	if (!o->dev)
		return usage_error(h, "-d DEV is required");
	if (need_slot && o->slot < 0)
		return usage_error(h, "-s SLOT is required");
	if (optind != argc)
		return usage_error(h, "unexpected argument '%s'", argv[optind]);
	return -1;
}

static int read_key_file(const char *path, struct buf *out)
{
	if (read_file(path, KEYFILE_MAX, out)) {
		msg("%s: cannot read the key file: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int read_existing_key(const char *keyfile, struct buf *out)
{
	if (!keyfile && getenv("KEY") && *getenv("KEY"))
		keyfile = getenv("KEY");
	if (keyfile && strcmp(keyfile, "-"))
		return read_key_file(keyfile, out);
	if (keyfile || !isatty(0)) {
		if (read_line(0, LINE_MAX_LEN, out)) {
			msg("cannot read the existing passphrase from stdin");
			return -1;
		}
		return 0;
	}
	if (tty_read_line("Enter existing LUKS password: ", true, out)) {
		msg("no terminal to ask for the existing passphrase (use -k FILE or -k -)");
		return -1;
	}
	return 0;
}

int new_passphrase(struct buf *out)
{
	AUTO_BUF raw = { 0 };
	char *s;

	out->p = NULL;
	out->len = 0;
	if (buf_alloc(&raw, 40) || rand_bytes(raw.p, raw.len) || !(s = b64url_encode(raw.p, raw.len))) {
		msg("cannot make a new passphrase");
		return -1;
	}
	out->p = (unsigned char *)s;
	out->len = strlen(s);
	return 0;
}

char *slot_jwe(struct luks_dev *d, int slot)
{
	char *jwe = NULL;
	return bind_read_jwe(d, slot, &jwe) == 0 ? jwe : NULL;
}
