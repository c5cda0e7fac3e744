/* bind.h - all-or-nothing changes of a clevis binding on a LUKS volume.
 *
 * Each change snapshots the whole header area (LUKS headers, keyslot
 * material and, on LUKS1, the LUKSMeta gap), makes its steps, reloads the
 * header and verifies the result; on any failure the snapshot is written
 * back and checked byte for byte, so the volume is exactly as before. */
#ifndef NBDE_LUKS_BIND_H
#define NBDE_LUKS_BIND_H

#include <stddef.h>
#include "../crypto/secret.h"

struct luks_dev;

struct bind_request {
	int slot;			/* keyslot; -1: the first free one */
	int token_id;			/* LUKS2 token id; -1: the first free one */
	const struct buf *old_pass;	/* opens the volume now */
	const struct buf *new_pass;	/* goes into the new keyslot */
	const char *jwe;		/* compact JWE holding new_pass */
	/* Overwrite mode (regen): slot holds a binding already and is
	 * replaced by the new keyslot and JWE in the same transaction. */
	int replace;
};

/* The keyslot a bind with requested slot (-1: any) would use, checked
 * before anything is written: -EBUSY (slot in use or its LUKSMeta slot held
 * by something else), -ENOSPC (no free slot), -ERANGE (no such slot). */
int bind_pick_slot(struct luks_dev *d, int slot);

/* Runs the bind transaction. Returns the keyslot, or -errno with a
 * one-line reason in *err (the header then is as before, or *err says
 * where the backup of the old header was saved). */
int bind_luks(struct luks_dev *d, const struct bind_request *req, const char **err);

/* The compact JWE bound to keyslot slot (LUKS2 token or LUKSMeta slot with
 * clevis's UUID), only while that keyslot can open the volume. -ENOENT when
 * the slot is not bound. */
int bind_read_jwe(struct luks_dev *d, int slot, char **jwe);

/* Replaces the JWE bound to slot by jwe, which holds the passphrase pass
 * that opens slot now (clevis luks edit): the keyslot stays as it is, the
 * LUKS2 token keeps its id, the LUKS1 LUKSMeta slot is rewritten. One
 * transaction; -ENOENT when slot is not bound, -EPERM when pass does not
 * open it. */
int rebind_jwe_luks(struct luks_dev *d, int slot, const struct buf *pass, const char *jwe, const char **err);

/* Removes the binding of slot: its keyslot and its token / LUKSMeta slot,
 * refusing (-EBUSY) when that keyslot is the last that opens the volume. */
int unbind_luks(struct luks_dev *d, int slot, const char **err);

/* Replacing a passphrase by a recovery key (nbde recovery-key). */
struct retire_request {
	int old_slot;			/* the keyslot to remove */
	const struct buf *unlock;	/* opens the volume now */
	const struct buf *recovery;	/* goes into a new keyslot (typed KDF) */
	int iter_ms;			/* its key derivation work; 0: cryptsetup's default */
	int memory_kib;			/* argon2's memory at most; 0: cryptsetup's default */
	int iterations;			/* > 0: fixed KDF iterations, no benchmark */
	int bound_slot;			/* the binding that must still open afterwards */
	const struct buf *bound_pass;
	/* Hands the key out once it opens its keyslot and before the old one
	 * goes, so a crash leaves either the old passphrase or the key with
	 * the person. Non-zero fails the transaction. */
	int (*emit)(void *ctx);
	void *emit_ctx;
};

/* In one transaction: adds the recovery key, checks it opens, emits it,
 * destroys old_slot, reloads and checks that the key and the binding open
 * and old_slot is gone. Returns the new keyslot, or -errno with *err (the
 * header then is as before, or *err says where the old one was saved). */
int retire_passphrase_luks(struct luks_dev *d, const struct retire_request *rq, const char **err);

/* Where the old header was saved when a restore failed ("" otherwise). */
const char *bind_rescue_path(void);

#endif
