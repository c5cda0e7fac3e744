/* device.c - LUKS volumes over libcryptsetup (see device.h). */
#include "device.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libcryptsetup.h>

#include "../crypto/json.h"

/* Bounds the raw header snapshot: LUKS2 headers are 16 MiB by default and
 * at most a few hundred MiB in theory; nbde refuses anything unusual. */
#define SNAPSHOT_MAX (256u << 20)

struct luks_dev {
	struct crypt_device *cd;
	char *path;
	int version;
	char last_error[256];
};

/* libcryptsetup would print its messages itself; nbde prints one line of
 * its own and only keeps the last error to explain it. */
static void log_cb(int level, const char *text, void *usrptr)
{
	struct luks_dev *d = usrptr;
	size_t n;

	if (level != CRYPT_LOG_ERROR || !text)
		return;
	snprintf(d->last_error, sizeof(d->last_error), "%s", text);
	n = strlen(d->last_error);
	while (n && (d->last_error[n - 1] == '\n' || d->last_error[n - 1] == '.'))
		d->last_error[--n] = 0;
}

static int load(struct luks_dev *d, const char **err)
{
	const char *type;
	int r = crypt_init(&d->cd, d->path);

	if (r < 0) {
		if (err)
			*err = "cannot open the device";
		return r;
	}
	crypt_set_log_callback(d->cd, log_cb, d);
	r = crypt_load(d->cd, CRYPT_LUKS, NULL);
	if (r < 0) {
		if (err)
			*err = "not a LUKS volume";
		return r;
	}
	type = crypt_get_type(d->cd);
	d->version = type && !strcmp(type, CRYPT_LUKS1) ? 1 : type && !strcmp(type, CRYPT_LUKS2) ? 2 : 0;
	if (!d->version) {
		if (err)
			*err = "not a LUKS1 or LUKS2 volume";
		return -EINVAL;
	}
	return 0;
}

int luks_open(const char *path, struct luks_dev **out, const char **err)
{
	struct luks_dev *d = calloc(1, sizeof(*d));
	int r;

	*out = NULL;
	if (!d || !(d->path = strdup(path))) {
		free(d);
		if (err)
			*err = "out of memory";
		return -ENOMEM;
	}
	r = access(path, F_OK) ? -errno : load(d, err);
	if (r == -ENOENT && err)
		*err = "no such file or device";
	if (r < 0) {
		luks_close(d);
		return r;
	}
	*out = d;
	return 0;
}

void luks_close(struct luks_dev *d)
{
	if (!d)
		return;
	crypt_free(d->cd);
	free(d->path);
	free(d);
}

void cleanup_luks_dev(struct luks_dev **d)
{
	luks_close(*d);
	*d = NULL;
}

int luks_reload(struct luks_dev *d)
{
	crypt_free(d->cd);
	d->cd = NULL;
	return load(d, NULL);
}

struct crypt_device *luks_cd(struct luks_dev *d) { return d->cd; }
const char *luks_path(const struct luks_dev *d) { return d->path; }
int luks_version(const struct luks_dev *d) { return d->version; }
const char *luks_uuid(struct luks_dev *d) { return crypt_get_uuid(d->cd); }
const char *luks_last_error(const struct luks_dev *d) { return d->last_error; }

int luks_slot_count(const struct luks_dev *d)
{
	return crypt_keyslot_max(d->version == 1 ? CRYPT_LUKS1 : CRYPT_LUKS2);
}

bool luks_slot_opens(struct luks_dev *d, int slot)
{
	crypt_keyslot_info s = crypt_keyslot_status(d->cd, slot);
	return s == CRYPT_SLOT_ACTIVE || s == CRYPT_SLOT_ACTIVE_LAST;
}

bool luks_slot_used(struct luks_dev *d, int slot)
{
	return luks_slot_opens(d, slot) || crypt_keyslot_status(d->cd, slot) == CRYPT_SLOT_UNBOUND;
}

int luks_slots_opening(struct luks_dev *d)
{
	int n = 0;
	for (int i = 0; i < luks_slot_count(d); i++)
		n += luks_slot_opens(d, i);
	return n;
}

