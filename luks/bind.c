/* bind.c - the bind / unbind transactions (see bind.h). */
#include "bind.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "luksmeta.h"
#include "token.h"

static char rescue_path[256];

const char *bind_rescue_path(void)
{
	return rescue_path;
}

/* LUKS1: the LUKSMeta slot next to keyslot slot holds data that is not a
 * stale clevis binding (clevis#70: those are wiped and reused). */
static bool luksmeta_slot_foreign(struct luks_dev *d, int slot)
{
	struct luksmeta lm;

	if (luks_version(d) != 1 || luksmeta_read(d, &lm) < 0)
		return false;
	return !luksmeta_uuid_empty(lm.slot[slot].uuid) &&
	       memcmp(lm.slot[slot].uuid, LUKSMETA_CLEVIS_UUID, 16) != 0;
}

static bool slot_free(struct luks_dev *d, int slot)
{
	return !luks_slot_used(d, slot) && !luksmeta_slot_foreign(d, slot);
}

int bind_pick_slot(struct luks_dev *d, int slot)
{
	if (slot >= luks_slot_count(d))
		return -ERANGE;
	if (slot >= 0)
		return slot_free(d, slot) ? slot : -EBUSY;
	for (int i = 0; i < luks_slot_count(d); i++)
		if (slot_free(d, i))
			return i;
	return -ENOSPC;
}

int bind_read_jwe(struct luks_dev *d, int slot, char **jwe)
{
	AUTO_BUF data = { 0 };
	int r;

	*jwe = NULL;
	if (slot < 0 || slot >= luks_slot_count(d) || !luks_slot_opens(d, slot))
		return -ENOENT;
	if (luks_version(d) == 2)
		return token_find(d, slot, NULL, jwe);
	r = luksmeta_load(d, slot, LUKSMETA_CLEVIS_UUID, &data);
	if (r == -ENODATA || r == -EKEYREJECTED)
		return -ENOENT;
	if (r < 0)
		return r;
	if (memchr(data.p, 0, data.len))
		return -EINVAL;
	*jwe = strndup((const char *)data.p, data.len);
	return *jwe ? 0 : -ENOMEM;
}

/* LUKS1: a LUKSMeta header must exist before a slot can be saved; a stale
 * clevis entry for the slot goes (clevis#70). LUKS2: orphan tokens go. */
static int prepare_metadata(struct luks_dev *d, int slot, const char **err)
{
	struct luksmeta lm;
	int r;

	if (luks_version(d) == 2) {
		r = token_remove_orphans(d);
		*err = "cannot remove orphan clevis tokens";
		return r < 0 ? r : 0;
	}
	r = luksmeta_read(d, &lm);
	if (r == -ENOENT) {
		*err = "cannot initialise the LUKSMeta header";
		return luksmeta_init(d);
	}
	if (r < 0) {
		*err = "the LUKSMeta header is damaged";
		return r;
	}
	if (luksmeta_uuid_empty(lm.slot[slot].uuid))
		return 0;
	*err = "cannot wipe the old LUKSMeta slot";
	return luksmeta_wipe(d, slot, LUKSMETA_CLEVIS_UUID);
}

/* Overwrite mode: in place when the old passphrase opens this very slot,
 * else the slot is destroyed and made again from the passphrase that does. */
static int replace_keyslot(struct luks_dev *d, const struct bind_request *req, int slot, const char *hash)
{
	int id, r;

	if (luks_version(d) == 2 && token_find(d, slot, &id, NULL) == 0 && (r = token_remove(d, id)) < 0)
		return r;
	if (luks_check_passphrase(d, slot, req->old_pass->p, req->old_pass->len) == slot)
		return luks_change_keyslot(d, slot, req->old_pass->p, req->old_pass->len, req->new_pass->p,
					   req->new_pass->len, hash);
	if ((r = luks_kill_slot(d, slot)) < 0)
		return r;
	return luks_add_keyslot(d, slot, req->old_pass->p, req->old_pass->len, req->new_pass->p,
				req->new_pass->len, hash);
}

static int store_jwe(struct luks_dev *d, const struct bind_request *req, int slot)
{
	if (luks_version(d) == 2)
		return token_save(d, req->token_id, slot, req->jwe);
	return luksmeta_save(d, slot, LUKSMETA_CLEVIS_UUID, req->jwe, strlen(req->jwe));
}

/* Reads everything back from disk: the JWE is the one written and the new
 * passphrase opens the slot. */
static int verify_binding(struct luks_dev *d, const struct bind_request *req, int slot)
{
	AUTO_FREE char *jwe = NULL;
	int r = luks_reload(d);

	if (r < 0 || (r = bind_read_jwe(d, slot, &jwe)) < 0)
		return r;
	if (strcmp(jwe, req->jwe))
		return -EIO;
	r = luks_check_passphrase(d, slot, req->new_pass->p, req->new_pass->len);
	return r == slot ? 0 : r < 0 ? r : -EIO;
}

