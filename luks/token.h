/* token.h - clevis's LUKS2 token:
 *
 *   {"type":"clevis","keyslots":["N"],"jwe":{flattened JWE, members sorted}}
 *
 * written in that member order (as `cryptsetup token import` of clevis's
 * text stores it). A token counts for keyslot N only while it lists N and
 * keyslot N can open the volume (clevis#524: stale tokens never lock a
 * volume out); clevis tokens listing no keyslot are orphans and are removed
 * before a new one is written, as clevis does. */
#ifndef NBDE_LUKS_TOKEN_H
#define NBDE_LUKS_TOKEN_H

#include <stddef.h>
#include <stdint.h>

struct luks_dev;

struct clevis_token {
	uint32_t keyslots;	/* bit N: lists keyslot N */
	char *jwe;		/* compact serialization */
};

/* Pure parsing of a token's JSON text. 0; -ENOENT when it is not a clevis
 * token; -EINVAL (with *err) when it is one but malformed. */
int token_parse(const char *json, size_t len, struct clevis_token *out, const char **err);
void token_free(struct clevis_token *t);

/* The token text for keyslot slot and a compact JWE; NULL (with *err) when
 * the JWE does not parse. */
char *token_build(int slot, const char *jwe, const char **err);

/* The clevis token bound to keyslot slot: its id, and its JWE when jwe is
 * not NULL (malloc'd). -ENOENT when there is none. */
int token_find(struct luks_dev *d, int slot, int *id, char **jwe);

/* 1 when token id holds any token, 0 when free, -ERANGE when no such id. */
int token_in_use(struct luks_dev *d, int id);

/* Stores a token for slot at id (-1: first free). Returns its id or -errno. */
int token_save(struct luks_dev *d, int id, int slot, const char *jwe);
int token_remove(struct luks_dev *d, int id);
/* Removes every clevis token that lists no keyslot. Returns how many, or
 * -errno. */
int token_remove_orphans(struct luks_dev *d);

/* The passphrase held in the kernel keyring for a LUKS2 token of
 * cryptsetup's luks2-keyring type (`cryptsetup token add --key-description
 * DESC`): the "user" key DESC, found as request_key(2) finds it from this
 * process (thread, process, session keyrings). clevis's `bind -e` gets the
 * existing passphrase this way through cryptsetup. -errno with *err. */
struct buf;
int token_keyring_passphrase(struct luks_dev *d, int id, struct buf *out, const char **err);

#endif
