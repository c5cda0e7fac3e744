/* slot_race.h - the first keyslot that opens: every bound keyslot's JWE is
 * decrypted at once, each in its own thread, and the caller tries the
 * recovered passphrases on their keyslots in the order they arrive (unlock,
 * askpass, recovery-key). The caller decides what "opens" means (activate,
 * or only check), so it stops at the first that does:
 *
 *	struct slot_race *r;
 *	struct buf pass = { 0 };
 *	int slot, n = slot_race_start(d, -1, &po, &r);	// n bound slots, 0: none
 *	while (n > 0 && (slot = slot_race_next(r, &pass)) >= 0) {
 *		... try pass on slot; stop when it opens ...
 *		buf_free(&pass);
 *	}
 *	slot_race_release(r);
 *
 * Lifetime: the race is shared by the caller and every decrypt thread, each
 * holding one reference; the last to let go frees it, wiping the
 * passphrases nobody took. A caller that leaves early (one opened, or the
 * deadline passed) cancels the remaining decryptions through pin_cancel
 * and does not wait for them: they end quietly within ~100 ms (or by the
 * deadline) and the last of them frees the race. */
#ifndef NBDE_SLOT_RACE_H
#define NBDE_SLOT_RACE_H

#include "../../crypto/secret.h"

struct luks_dev;
struct pin_opts;
struct slot_race;

/* Starts one decrypt thread per keyslot with a binding (slot_jwe), or for
 * keyslot only_slot alone when it is not -1 (clevis luks unlock -t). po gives
 * the deadline (absolute, clock_mono_ms(); 0 = PIN_DEFAULT_TIMEOUT_MS from
 * now) and quiet; its cancel is ignored (the race has its own). Returns the
 * number of bound keyslots with *out set, 0 with *out NULL when none has a
 * binding, -1 with *out NULL when out of memory. */
int slot_race_start(struct luks_dev *d, int only_slot, const struct pin_opts *po, struct slot_race **out);

/* The next recovered passphrase, in arrival order: returns its keyslot and
 * moves the passphrase into pass (the caller wipes it with buf_free). -1
 * once every decryption has ended without another, or when the deadline
 * plus a little slack for the threads to report has passed. */
int slot_race_next(struct slot_race *r, struct buf *pass);

/* The caller is done: decryptions still running are cancelled and the
 * caller's reference dropped. NULL is fine. */
void slot_race_release(struct slot_race *r);

#endif
