/* slot_race.c - the first keyslot that opens (see slot_race.h). */
#include "slot_race.h"
#include "volume.h"
#include "../pin/pin.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../../luks/device.h"
#include "../../net/clock.h"
#include "../../net/thread.h"

/* pin_decrypt ends by the deadline; this only absorbs scheduling jitter
 * before the caller stops waiting for the last answers. */
#define REPORT_SLACK_MS 500

struct race_entry {
	struct slot_race *race;
	int slot;
	char *jwe;
	struct buf pass;	/* the recovered passphrase until the caller takes it */
	bool done, taken;
	bool deferred;		/* may ask a person: started when the others failed */
};

struct slot_race {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs;		/* the caller's and one per running decrypt thread */
	int n, finished;
	int deferred;		/* entries not started yet (pin_asks_person) */
	long long ask_at;	/* start them by then anyway */
	/* The threads' cancel and options live here, not with the caller,
	 * because the threads may outlive the caller's interest. */
	struct pin_cancel cancel;
	struct pin_opts po;
	char volume[PIN_VOLUME_MAX];	/* po.volume's copy: the caller's may be gone */
	struct race_entry e[];
};

/* Drops one reference; the last one wipes and frees the race. */
static void race_drop(struct slot_race *r)
{
	if (!shared_release(&r->mu, &r->refs))
		return;
	for (int i = 0; i < r->n; i++) {
		free(r->e[i].jwe);
		buf_free(&r->e[i].pass);
	}
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

/* Records how entry e's decryption ended and wakes the caller. */
static void finish(struct race_entry *e, int rc, struct buf *pass)
{
	struct slot_race *r = e->race;

	pthread_mutex_lock(&r->mu);
	if (rc == 0 && pass->p) {
		e->pass = *pass;
		*pass = (struct buf){ 0 };
	}
	e->done = true;
	r->finished++;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static void *decrypt_thread(void *arg)
{
	struct race_entry *e = arg;
	struct slot_race *r = e->race;
	struct buf pass = { 0 };
	int rc = pin_decrypt(e->jwe, strlen(e->jwe), &pass, &r->po);

	finish(e, rc, &pass);
	buf_free(&pass);	/* a failed decryption's leftovers, if any */
	race_drop(r);
	return NULL;
}

/* A detached thread decrypting e, holding its own reference. */
static void start_decrypt(struct slot_race *r, struct race_entry *e)
{
	pthread_mutex_lock(&r->mu);
	r->refs++;
	pthread_mutex_unlock(&r->mu);
	if (!thread_start_detached(decrypt_thread, e, PIN_THREAD_STACK_SIZE)) {
		finish(e, -1, NULL);
		race_drop(r);
	}
}

static struct slot_race *race_new(int slots, const struct pin_opts *po)
{
	struct slot_race *r = calloc(1, sizeof(*r) + (size_t)slots * sizeof(r->e[0]));

	if (!r)
		return NULL;
	if (pthread_mutex_init(&r->mu, NULL)) {
		free(r);
		return NULL;
	}
	if (clock_cond_init(&r->cv)) {
		pthread_mutex_destroy(&r->mu);
		free(r);
		return NULL;
	}
	r->refs = 1;
	r->po = *po;
	r->po.cancel = &r->cancel;
	pin_opts_keep_volume(&r->po, r->volume);
	if (!r->po.deadline_ms)
		r->po.deadline_ms = clock_mono_ms() + PIN_DEFAULT_TIMEOUT_MS;
	return r;
}

int slot_race_start(struct luks_dev *d, int only_slot, const struct pin_opts *po, struct slot_race **out)
{
	int slots = luks_slot_count(d);
	struct slot_race *r = race_new(slots, po);

	*out = NULL;
	if (!r)
		return -1;
	for (int s = 0; s < slots; s++) {
		struct race_entry *e = &r->e[r->n];
		if ((only_slot >= 0 && s != only_slot) || !(e->jwe = slot_jwe(d, s)))
			continue;
		e->race = r;
		e->slot = s;
		r->n++;	/* only the caller reads n until the last reference goes */
		if ((e->deferred = !po->no_person && pin_asks_person(e->jwe, strlen(e->jwe))))
			r->deferred++;
		else
			start_decrypt(r, e);
	}
	r->ask_at = clock_mono_ms() + PIN_ASK_PERSON_DELAY_MS;
	if (r->ask_at > r->po.deadline_ms)
		r->ask_at = r->po.deadline_ms;
	if (!r->n) {
		race_drop(r);
		return 0;
	}
	*out = r;
	return r->n;
}

/* A passphrase that arrived and was not handed out yet; -1 when none. */
static int take_arrived(struct slot_race *r, struct buf *pass)
{
	for (int i = 0; i < r->n; i++) {
		struct race_entry *e = &r->e[i];
		if (!e->done || e->taken)
			continue;
		e->taken = true;
		if (e->pass.p) {
			*pass = e->pass;
			e->pass = (struct buf){ 0 };
			return e->slot;
		}
	}
	return -1;
}

/* Starts the entries that may ask a person (only the caller does). */
static void start_deferred(struct slot_race *r)
{
	pthread_mutex_lock(&r->mu);
	r->deferred = 0;
	pthread_mutex_unlock(&r->mu);
	if (pin_cancelled(&r->cancel))
		return;
	for (int i = 0; i < r->n; i++)
		if (r->e[i].deferred)
			start_decrypt(r, &r->e[i]);
}

int slot_race_next(struct slot_race *r, struct buf *pass)
{
	long long until = r->po.deadline_ms + REPORT_SLACK_MS;
	int slot;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		if ((slot = take_arrived(r, pass)) >= 0)
			break;
		/* the others are all done without a passphrase, or had their time */
		if (r->deferred && (r->finished >= r->n - r->deferred || clock_mono_ms() >= r->ask_at)) {
			pthread_mutex_unlock(&r->mu);
			start_deferred(r);
			pthread_mutex_lock(&r->mu);
			continue;
		}
		if (r->finished >= r->n)
			break;
		long long wake = r->deferred && r->ask_at < until ? r->ask_at : until;
		if (clock_cond_wait_until(&r->cv, &r->mu, wake) == ETIMEDOUT && clock_mono_ms() >= until)
			break;
	}
	if (slot < 0)
		slot = take_arrived(r, pass);	/* one may have come with the timeout */
	pthread_mutex_unlock(&r->mu);
	return slot;
}

void slot_race_release(struct slot_race *r)
{
	if (!r)
		return;
	atomic_store(&r->cancel.stop, true);
	race_drop(r);
}