static int bind_steps(struct luks_dev *d, const struct bind_request *req, int slot, const char *hash,
		      const char **err)
{
	int r = prepare_metadata(d, slot, err);

	if (r < 0)
		return r;
	*err = "cannot add the new keyslot";
	r = req->replace ? replace_keyslot(d, req, slot, hash)
			 : luks_add_keyslot(d, slot, req->old_pass->p, req->old_pass->len, req->new_pass->p,
					    req->new_pass->len, hash);
	if (r < 0)
		return r;
	if (r != slot)
		return -EIO;
	*err = luks_version(d) == 2 ? "cannot store the clevis token (LUKS2 metadata full?)"
				    : "cannot store the LUKSMeta slot (LUKSMeta area full?)";
	if ((r = store_jwe(d, req, slot)) < 0)
		return r;
	*err = "the new binding did not read back correctly";
	return verify_binding(d, req, slot);
}

/* Last resort when writing the snapshot back failed: keep it in a file so
 * `cryptsetup luksHeaderRestore`-style recovery (dd) stays possible. */
static void save_rescue(const struct luks_snapshot *s)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(rescue_path, sizeof(rescue_path), "%s/nbde-header-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(rescue_path);
	if (fd < 0 || write(fd, s->bytes.p, s->bytes.len) != (ssize_t)s->bytes.len || fsync(fd)) {
		rescue_path[0] = 0;
	}
	if (fd >= 0)
		close(fd);
}

/* Runs steps inside a snapshot; restores it when they fail. */
static int transaction(struct luks_dev *d, int (*steps)(struct luks_dev *, const void *, int, const char **),
		       const void *arg, int slot, const char **err)
{
	struct luks_snapshot snap;
	int r = luks_snapshot_take(d, &snap);

	if (r < 0) {
		*err = "cannot back up the header";
		return r;
	}
	r = steps(d, arg, slot, err);
	if (r < 0 && luks_snapshot_restore(d, &snap) < 0) {
		save_rescue(&snap);
		*err = rescue_path[0] ? "FAILED, and restoring the old header failed too: "
					"it is saved in the file named next"
				      : "FAILED, and restoring the old header failed too";
	}
	luks_snapshot_free(&snap);
	return r;
}

struct bind_args {
	const struct bind_request *req;
	const char *hash;
};

static int bind_step_fn(struct luks_dev *d, const void *arg, int slot, const char **err)
{
	const struct bind_args *a = arg;
	return bind_steps(d, a->req, slot, a->hash, err);
}

int bind_luks(struct luks_dev *d, const struct bind_request *req, const char **err)
{
	char hash[64];
	struct bind_args a = { req, hash };
	AUTO_FREE char *old_jwe = NULL;
	int slot, r;

	rescue_path[0] = 0;
	if (luks_check_passphrase(d, -1, req->old_pass->p, req->old_pass->len) < 0) {
		*err = "the existing passphrase does not open it";
		return -EPERM;
	}
	if (req->replace)
		slot = bind_read_jwe(d, req->slot, &old_jwe) == 0 ? req->slot : -ENOENT;
	else
		slot = bind_pick_slot(d, req->slot);
	if (slot < 0) {
		*err = slot == -ENOENT  ? "the keyslot is not bound"
		       : slot == -EBUSY ? "the keyslot is in use"
		       : slot == -ERANGE ? "no such keyslot"
					 : "no free keyslot";
		return slot;
	}
	if (luks_version(d) == 2 && req->token_id >= 0 && (r = token_in_use(d, req->token_id))) {
		*err = r > 0 ? "the token id is in use" : "no such token id";
		return r > 0 ? -EEXIST : r;
	}
	if ((r = luks_first_hash(d, hash, sizeof(hash))) < 0) {
		*err = "cannot tell the hash of the first keyslot";
		return r;
	}
	r = transaction(d, bind_step_fn, &a, slot, err);
	return r < 0 ? r : slot;
}

/* ---- replacing only the JWE of a binding (edit) ---- */

struct rebind_args {
	const struct buf *pass;
	const char *jwe;
};

static int rebind_steps(struct luks_dev *d, const void *arg, int slot, const char **err)
{
	const struct rebind_args *a = arg;
	struct bind_request req = { .slot = slot, .new_pass = a->pass, .jwe = a->jwe };
	int id = -1, r;

	if (luks_version(d) == 2) {
		*err = "cannot remove the old clevis token";
		if ((r = token_find(d, slot, &id, NULL)) < 0 || (r = token_remove(d, id)) < 0)
			return r;
		*err = "cannot store the clevis token (LUKS2 metadata full?)";
		if ((r = token_save(d, id, slot, a->jwe)) < 0)
			return r;
	} else {
		*err = "cannot wipe the old LUKSMeta slot";
		if ((r = luksmeta_wipe(d, slot, LUKSMETA_CLEVIS_UUID)) < 0)
			return r;
		*err = "cannot store the LUKSMeta slot (LUKSMeta area full?)";
		if ((r = luksmeta_save(d, slot, LUKSMETA_CLEVIS_UUID, a->jwe, strlen(a->jwe))) < 0)
			return r;
	}
	*err = "the new binding did not read back correctly";
	return verify_binding(d, &req, slot);
}