static bool hash_name_ok(const char *h)
{
	if (!h || !*h)
		return false;
	return strspn(h, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(h);
}

/* LUKS2 without a PBKDF2 keyslot: clevis takes the first "Hash:" line of
 * luksDump, which then is the volume key digest's. */
static const char *digest_hash(struct luks_dev *d, cJSON **meta)
{
	const char *json = NULL;
	const cJSON *digests, *first;

	if (crypt_dump_json(d->cd, &json, 0) < 0 || !json)
		return NULL;
	*meta = json_parse_str(json);
	digests = json_get_obj(*meta, "digests");
	first = digests ? digests->child : NULL;
	return first ? json_get_str(first, "hash") : NULL;
}

int luks_first_hash(struct luks_dev *d, char *out, size_t outlen)
{
	AUTO_JSON meta = NULL;
	const char *hash = NULL;

	for (int i = 0; i < luks_slot_count(d) && !hash; i++) {
		struct crypt_pbkdf_type p;
		if (!luks_slot_used(d, i) || crypt_keyslot_get_pbkdf(d->cd, i, &p) < 0)
			continue;
		if (p.type && !strcmp(p.type, CRYPT_KDF_PBKDF2) && hash_name_ok(p.hash))
			hash = p.hash;
	}
	if (!hash && d->version == 2)
		hash = digest_hash(d, &meta);
	if (!hash_name_ok(hash))
		hash = "sha256";
	if (strlen(hash) >= outlen)
		return -ENAMETOOLONG;
	strcpy(out, hash);
	return 0;
}

int luks_check_passphrase(struct luks_dev *d, int slot, const void *pass, size_t len)
{
	return crypt_activate_by_passphrase(d->cd, NULL, slot, pass, len, 0);
}

/* clevis's choice: the passphrase is 320 random bits, so a slow KDF adds
 * nothing but unlock time. */
static int set_clevis_pbkdf(struct luks_dev *d, const char *hash)
{
	struct crypt_pbkdf_type p = {
		.type = CRYPT_KDF_PBKDF2,
		.hash = hash,
		.iterations = 1000,
		.flags = CRYPT_PBKDF_NO_BENCHMARK,
	};
	return crypt_set_pbkdf_type(d->cd, &p);
}

int luks_add_keyslot(struct luks_dev *d, int slot, const void *old_pass, size_t old_len,
		     const void *new_pass, size_t new_len, const char *hash)
{
	int r = set_clevis_pbkdf(d, hash);
	return r < 0 ? r : crypt_keyslot_add_by_passphrase(d->cd, slot, old_pass, old_len, new_pass, new_len);
}

int luks_add_keyslot_typed(struct luks_dev *d, int slot, const void *old_pass, size_t old_len,
			   const void *new_pass, size_t new_len, int iter_ms, int memory_kib, int iterations)
{
	const struct crypt_pbkdf_type *def = crypt_get_pbkdf_default(d->version == 1 ? CRYPT_LUKS1 : CRYPT_LUKS2);
	struct crypt_pbkdf_type p;
	char hash[64];
	int r;

	if (!def)
		return -EINVAL;
	p = *def;
	if (iter_ms > 0)
		p.time_ms = (uint32_t)iter_ms;
	if (memory_kib > 0 && strcmp(p.type, CRYPT_KDF_PBKDF2))	/* argon2 only */
		p.max_memory_kb = (uint32_t)memory_kib;
	if (iterations > 0) {
		/* as cryptsetup --pbkdf-force-iterations: fixed costs, no benchmark */
		p.iterations = (uint32_t)iterations;
		p.flags |= CRYPT_PBKDF_NO_BENCHMARK;
	}
	/* LUKS1 keyslots must use the header's hash */
	if (d->version == 1 && (r = luks_first_hash(d, hash, sizeof(hash))) == 0)
		p.hash = hash;
	if ((r = crypt_set_pbkdf_type(d->cd, &p)) < 0)
		return r;
	return crypt_keyslot_add_by_passphrase(d->cd, slot, old_pass, old_len, new_pass, new_len);
}

int luks_change_keyslot(struct luks_dev *d, int slot, const void *old_pass, size_t old_len,
			const void *new_pass, size_t new_len, const char *hash)
{
	int r = set_clevis_pbkdf(d, hash);
	return r < 0 ? r : crypt_keyslot_change_by_passphrase(d->cd, slot, slot, old_pass, old_len,
							       new_pass, new_len);
}

int luks_kill_slot(struct luks_dev *d, int slot)
{
	return crypt_keyslot_destroy(d->cd, slot);
}

int luks_activate(struct luks_dev *d, const char *name, int slot, const void *pass, size_t len,
		  uint32_t flags)
{
	return crypt_activate_by_passphrase(d->cd, name, slot, pass, len, flags);
}

/* Activation flags by cryptsetup open's option and by crypttab's word. */
static const struct {
	const char *option, *crypttab;
	uint32_t flag;
} activate_flags[] = {
	{ "--readonly", "readonly", CRYPT_ACTIVATE_READONLY },
	{ "-r", "read-only", CRYPT_ACTIVATE_READONLY },
	{ "--allow-discards", "discard", CRYPT_ACTIVATE_ALLOW_DISCARDS },
	{ "--perf-same_cpu_crypt", "same-cpu-crypt", CRYPT_ACTIVATE_SAME_CPU_CRYPT },
	{ "--perf-submit_from_crypt_cpus", "submit-from-crypt-cpus", CRYPT_ACTIVATE_SUBMIT_FROM_CRYPT_CPUS },
	{ "--perf-no_read_workqueue", "no-read-workqueue", CRYPT_ACTIVATE_NO_READ_WORKQUEUE },
	{ "--perf-no_write_workqueue", "no-write-workqueue", CRYPT_ACTIVATE_NO_WRITE_WORKQUEUE },
};

static uint32_t activate_flag_of(const char *word, bool crypttab)
{
	for (size_t i = 0; i < sizeof(activate_flags) / sizeof(activate_flags[0]); i++)
		if (!strcmp(word, crypttab ? activate_flags[i].crypttab : activate_flags[i].option))
			return activate_flags[i].flag;
	return 0;
}

uint32_t luks_activate_flag(const char *option)
{
	return activate_flag_of(option, false);
}

uint32_t luks_crypttab_flag(const char *word)
{
	return activate_flag_of(word, true);
}

/* Bytes from 0 to the data segment; for LUKS2 without a data offset the
 * two metadata copies plus the keyslots area. */
static uint64_t header_area_len(struct luks_dev *d)
{
	uint64_t len = crypt_get_data_offset(d->cd) * 512, meta = 0, ks = 0;

	if (d->version == 2 && crypt_get_metadata_size(d->cd, &meta, &ks) == 0 && 2 * meta + ks > len)
		len = 2 * meta + ks;
	return len;
}

static int rw_all(const char *path, int flags, void *buf, size_t len, uint64_t off, bool writing)
{
	int fd = open(path, flags | O_CLOEXEC), r = 0, e;

	if (fd < 0)
		return -errno;
	for (size_t done = 0; done < len;) {
		ssize_t n = writing ? pwrite(fd, (char *)buf + done, len - done, (off_t)(off + done))
				    : pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)n;
	}
	if (!r && writing && fsync(fd))
		r = -errno;
	e = close(fd) && !r ? -errno : r;
	return e;
}

