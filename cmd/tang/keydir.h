/* keydir.h - a Tang key directory, parsed once and cached.
 *
 * The directory holds tang's format: *.jwk files, active ones and hidden
 * (dot-prefixed, rotated) ones. A key set is an immutable, reference-counted
 * snapshot of it: parsed JWKs, validated ec_key handles, all five thumbprints
 * of every key and the signed default advertisement. tang_keydir_get() hands
 * out the current snapshot after a cheap check that the directory did not
 * change (one stat; a directory listing with the identity of every key file
 * and symlink target once a second, and per request within two seconds of a
 * change, because file-system timestamps are coarse), so rotation and keys
 * edited in place are seen without a restart and without re-reading or
 * re-signing per request. Key files are read through symlinks only while
 * they stay inside the directory (keyfile.h). Thread-safe. */
#ifndef NBDE_TANG_KEYDIR_H
#define NBDE_TANG_KEYDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "../../crypto/hash.h"
#include "../../crypto/jwk.h"

struct tang_key {
	char *file;			/* name inside the directory */
	cJSON *jwk;			/* as stored, private part included */
	struct ec_key *ec;
	char *thp[HASH_COUNT];		/* under hash_names[] */
	bool hidden;			/* dot-prefixed: rotated out */
	bool signs;			/* may sign the advertisement (sign+verify, has d) */
	bool advertised;		/* in the default advertisement payload */
	bool exchanges;			/* usable for /rec: strictly deriveKey, has d, alg ECMR or none */
	char *adv;			/* advertisement with this key's extra signature, built on demand */
	size_t adv_len;
};

struct tang_keyset;
struct tang_keydir;

/* NULL with a message when path is not a directory. */
struct tang_keydir *tang_keydir_open(const char *path);
void tang_keydir_close(struct tang_keydir *kd);
/* Drops the cached snapshot: the next get re-reads everything (SIGHUP). */
void tang_keydir_invalidate(struct tang_keydir *kd);

/* The current key set (never NULL; its status may be 500), to be released. */
struct tang_keyset *tang_keydir_get(struct tang_keydir *kd);
void tang_keyset_release(struct tang_keyset *ks);

/* 200 when the set can serve (a signing key and an advertisement), else 500. */
int tang_keyset_status(const struct tang_keyset *ks);
/* Active (not rotated) keys that can sign and that can serve /rec: what
 * a health check needs. Read-only. */
void tang_keyset_active_counts(const struct tang_keyset *ks, size_t *signing, size_t *exchange);
/* Key sets loaded after the first (changes on disk, SIGHUP). */
unsigned long long tang_keydir_reloads(struct tang_keydir *kd);
/* Any key, active or hidden, with thumbprint thp under any of the 5 hashes. */
const struct tang_key *tang_keyset_find(const struct tang_keyset *ks, const char *thp);
/* Advertisement: the default one (thp NULL) or one also signed by the signing
 * key thp. Returns 200, 404 (no such signing key) or 500; *adv stays valid
 * until the key set is released. */
int tang_keyset_adv(struct tang_keyset *ks, const char *thp, const char **adv, size_t *len);

/* Generates a key {"alg": alg} (ES512 or ECMR, P-521) and stores it as
 * DIR/NAME.jwk (NAME = its S256 thumbprint when NULL): canonical JSON and a
 * newline, mode 0440, atomic, never replacing an existing file, owned by
 * the directory's owner when run as root (see keyfile.h). -1 with a message
 * on stderr. *path_out (optional) gets the malloc'd path. */
int tang_key_create(const char *dir, const char *alg, const char *name, char **path_out);
/* The same in the directory open as dfd (from tang_keydir_lock), which
 * messages call dir. */
int tang_key_create_at(int dfd, const char *dir, const char *alg, const char *name, char **path_out);

/* Serialises key generation and rotation between processes (flock on the
 * directory). Returns the directory's descriptor, for tang_key_create_at
 * and tang_keydir_unlock, or -1. */
int tang_keydir_lock(const char *dir);
void tang_keydir_unlock(int fd);

/* The *.jwk names (active and hidden) in the directory dfd, sorted; -1
 * when it cannot be read. Free with tang_keydir_list_free. */
int tang_keydir_list(int dfd, char ***names, size_t *n);
void tang_keydir_list_free(char **names, size_t n);

#endif