int rebind_jwe_luks(struct luks_dev *d, int slot, const struct buf *pass, const char *jwe, const char **err)
{
	struct rebind_args a = { pass, jwe };
	AUTO_FREE char *old_jwe = NULL;

	rescue_path[0] = 0;
	if (bind_read_jwe(d, slot, &old_jwe) < 0) {
		*err = "the keyslot is not bound";
		return -ENOENT;
	}
	if (luks_check_passphrase(d, slot, pass->p, pass->len) != slot) {
		*err = "the passphrase does not open the keyslot";
		return -EPERM;
	}
	return transaction(d, rebind_steps, &a, slot, err);
}

static int unbind_steps(struct luks_dev *d, const void *arg, int slot, const char **err)
{
	const int *token_id = arg;
	AUTO_FREE char *jwe = NULL;
	int r;

	*err = "cannot remove the clevis token";
	if (*token_id >= 0 && (r = token_remove(d, *token_id)) < 0)
		return r;
	*err = "cannot destroy the keyslot";
	if (luks_slot_used(d, slot) && (r = luks_kill_slot(d, slot)) < 0)
		return r;
	*err = "cannot wipe the LUKSMeta slot";
	if (luks_version(d) == 1 && (r = luksmeta_wipe(d, slot, LUKSMETA_CLEVIS_UUID)) < 0)
		return r;
	*err = "the binding is still there after removing it";
	if ((r = luks_reload(d)) < 0)
		return r;
	return luks_slot_used(d, slot) || bind_read_jwe(d, slot, &jwe) != -ENOENT ? -EIO : 0;
}

/* LUKS1 keeps the LUKSMeta entry even when its keyslot was killed by hand;
 * unbind then still cleans it up. */
static bool luksmeta_has_clevis(struct luks_dev *d, int slot)
{
	struct luksmeta lm;
	return luksmeta_read(d, &lm) == 0 && !memcmp(lm.slot[slot].uuid, LUKSMETA_CLEVIS_UUID, 16);
}

int unbind_luks(struct luks_dev *d, int slot, const char **err)
{
	int token_id = -1;

	rescue_path[0] = 0;
	if (slot < 0 || slot >= luks_slot_count(d)) {
		*err = "no such keyslot";
		return -ERANGE;
	}
	if (luks_version(d) == 2 ? token_find(d, slot, &token_id, NULL) < 0 : !luksmeta_has_clevis(d, slot)) {
		*err = "the keyslot is not bound";
		return -ENOENT;
	}
	if (luks_slot_opens(d, slot) && luks_slots_opening(d) <= 1) {
		*err = "it is the last keyslot that opens the volume";
		return -EBUSY;
	}
	return transaction(d, unbind_steps, &token_id, slot, err);
}

/* ---- replacing a passphrase by a recovery key ---- */

static int retire_steps(struct luks_dev *d, const void *arg, int unused, const char **err)
{
	const struct retire_request *rq = arg;
	int slot, r;

	*err = "cannot add the recovery key";
	slot = luks_add_keyslot_typed(d, -1, rq->unlock->p, rq->unlock->len, rq->recovery->p, rq->recovery->len,
				      rq->iter_ms, rq->memory_kib, rq->iterations);
	if (slot < 0)
		return slot;
	*err = "the recovery key does not open its new keyslot";
	if ((r = luks_check_passphrase(d, slot, rq->recovery->p, rq->recovery->len)) != slot)
		return r < 0 ? r : -EIO;
	*err = "cannot hand out the recovery key";
	if (rq->emit(rq->emit_ctx))
		return -EIO;
	*err = "cannot remove the old keyslot";
	if ((r = luks_kill_slot(d, rq->old_slot)) < 0)
		return r;
	*err = "the volume does not check out afterwards";
	if ((r = luks_reload(d)) < 0)
		return r;
	if (luks_slot_used(d, rq->old_slot) ||
	    luks_check_passphrase(d, slot, rq->recovery->p, rq->recovery->len) != slot ||
	    luks_check_passphrase(d, rq->bound_slot, rq->bound_pass->p, rq->bound_pass->len) != rq->bound_slot)
		return -EIO;
	return slot;
}

int retire_passphrase_luks(struct luks_dev *d, const struct retire_request *rq, const char **err)
{
	rescue_path[0] = 0;
	if (rq->old_slot == rq->bound_slot) {
		*err = "the keyslot to remove holds the binding";
		return -EBUSY;
	}
	if (!luks_slot_used(d, rq->old_slot)) {
		*err = "the keyslot to remove is not in use";
		return -ENOENT;
	}
	if (luks_check_passphrase(d, rq->bound_slot, rq->bound_pass->p, rq->bound_pass->len) != rq->bound_slot) {
		*err = "the binding does not open its keyslot";
		return -EPERM;
	}
	return transaction(d, retire_steps, rq, -1, err);
}