int luks_pread(const struct luks_dev *d, void *buf, size_t len, uint64_t off)
{
	return rw_all(d->path, O_RDONLY, buf, len, off, false);
}

int luks_pwrite(const struct luks_dev *d, const void *buf, size_t len, uint64_t off)
{
	return rw_all(d->path, O_WRONLY, (void *)buf, len, off, true);
}

int luks_snapshot_take(struct luks_dev *d, struct luks_snapshot *s)
{
	uint64_t len = header_area_len(d);
	int r;

	memset(s, 0, sizeof(*s));
	if (len < 4096 || len > SNAPSHOT_MAX)
		return -EFBIG;
	if (!(s->path = strdup(d->path)) || buf_alloc(&s->bytes, (size_t)len)) {
		luks_snapshot_free(s);
		return -ENOMEM;
	}
	r = luks_pread(d, s->bytes.p, s->bytes.len, 0);
	if (r < 0)
		luks_snapshot_free(s);
	return r;
}

int luks_snapshot_unchanged(const struct luks_snapshot *s)
{
	AUTO_BUF now = { 0 };
	int r;

	if (buf_alloc(&now, s->bytes.len))
		return -ENOMEM;
	r = rw_all(s->path, O_RDONLY, now.p, now.len, 0, false);
	if (r < 0)
		return r;
	return memcmp(now.p, s->bytes.p, now.len) == 0;
}

int luks_snapshot_restore(struct luks_dev *d, const struct luks_snapshot *s)
{
	int r, verified, reloaded;

	/* libcryptsetup keeps the header in memory: drop it before writing
	 * under it, and read what is on disk afterwards (d stays usable even
	 * when the restore failed). */
	crypt_free(d->cd);
	d->cd = NULL;
	r = rw_all(s->path, O_WRONLY, s->bytes.p, s->bytes.len, 0, true);
	verified = luks_snapshot_unchanged(s);
	reloaded = load(d, NULL);
	if (r < 0)
		return r;
	if (verified <= 0)
		return verified < 0 ? verified : -EIO;
	return reloaded;
}

void luks_snapshot_free(struct luks_snapshot *s)
{
	free(s->path);
	s->path = NULL;
	buf_free(&s->bytes);
}
