/* luksmeta.h - the LUKSMeta format: metadata slots stored in the unused gap
 * between the LUKS1 keyslot material and the data, as Debian's `luksmeta`
 * tool (libluksmeta 9) reads and writes them, byte for byte.
 *
 * The gap ("hole") starts at the end of the last keyslot's material rounded
 * up to 4096 and ends at the data offset rounded down to 4096. It begins
 * with a 272-byte big-endian header: "LUKSMETA", version 1, a CRC-32C of
 * the header (crc field zeroed), then per LUKS1 keyslot {uuid[16], offset,
 * length, crc32c of the data, reserved}. Slot data lives at 4096-aligned
 * offsets from the start of the hole. clevis stores its compact JWE in the
 * LUKSMeta slot with the keyslot's number under LUKSMETA_CLEVIS_UUID. */
#ifndef NBDE_LUKS_LUKSMETA_H
#define NBDE_LUKS_LUKSMETA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../crypto/secret.h"

#define LUKSMETA_SLOTS 8
#define LUKSMETA_HDR_LEN 272
#define LUKSMETA_ALIGN 4096u
/* Largest slot nbde reads, writes or wipes in one piece: clevis stores a JWE
 * of a few KiB, but a crafted LUKS1 header makes room for up to 4 GiB. */
#define LUKSMETA_MAX_DATA (1024u * 1024u)

struct luks_dev;

struct luksmeta_slot {
	uint8_t uuid[16];	/* all zero: empty */
	uint32_t offset;	/* from the start of the hole */
	uint32_t length;
	uint32_t crc;
};

struct luksmeta {
	uint32_t area_len;	/* usable bytes of the hole, header included */
	struct luksmeta_slot slot[LUKSMETA_SLOTS];
};

/* cb6e8904-81ff-40da-a84a-07ab9ab5715e */
extern const uint8_t LUKSMETA_CLEVIS_UUID[16];

/* CRC-32C (Castagnoli, reflected, init and final xor 0xffffffff). */
uint32_t crc32c(const void *buf, size_t len);

bool luksmeta_uuid_empty(const uint8_t uuid[16]);

/* Pure parsing (no I/O) of a header read from a hole of area_len bytes:
 * 0, -ENOENT (no LUKSMeta magic), -ENOTSUP (other version), -EINVAL
 * (bad checksum or slot bounds, as libluksmeta checks them). */
int luksmeta_decode(const uint8_t *hdr, size_t len, uint32_t area_len, struct luksmeta *out);
void luksmeta_encode(const struct luksmeta *lm, uint8_t out[LUKSMETA_HDR_LEN]);

/* Pure: the data of slot from a whole hole image (header at byte 0), its
 * CRC checked. 0, -ENODATA (empty slot), -EFBIG (longer than
 * LUKSMETA_MAX_DATA), or the errors above. */
int luksmeta_slot_data(const uint8_t *area, size_t len, int slot, uint8_t uuid[16], struct buf *data);

/* Pure: where libluksmeta would put len more bytes (first 4096-aligned
 * offset >= 4096 overlapping no slot), kept inside the hole; 0 if none. */
uint32_t luksmeta_find_gap(const struct luksmeta *lm, size_t len);

/* On a LUKS1 device. All return 0 or -errno as above. */
int luksmeta_read(struct luks_dev *d, struct luksmeta *lm);
/* Writes an empty header (only when none is there: a damaged one is an
 * error, never overwritten). */
int luksmeta_init(struct luks_dev *d);
/* The data of slot whose UUID must be uuid (-EKEYREJECTED otherwise). */
int luksmeta_load(struct luks_dev *d, int slot, const uint8_t uuid[16], struct buf *data);
/* Stores data in the empty slot (-EALREADY when used, -ENOSPC when it does
 * not fit): data first, header last, each fsync'd. */
int luksmeta_save(struct luks_dev *d, int slot, const uint8_t uuid[16], const void *data, size_t len);
/* Zeroes the slot's data, then empties its record. uuid NULL: any. */
int luksmeta_wipe(struct luks_dev *d, int slot, const uint8_t uuid[16]);

#endif
