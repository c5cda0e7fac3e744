/* recovery_key.c - the recovery-key applet: retire an image's well-known
 * passphrase once a clevis binding opens the volume.
 *
 * A base image ships with one LUKS passphrase that everybody who has the
 * image knows; after a binding is made it is the weakest way in. This
 * replaces it, in one transaction (luks/bind.h), by a random recovery key in
 * systemd-cryptenroll's format (32 random bytes as modhex, 8 groups of 8
 * characters joined by '-'), which a person keeps for the day the network
 * unlock cannot work. The key gets the volume's normal key derivation
 * because people type it; the binding's own keyslot is left alone. */
#include "applets.h"
#include "volume/slot_race.h"
#include "volume/volume.h"
#include "pin/pin.h"
#include "runtime/options.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../crypto/rand.h"
#include "../luks/bind.h"
#include "../luks/device.h"

/* systemd-cryptenroll's recovery key: 256 bits */
#define RECOVERY_KEY_BYTES 32
/* modhex: hex digits as keys that sit in the same place on most layouts */
static const char modhex[16] = "cbdefghijklnrtuv";

struct rk_opts {
	const char *dev, *keyfile, *out;
	int slot, iter_ms, memory_kib, iterations;
	bool dry_run;
};

enum { OPT_ITER_TIME = OPTION_LONG(0), OPT_PBKDF_MEMORY, OPT_PBKDF_ITERATIONS, OPT_DRY_RUN };

static const struct applet_help help = {
	.usage = "-d DEV [-k KEYFILE|-] [-s SLOT] [-o FILE] [--iter-time MS]\n"
		 "                         [--pbkdf-memory KIB] [--pbkdf-force-iterations N] [--dry-run]",
	.about = "Replaces a LUKS passphrase (the image's well-known one) by a random recovery key,\n"
		 "once a clevis binding is proven to open the volume. The key is printed alone on\n"
		 "one line (or written to a new file, mode 0400) before the old keyslot goes.",
	.opts = (const struct option_spec[]){
		{ 'd', NULL, "DEV", "the LUKS1/LUKS2 device or image file" },
		{ 'k', NULL, "KEYFILE", "the passphrase to retire from a file; -k - reads one line of stdin\n"
					"(default: the file in $KEY, else a prompt without echo)" },
		{ 's', NULL, "SLOT", "retire this keyslot instead (no passphrase needed: the binding's\n"
				     "passphrase adds the recovery key)" },
		{ 'o', NULL, "FILE", "write the key to FILE (created 0400; never overwritten)" },
		{ OPT_ITER_TIME, "iter-time", "MS", "key derivation work for the recovery key (default: cryptsetup's, 2000)" },
		{ OPT_PBKDF_MEMORY, "pbkdf-memory", "KIB", "argon2 memory at most (LUKS2; default: cryptsetup's, 1048576)" },
		{ OPT_PBKDF_ITERATIONS, "pbkdf-force-iterations", "N", "fixed iterations instead of --iter-time, as cryptsetup's" },
		{ OPT_DRY_RUN, "dry-run", NULL, "say what would be done, change nothing" },
		{ 0 } },
	.epilogue = "Exit status: 0 done, 1 failed (the volume is as before), 2 usage.",
	.in_order = true,
};

/* A number option into *out; false after a message. */
static bool parse_int_option(const char *s, long min, long max, const char *what, int *out)
{
	long n;

	if (!parse_number(s, min, max, what, &n))
		return false;
	*out = (int)n;
	return true;
}

/* -1 to go on, else the exit status (0 after -h). */
static int parse(int argc, char **argv, struct rk_opts *o)
{
	bool ok = true;
	int c;

	while (ok && (c = options_next(argc, argv, &help)) != OPTIONS_END) {
		switch (c) {
		case OPTIONS_HELP: return 0;
		case OPTIONS_ERROR: return exit_usage();
		case 'd': o->dev = optarg; break;
		case 'k': o->keyfile = optarg; break;
		case 'o': o->out = optarg; break;
		case OPT_DRY_RUN: o->dry_run = true; break;
		case 's': ok = parse_slot_arg(optarg, "keyslot", &o->slot); break;
		case OPT_ITER_TIME: ok = parse_int_option(optarg, 1, 60000, "--iter-time", &o->iter_ms); break;
		case OPT_PBKDF_ITERATIONS:
			ok = parse_int_option(optarg, 4, 1 << 30, "--pbkdf-force-iterations", &o->iterations);
			break;
		case OPT_PBKDF_MEMORY: ok = parse_int_option(optarg, 32, 4194304, "--pbkdf-memory", &o->memory_kib); break;
		}
	}
	if (!ok)
		return exit_usage();
	if (!o->dev)
		return usage_error(&help, "-d DEV is required");
	if (optind != argc)
		return usage_error(&help, "unexpected argument '%s'", argv[optind]);
	if (o->slot >= 0 && o->keyfile)
		return usage_error(&help, "-s and -k exclude each other (with -s the binding adds the key)");
	return -1;
}

