/* unlock.c - the unlock applet: `clevis luks unlock`, with every binding
 * tried at once under one deadline.
 *
 * usage: nbde unlock -d DEV [-n NAME] [-o OPTS] [--test | -t SLOT] [--timeout SEC]
 *
 * Each bound keyslot's JWE is decrypted in its own thread (pin_decrypt is
 * thread-safe and honours the shared absolute deadline); the main thread
 * tries each recovered passphrase on its keyslot as it arrives, and the
 * first that opens wins. Nothing secret is printed. */
#include "applets.h"
#include "volume/volume.h"
#include "pin/pin.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../luks/device.h"

enum {
	EXIT_UNLOCKED = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_DEVICE = 3,
	EXIT_UNBOUND = 4,
	EXIT_ACTIVATE = 5,
};

#define DEFAULT_TIMEOUT_S 30
/* pin_decrypt ends by the deadline; this only absorbs scheduling jitter. */
#define GRACE_MS 500

struct attempt {
	int slot;
	char *jwe;
	struct buf pt;
	int rc;
	bool done, tried;
	struct race *race;
};

/* Shared with threads that may outlive main's interest in them: it is
 * allocated once and never freed (the process exits soon after). */
struct race {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	long long deadline_ms;
	int n, finished;
	struct attempt a[32];
};

struct unlock_opts {
	const char *dev, *name;
	uint32_t flags;
	bool test;
	int only_slot;		/* -t SLOT (clevis): test that keyslot's binding only; -1: all */
	long timeout_s;
};

static int usage(FILE *f, int rc)
{
	fprintf(f, "usage: nbde unlock -d DEV [-n NAME] [-o OPTS] [--test | -t SLOT] [--timeout SEC]\n\n"
		   "Unlocks a LUKS volume with its clevis bindings, all tried at once.\n"
		   "  -n NAME        device-mapper name (default: luks-<LUKS UUID>)\n"
		   "  -o OPTS        cryptsetup open options: --readonly, --allow-discards,\n"
		   "                 --perf-same_cpu_crypt, --perf-submit_from_crypt_cpus,\n"
		   "                 --perf-no_read_workqueue, --perf-no_write_workqueue\n"
		   "  --test         only check that a binding opens a keyslot; activate nothing\n"
		   "  -t SLOT        --test with keyslot SLOT's binding only (clevis's -t)\n"
		   "  --timeout SEC  overall deadline in seconds (default %d)\n"
		   "Exit status: 0 unlocked (or --test passed), 1 no binding opened the volume\n"
		   "within the deadline, 2 usage, 3 the device cannot be read or is not LUKS,\n"
		   "4 no clevis binding on the device, 5 a binding opened a keyslot but\n"
		   "activating the volume failed.\n",
		DEFAULT_TIMEOUT_S);
	return rc;
}

static int parse_open_options(const char *opts, uint32_t *flags)
{
	char copy[1024], *save = NULL;

	snprintf(copy, sizeof(copy), "%s", opts);
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		uint32_t f = luks_activate_flag(w);
		if (!f) {
			msg("-o: unsupported cryptsetup open option '%s'", w);
			return -1;
		}
		*flags |= f;
	}
	return 0;
}

static int parse(int argc, char **argv, struct unlock_opts *o)
{
	static const struct option longopts[] = {
		{ "test", no_argument, NULL, 'T' },
		{ "timeout", required_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hd:n:o:t:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': usage(stdout, 0); return -1;
		case 'd': o->dev = optarg; break;
		case 'n': o->name = optarg; break;
		case 'T': o->test = true; break;
		case 't':
			if (!parse_slot_arg(optarg, "keyslot", &o->only_slot))
				return EXIT_USAGE;
			o->test = true;
			break;
		case 'o':
			if (parse_open_options(optarg, &o->flags))
				return EXIT_USAGE;
			break;
		case 'W':
			if (!parse_seconds(optarg, "--timeout", &o->timeout_s))
				return EXIT_USAGE;
			break;
		default: return usage(stderr, EXIT_USAGE);
		}
	}
	return !o->dev || optind != argc ? usage(stderr, EXIT_USAGE) : 0;
}

