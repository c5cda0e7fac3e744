/* device.h - a LUKS1 or LUKS2 volume opened through libcryptsetup: its
 * type, keyslots, passphrase checks, keyslot changes, activation, and raw
 * snapshots of the whole header area for all-or-nothing changes.
 *
 * Only luks/ includes libcryptsetup; everything above sees struct luks_dev.
 * Nothing here needs device-mapper except luks_activate() with a name. */
#ifndef NBDE_LUKS_DEVICE_H
#define NBDE_LUKS_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../crypto/secret.h"

struct luks_dev;
struct crypt_device;

/* Opens path and loads its LUKS header. On failure returns -errno and, when
 * err is not NULL, a static reason ("not a LUKS volume", ...). */
int luks_open(const char *path, struct luks_dev **out, const char **err);
void luks_close(struct luks_dev *d);
void cleanup_luks_dev(struct luks_dev **d);
#define AUTO_LUKS __attribute__((cleanup(cleanup_luks_dev))) struct luks_dev *

/* Drops libcryptsetup's cached header and loads it from disk again. */
int luks_reload(struct luks_dev *d);

/* For the other luks/ files only. */
struct crypt_device *luks_cd(struct luks_dev *d);

const char *luks_path(const struct luks_dev *d);
/* 1 or 2. */
int luks_version(const struct luks_dev *d);
const char *luks_uuid(struct luks_dev *d);
/* The last error libcryptsetup logged, or "" (never a secret: it only
 * logs messages about the header and keyslots). */
const char *luks_last_error(const struct luks_dev *d);

/* Number of keyslots: 8 (LUKS1) or 32 (LUKS2). */
int luks_slot_count(const struct luks_dev *d);
/* The keyslot holds a key that can open the volume (active and, on LUKS2,
 * bound to the data segment). */
bool luks_slot_opens(struct luks_dev *d, int slot);
/* The keyslot is in use at all (active, or an unbound LUKS2 key). */
bool luks_slot_used(struct luks_dev *d, int slot);
/* Keyslots that can open the volume. */
int luks_slots_opening(struct luks_dev *d);

/* The PBKDF2 hash to give a new keyslot: that of the first keyslot using
 * PBKDF2 (LUKS1: the header's hash spec), else "sha256". */
int luks_first_hash(struct luks_dev *d, char *out, size_t outlen);

/* Checks a passphrase without activating anything. slot -1 tries all.
 * Returns the keyslot it opened, or -errno (-EPERM: wrong passphrase). */
int luks_check_passphrase(struct luks_dev *d, int slot, const void *pass, size_t len);

/* Adds new_pass in keyslot slot (-1: first free) with PBKDF2 of hash, 1000
 * iterations, unlocking the volume key with old_pass. Returns the slot or
 * -errno. */
int luks_add_keyslot(struct luks_dev *d, int slot, const void *old_pass, size_t old_len,
		     const void *new_pass, size_t new_len, const char *hash);
/* The same for a key people type: the key derivation cryptsetup gives a new
 * keyslot of this LUKS version (argon2id on LUKS2, PBKDF2 on LUKS1), with
 * iter_ms milliseconds of work (0: cryptsetup's default, 2 s) and at most
 * memory_kib of memory for argon2 (0: cryptsetup's default, 1 GiB); with
 * iterations > 0 those costs are fixed instead of benchmarked. */
int luks_add_keyslot_typed(struct luks_dev *d, int slot, const void *old_pass, size_t old_len,
			   const void *new_pass, size_t new_len, int iter_ms, int memory_kib, int iterations);
/* Replaces the passphrase of keyslot slot in place (same PBKDF choice);
 * old_pass must open that very slot. Returns the slot or -errno. */
int luks_change_keyslot(struct luks_dev *d, int slot, const void *old_pass, size_t old_len,
			const void *new_pass, size_t new_len, const char *hash);
/* Destroys a keyslot (the caller checked it is not the last able to open). */
int luks_kill_slot(struct luks_dev *d, int slot);

/* Activates as name with the passphrase of slot (-1: any) and the
 * CRYPT_ACTIVATE_* flags. name NULL only checks. Returns the slot or -errno. */
int luks_activate(struct luks_dev *d, const char *name, int slot, const void *pass, size_t len,
		  uint32_t flags);
/* The activation flag for a cryptsetup open option (--readonly, ...), 0 if
 * it is not one nbde supports. */
uint32_t luks_activate_flag(const char *option);
/* The same for a word of crypttab's options field (discard, readonly, ...). */
uint32_t luks_crypttab_flag(const char *word);

/* Everything from byte 0 to the start of the data: binary header(s), JSON
 * metadata, keyslot areas and, on LUKS1, the LUKSMeta area. */
struct luks_snapshot {
	char *path;
	struct buf bytes;
};

int luks_snapshot_take(struct luks_dev *d, struct luks_snapshot *s);
/* Writes the snapshot back (fsync'd), reloads d and checks the bytes on
 * disk equal the snapshot. 0 or -errno. */
int luks_snapshot_restore(struct luks_dev *d, const struct luks_snapshot *s);
/* 1 when the header area on disk equals the snapshot, 0 when it differs. */
int luks_snapshot_unchanged(const struct luks_snapshot *s);
void luks_snapshot_free(struct luks_snapshot *s);

/* Reads / writes len bytes of the device at offset (the LUKSMeta area). */
int luks_pread(const struct luks_dev *d, void *buf, size_t len, uint64_t off);
int luks_pwrite(const struct luks_dev *d, const void *buf, size_t len, uint64_t off);

#endif
