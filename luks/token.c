/* token.c - clevis LUKS2 tokens (see token.h). */
#include "token.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <libcryptsetup.h>

#include "../crypto/json.h"
#include "../crypto/jwe.h"
#include "../crypto/secret.h"
#include "device.h"

#define MAX_KEYSLOTS 32

/* "0".."31" exactly: no sign, no leading zero, nothing after. */
static int keyslot_number(const char *s)
{
	int n = 0;

	if (!s || !*s || (s[0] == '0' && s[1]))
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || n >= MAX_KEYSLOTS)
			return -1;
		n = n * 10 + (*s - '0');
	}
	return n < MAX_KEYSLOTS ? n : -1;
}

static int parse_keyslots(const cJSON *arr, uint32_t *mask)
{
	const cJSON *k;

	*mask = 0;
	if (!arr)
		return -1;
	cJSON_ArrayForEach(k, arr) {
		int n = keyslot_number(cJSON_GetStringValue(k));
		if (n < 0)
			return -1;
		*mask |= UINT32_C(1) << n;
	}
	return 0;
}

int token_parse(const char *json, size_t len, struct clevis_token *out, const char **err)
{
	AUTO_JSON o = json_parse_object(json, len);
	AUTO_JWE jwe = { 0 };
	const char *type = json_get_str(o, "type");
	const cJSON *flat;

	memset(out, 0, sizeof(*out));
	if (!type || strcmp(type, "clevis"))
		return -ENOENT;
	if (parse_keyslots(json_get_arr(o, "keyslots"), &out->keyslots)) {
		*err = "clevis token has a malformed \"keyslots\" array";
		return -EINVAL;
	}
	if (!(flat = json_get_obj(o, "jwe"))) {
		*err = "clevis token has no \"jwe\" object";
		return -EINVAL;
	}
	if (jwe_from_json(flat, &jwe, err))
		return -EINVAL;
	if (!(out->jwe = jwe_compact(&jwe))) {
		*err = "out of memory";
		return -ENOMEM;
	}
	return 0;
}

void token_free(struct clevis_token *t)
{
	free(t->jwe);
	t->jwe = NULL;
}

char *token_build(int slot, const char *jwe_text, const char **err)
{
	AUTO_JWE jwe = { 0 };
	AUTO_JSON tok = cJSON_CreateObject();
	cJSON *slots = cJSON_CreateArray(), *flat;
	char num[16];

	snprintf(num, sizeof(num), "%d", slot);
	if (!tok || !slots || !json_set_str(tok, "type", "clevis") || !json_set(tok, "keyslots", slots) ||
	    !cJSON_AddItemToArray(slots, cJSON_CreateString(num))) {
		*err = "out of memory";
		return NULL;
	}
	if (jwe_parse(jwe_text, strlen(jwe_text), &jwe, err))
		return NULL;
	if (!(flat = jwe_flattened(&jwe)) || !json_set(tok, "jwe", flat)) {
		*err = "out of memory";
		return NULL;
	}
	/* Member order as clevis writes it; jwe_flattened's are sorted. */
	return cJSON_PrintUnformatted(tok);
}

/* Reads token id; -ENOENT when it is absent or not a clevis token. */
static int read_token(struct luks_dev *d, int id, struct clevis_token *t)
{
	const char *json = NULL, *type = NULL, *err = NULL;
	crypt_token_info st = crypt_token_status(luks_cd(d), id, &type);

	memset(t, 0, sizeof(*t));
	if (st == CRYPT_TOKEN_INVALID || st == CRYPT_TOKEN_INACTIVE || !type || strcmp(type, "clevis"))
		return -ENOENT;
	if (crypt_token_json_get(luks_cd(d), id, &json) < 0 || !json)
		return -ENOENT;
	return token_parse(json, strlen(json), t, &err);
}

int token_find(struct luks_dev *d, int slot, int *id, char **jwe)
{
	if (luks_version(d) != 2 || slot < 0 || slot >= MAX_KEYSLOTS || !luks_slot_opens(d, slot))
		return -ENOENT;
	for (int i = 0; i < crypt_token_max(CRYPT_LUKS2); i++) {
		struct clevis_token t;
		if (read_token(d, i, &t) < 0)
			continue;
		if (t.keyslots & (UINT32_C(1) << slot)) {
			if (id)
				*id = i;
			if (jwe)
				*jwe = t.jwe;
			else
				token_free(&t);
			return 0;
		}
		token_free(&t);
	}
	return -ENOENT;
}