/* A keyslot whose binding decrypts to a passphrase that opens it (every
 * binding decrypted at once, the first that opens wins), with that
 * passphrase in pass; -1 when none does. */
static int find_working_binding(struct luks_dev *d, struct buf *pass)
{
	struct pin_opts po = { .quiet = true };
	struct slot_race *r;
	int slot;

	if (slot_race_start(d, -1, &po, &r) <= 0)
		return -1;
	while ((slot = slot_race_next(r, pass)) >= 0 && luks_check_passphrase(d, slot, pass->p, pass->len) != slot)
		buf_free(pass);
	slot_race_release(r);
	return slot;
}

/* 8 groups of 8 modhex characters, '-' between them. */
static int make_recovery_key(struct buf *key)
{
	AUTO_BUF raw = { 0 };
	size_t j = 0;

	if (buf_alloc(&raw, RECOVERY_KEY_BYTES) || rand_bytes(raw.p, raw.len) ||
	    buf_alloc(key, RECOVERY_KEY_BYTES * 2 + RECOVERY_KEY_BYTES / 4 - 1))
		return -1;
	for (size_t i = 0; i < RECOVERY_KEY_BYTES; i++) {
		if (i && i % 4 == 0)
			key->p[j++] = '-';
		key->p[j++] = (unsigned char)modhex[raw.p[i] >> 4];
		key->p[j++] = (unsigned char)modhex[raw.p[i] & 15];
	}
	return 0;
}

struct emit_ctx {
	const struct rk_opts *o;
	const struct buf *key;
	bool emitted, created;
};

/* The key and a newline to stdout or to a new file (0400, never an
 * existing one, never through a symlink), flushed to where it goes. */
static int emit_key(void *arg)
{
	struct emit_ctx *e = arg;
	int fd = STDOUT_FILENO, r;

	if (e->o->out) {
		fd = open(e->o->out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
		if (fd < 0) {
			msg("%s: %s", e->o->out, strerror(errno));
			return -1;
		}
		e->created = true;
	}
	r = write_all(fd, e->key->p, e->key->len) || write_all(fd, "\n", 1) ||
	    (e->o->out && fsync(fd)) ? -1 : 0;
	if (r)
		msg("cannot write the recovery key: %s", strerror(errno));
	if (e->o->out && close(fd) && !r) {
		msg("cannot write the recovery key: %s", strerror(errno));
		r = -1;
	}
	e->emitted = !r;
	return r;
}

static int dry_run(struct luks_dev *d, const struct rk_opts *o, int old_slot, int bound_slot)
{
	printf("%s: would add a recovery key (%s, %d ms of key derivation) in a free keyslot,\n"
	       "print it%s%s, then remove keyslot %d; the binding in keyslot %d stays\n",
	       o->dev, luks_version(d) == 2 ? "argon2id" : "pbkdf2", o->iter_ms ? o->iter_ms : 2000,
	       o->out ? " to " : "", o->out ? o->out : "", old_slot, bound_slot);
	return 0;
}

static int retire(struct luks_dev *d, const struct rk_opts *o)
{
	AUTO_BUF bound = { 0 };
	AUTO_BUF old = { 0 };
	AUTO_BUF key = { 0 };
	struct emit_ctx e = { .o = o, .key = &key };
	struct retire_request rq = { .recovery = &key, .iter_ms = o->iter_ms, .memory_kib = o->memory_kib,
				     .iterations = o->iterations,
				     .bound_pass = &bound,
				     .emit = emit_key, .emit_ctx = &e };
	const char *err = NULL;

	if ((rq.bound_slot = find_working_binding(d, &bound)) < 0) {
		msg("%s: no clevis binding opens it: refusing to remove a passphrase", o->dev);
		return 1;
	}
	if (o->slot >= 0) {
		rq.old_slot = o->slot;
		rq.unlock = &bound;
	} else {
		if (read_existing_key(o->keyfile, &old))
			return 1;
		if ((rq.old_slot = luks_check_passphrase(d, -1, old.p, old.len)) < 0) {
			msg("%s: the passphrase to retire does not open it", o->dev);
			return 1;
		}
		rq.unlock = &old;
	}
	if (o->dry_run)
		return dry_run(d, o, rq.old_slot, rq.bound_slot);
	if (make_recovery_key(&key)) {
		msg("cannot make a recovery key");
		return 1;
	}
	if (retire_passphrase_luks(d, &rq, &err) < 0) {
		msg("%s: cannot replace keyslot %d: %s%s%s", o->dev, rq.old_slot, err,
		    *bind_rescue_path() ? " " : "", bind_rescue_path());
		if (e.created)
			unlink(o->out);
		if (e.emitted)
			msg("the recovery key written above was NOT added: discard it");
		return 1;
	}
	return 0;
}

int recovery_key_main(int argc, char **argv)
{
	struct rk_opts o = { .slot = -1 };
	AUTO_LUKS d = NULL;
	int r;

	if ((r = parse(argc, argv, &o)) >= 0)
		return r;
	if (!(d = open_device(o.dev)))
		return 1;
	return retire(d, &o);
}