static void *decrypt_one(void *arg)
{
	struct attempt *a = arg;
	struct race *r = a->race;
	struct pin_opts po = { .deadline_ms = r->deadline_ms };
	struct buf pt = { 0 };
	int rc = pin_decrypt(a->jwe, strlen(a->jwe), &pt, &po);

	pthread_mutex_lock(&r->mu);
	a->pt = pt;
	a->rc = rc;
	a->done = true;
	r->finished++;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

static int start_attempts(struct luks_dev *d, struct race *r, int only_slot)
{
	for (int i = 0; i < luks_slot_count(d) && r->n < 32; i++) {
		struct attempt *a = &r->a[r->n];
		pthread_t t;

		if ((only_slot >= 0 && i != only_slot) || !(a->jwe = slot_jwe(d, i)))
			continue;
		a->slot = i;
		a->race = r;
		r->n++;
		if (pthread_create(&t, NULL, decrypt_one, a)) {
			a->done = true;
			a->rc = -1;
			r->finished++;
			continue;
		}
		pthread_detach(t);
	}
	return r->n;
}

/* Tries one recovered passphrase (mutex held by the caller is released
 * meanwhile: libcryptsetup's PBKDF must not block the workers). Returns
 * the slot on success, -EPERM for a wrong passphrase, other -errno when
 * activation itself failed. */
static int try_attempt(struct race *r, struct attempt *a, struct luks_dev *d, const struct unlock_opts *o)
{
	struct buf pt = a->pt;
	int rc;

	a->pt = (struct buf){ 0 };
	a->tried = true;
	pthread_mutex_unlock(&r->mu);
	rc = a->rc ? -EPERM : luks_activate(d, o->test ? NULL : o->name, a->slot, pt.p, pt.len, o->flags);
	buf_free(&pt);
	pthread_mutex_lock(&r->mu);
	return rc;
}

/* Waits for results and tries them in arrival order until one opens. */
static int run_race(struct race *r, struct luks_dev *d, const struct unlock_opts *o)
{
	int result = -ETIMEDOUT, rc;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		for (int i = 0; i < r->n && result == -ETIMEDOUT; i++) {
			struct attempt *a = &r->a[i];
			if (!a->done || a->tried)
				continue;
			rc = try_attempt(r, a, d, o);
			if (rc != -EPERM)	/* opened, or activation itself failed */
				result = rc;
		}
		if (result != -ETIMEDOUT || r->finished == r->n)
			break;
		if (clock_cond_wait_until(&r->cv, &r->mu, r->deadline_ms + GRACE_MS) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&r->mu);
	return result;
}

static int report(const struct unlock_opts *o, int result, int tried)
{
	if (result >= 0)
		return EXIT_UNLOCKED;
	if (result == -ETIMEDOUT && tried)
		msg("%s: no clevis binding opened it within %lds", o->dev, o->timeout_s);
	else if (result == -ETIMEDOUT)
		msg("%s: no clevis binding could be decrypted within %lds", o->dev, o->timeout_s);
	else {
		msg("%s: a binding opened keyslot but activating '%s' failed: %s", o->dev, o->name,
		    strerror(-result));
		return EXIT_ACTIVATE;
	}
	return EXIT_FAILED;
}

int unlock_main(int argc, char **argv)
{
	struct unlock_opts o = { .timeout_s = DEFAULT_TIMEOUT_S, .only_slot = -1 };
	AUTO_LUKS d = NULL;
	char name[128];
	struct race *r;
	int result, tried = 0;

	if (!util_prog || !strcmp(util_prog, "nbde"))
		util_prog = "nbde unlock";
	if ((result = parse(argc, argv, &o)))
		return result < 0 ? 0 : result;
	if (!(d = open_device(o.dev)))
		return EXIT_DEVICE;
	if (!o.name) {
		snprintf(name, sizeof(name), "luks-%s", luks_uuid(d) ? luks_uuid(d) : "");
		o.name = name;
	}
	if (!(r = calloc(1, sizeof(*r))) || pthread_mutex_init(&r->mu, NULL) || clock_cond_init(&r->cv)) {
		msg("out of memory");
		return EXIT_FAILED;
	}
	r->deadline_ms = clock_mono_ms() + o.timeout_s * 1000;
	if (!start_attempts(d, r, o.only_slot)) {
		msg(o.only_slot < 0 ? "%s: no clevis binding on this device" : "%s: keyslot %d has no clevis binding", o.dev, o.only_slot);
		free(r);
		return EXIT_UNBOUND;
	}
	result = run_race(r, d, &o);
	pthread_mutex_lock(&r->mu);
	for (int i = 0; i < r->n; i++) {
		tried += r->a[i].tried && !r->a[i].rc;
		buf_free(&r->a[i].pt);
	}
	bool all_done = r->finished == r->n;
	pthread_mutex_unlock(&r->mu);
	if (all_done) {	/* no thread touches r any more: free it (else it stays, see above) */
		for (int i = 0; i < r->n; i++)
			free(r->a[i].jwe);
		free(r);
	}
	return report(&o, result, tried);
}