int token_in_use(struct luks_dev *d, int id)
{
	if (id < 0 || id >= crypt_token_max(CRYPT_LUKS2))
		return -ERANGE;
	return crypt_token_status(luks_cd(d), id, NULL) != CRYPT_TOKEN_INACTIVE;
}

int token_save(struct luks_dev *d, int id, int slot, const char *jwe)
{
	const char *err = NULL;
	AUTO_FREE char *json = token_build(slot, jwe, &err);

	if (!json)
		return -EINVAL;
	if (id >= 0 && token_in_use(d, id))
		return -EEXIST;
	return crypt_token_json_set(luks_cd(d), id < 0 ? CRYPT_ANY_TOKEN : id, json);
}

int token_remove(struct luks_dev *d, int id)
{
	int r = crypt_token_json_set(luks_cd(d), id, NULL);
	return r < 0 ? r : 0;
}

int token_remove_orphans(struct luks_dev *d)
{
	int removed = 0;

	for (int i = 0; i < crypt_token_max(CRYPT_LUKS2); i++) {
		struct clevis_token t;
		int r = read_token(d, i, &t);
		token_free(&t);
		/* A malformed clevis token is left alone: it is not ours to judge. */
		if (r < 0 || t.keyslots)
			continue;
		r = token_remove(d, i);
		if (r < 0)
			return r;
		removed++;
	}
	return removed;
}

/* ---- cryptsetup's luks2-keyring tokens ---- */

#define KEYCTL_READ_OP 11	/* KEYCTL_READ of <linux/keyctl.h> */
/* A LUKS passphrase is at most cryptsetup's 8 MiB key file; the keyring's
 * "user" keys hold at most 32 KiB anyway. */
#define KEYRING_PASS_MAX (32 * 1024)

static int keyring_read_user_key(const char *desc, struct buf *out)
{
	long key = syscall(SYS_request_key, "user", desc, NULL, 0);
	long n;

	if (key < 0)
		return -errno;
	if (buf_alloc(out, KEYRING_PASS_MAX))
		return -ENOMEM;
	n = syscall(SYS_keyctl, KEYCTL_READ_OP, key, out->p, out->len);
	if (n < 0 || (size_t)n > out->len) {
		int e = n < 0 ? -errno : -EFBIG;
		buf_free(out);
		return e;
	}
	out->len = (size_t)n;
	return 0;
}

int token_keyring_passphrase(struct luks_dev *d, int id, struct buf *out, const char **err)
{
	const char *json = NULL, *type = NULL;
	AUTO_JSON tok = NULL;
	const cJSON *desc;
	int r;

	if (luks_version(d) != 2) {
		*err = "existing token ids need a LUKS2 volume";
		return -EINVAL;
	}
	if (id < 0 || id >= crypt_token_max(CRYPT_LUKS2) ||
	    crypt_token_status(luks_cd(d), id, &type) == CRYPT_TOKEN_INACTIVE) {
		*err = "no such token";
		return -ENOENT;
	}
	if (!type || strcmp(type, "luks2-keyring") || crypt_token_json_get(luks_cd(d), id, &json) < 0 || !json ||
	    !(tok = json_parse_str(json)) || !cJSON_IsString(desc = cJSON_GetObjectItemCaseSensitive(tok, "key_description"))) {
		*err = "the token is not a kernel keyring token (luks2-keyring with a key_description)";
		return -EINVAL;
	}
	if ((r = keyring_read_user_key(desc->valuestring, out)) < 0) {
		*err = r == -ENOKEY || r == -ENOENT ? "the token's key is not in the kernel keyring"
			: r == -EKEYEXPIRED || r == -EKEYREVOKED ? "the token's key in the kernel keyring has expired or was revoked"
			: "cannot read the token's key from the kernel keyring";
		return r;
	}
	return 0;
}
