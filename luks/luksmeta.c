/* luksmeta.c - the LUKSMeta on-disk format (see luksmeta.h). */
#include "luksmeta.h"

#include <errno.h>
#include <string.h>
#include <libcryptsetup.h>

#include "device.h"

static const uint8_t MAGIC[8] = { 'L', 'U', 'K', 'S', 'M', 'E', 'T', 'A' };
#define VERSION 1
#define CRC_AT 12		/* magic[8], version u32, then the crc */
#define SLOTS_AT 16
#define SLOT_LEN 32

const uint8_t LUKSMETA_CLEVIS_UUID[16] = {
	0xcb, 0x6e, 0x89, 0x04, 0x81, 0xff, 0x40, 0xda,
	0xa8, 0x4a, 0x07, 0xab, 0x9a, 0xb5, 0x71, 0x5e,
};

static uint64_t align_up(uint64_t v) { return (v + LUKSMETA_ALIGN - 1) & ~(uint64_t)(LUKSMETA_ALIGN - 1); }
static uint64_t align_down(uint64_t v) { return v & ~(uint64_t)(LUKSMETA_ALIGN - 1); }

uint32_t crc32c(const void *buf, size_t len)
{
	static uint32_t table[256];
	const uint8_t *p = buf;
	uint32_t crc = 0xffffffffu;

	/* Built on first use; concurrent first uses write identical values. */
	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
			table[i] = c;
		}
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc ^ 0xffffffffu;
}

bool luksmeta_uuid_empty(const uint8_t uuid[16])
{
	for (int i = 0; i < 16; i++)
		if (uuid[i])
			return false;
	return true;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t header_crc(const uint8_t *hdr)
{
	uint8_t tmp[LUKSMETA_HDR_LEN];
	memcpy(tmp, hdr, sizeof(tmp));
	memset(tmp + CRC_AT, 0, 4);
	return crc32c(tmp, sizeof(tmp));
}

int luksmeta_decode(const uint8_t *hdr, size_t len, uint32_t area_len, struct luksmeta *out)
{
	memset(out, 0, sizeof(*out));
	if (len < LUKSMETA_HDR_LEN || area_len < LUKSMETA_HDR_LEN || memcmp(hdr, MAGIC, sizeof(MAGIC)))
		return -ENOENT;
	if (get_be32(hdr + 8) != VERSION)
		return -ENOTSUP;
	if (get_be32(hdr + CRC_AT) != header_crc(hdr))
		return -EINVAL;
	out->area_len = area_len;
	for (int i = 0; i < LUKSMETA_SLOTS; i++) {
		const uint8_t *r = hdr + SLOTS_AT + i * SLOT_LEN;
		struct luksmeta_slot *s = &out->slot[i];

		memcpy(s->uuid, r, 16);
		s->offset = get_be32(r + 16);
		s->length = get_be32(r + 20);
		s->crc = get_be32(r + 24);
		if (luksmeta_uuid_empty(s->uuid))
			continue;
		/* libluksmeta's own checks, plus: the data lies inside the hole. */
		if (s->offset <= LUKSMETA_HDR_LEN || area_len < LUKSMETA_ALIGN ||
		    s->length > area_len - LUKSMETA_ALIGN || (uint64_t)s->offset + s->length > area_len)
			return -EINVAL;
	}
	return 0;
}

void luksmeta_encode(const struct luksmeta *lm, uint8_t out[LUKSMETA_HDR_LEN])
{
	memset(out, 0, LUKSMETA_HDR_LEN);
	memcpy(out, MAGIC, sizeof(MAGIC));
	put_be32(out + 8, VERSION);
	for (int i = 0; i < LUKSMETA_SLOTS; i++) {
		uint8_t *r = out + SLOTS_AT + i * SLOT_LEN;
		memcpy(r, lm->slot[i].uuid, 16);
		put_be32(r + 16, lm->slot[i].offset);
		put_be32(r + 20, lm->slot[i].length);
		put_be32(r + 24, lm->slot[i].crc);
	}
	put_be32(out + CRC_AT, header_crc(out));
}

int luksmeta_slot_data(const uint8_t *area, size_t len, int slot, uint8_t uuid[16], struct buf *data)
{
	struct luksmeta lm;
	const struct luksmeta_slot *s;
	int r;

	data->p = NULL;
	data->len = 0;
	if (slot < 0 || slot >= LUKSMETA_SLOTS)
		return -EBADSLT;
	r = luksmeta_decode(area, len, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len, &lm);
	if (r < 0)
		return r;
	s = &lm.slot[slot];
	if (luksmeta_uuid_empty(s->uuid))
		return -ENODATA;
	if (s->length > LUKSMETA_MAX_DATA)
		return -EFBIG;
	if (crc32c(area + s->offset, s->length) != s->crc)
		return -EINVAL;
	memcpy(uuid, s->uuid, 16);
	return buf_set(data, area + s->offset, s->length) ? -ENOMEM : 0;
}

/* [start, end) meets slot s. libluksmeta misses a slot that strictly
 * contains the range; that case is added so no data is ever overwritten. */
static bool meets(const struct luksmeta_slot *s, uint64_t start, uint64_t end)
{
	uint64_t e = (uint32_t)(s->offset + s->length);	/* libluksmeta's u32 sum */

	return (start <= s->offset && s->offset < end) || (start < e && e <= end) ||
	       (s->offset < start && e > end);
}

uint32_t luksmeta_find_gap(const struct luksmeta *lm, size_t len)
{
	uint64_t size = align_up(len);
	/* libluksmeta bounds the end by slot[0].offset + area length, which
	 * can point past the hole; the hole's own end is kept as well. */
	uint64_t limit = (uint64_t)lm->slot[0].offset + lm->area_len;

	if (lm->area_len < size)
		return 0;
	for (uint64_t off = LUKSMETA_ALIGN; off < lm->area_len; off += LUKSMETA_ALIGN) {
		bool taken = off + size > limit || off + size > lm->area_len;
		for (int i = 0; i < LUKSMETA_SLOTS && !taken; i++)
			taken = meets(&lm->slot[i], off, off + size);
		if (!taken)
			return (uint32_t)off;
	}
	return 0;
}

/* The hole: after every keyslot's material, before the data. */
static int hole(struct luks_dev *d, uint64_t *start, uint32_t *len)
{
	struct crypt_device *cd = luks_cd(d);
	uint64_t data = crypt_get_data_offset(cd) * 512, end = 0;

	if (luks_version(d) != 1)
		return -ENOTSUP;
	if (data < LUKSMETA_ALIGN)
		return -ENOSPC;
	for (int i = 0; i < LUKSMETA_SLOTS; i++) {
		uint64_t off = 0, n = 0;
		int r = crypt_keyslot_area(cd, i, &off, &n);
		if (r < 0)
			return r;
		if (end < off + n)
			end = align_up(off + n);
	}
	if (!end)
		return -ENOTSUP;
	if (end >= data)
		return -ENOSPC;
	*start = end;
	*len = (uint32_t)align_down(data - end);
	return 0;
}

static int read_at(struct luks_dev *d, uint64_t *start, struct luksmeta *lm)
{
	uint8_t hdr[LUKSMETA_HDR_LEN];
	uint32_t len;
	int r = hole(d, start, &len);

	if (r < 0)
		return r;
	if (len < LUKSMETA_HDR_LEN)
		return -ENOENT;
	r = luks_pread(d, hdr, sizeof(hdr), *start);
	return r < 0 ? r : luksmeta_decode(hdr, sizeof(hdr), len, lm);
}

static int write_header(struct luks_dev *d, uint64_t start, const struct luksmeta *lm)
{
	uint8_t hdr[LUKSMETA_HDR_LEN];
	luksmeta_encode(lm, hdr);
	return luks_pwrite(d, hdr, sizeof(hdr), start);
}

int luksmeta_read(struct luks_dev *d, struct luksmeta *lm)
{
	uint64_t start;
	return read_at(d, &start, lm);
}

int luksmeta_init(struct luks_dev *d)
{
	struct luksmeta lm;
	uint64_t start;
	uint32_t len;
	int r = read_at(d, &start, &lm);

	if (r != -ENOENT)
		return r == 0 ? -EALREADY : r;
	r = hole(d, &start, &len);
	if (r < 0)
		return r;
	if (len < LUKSMETA_ALIGN)
		return -ENOSPC;
	memset(&lm, 0, sizeof(lm));
	return write_header(d, start, &lm);
}

/* Reads the header into *lm and checks that slot holds uuid (any when
 * NULL): 0, empty_err for an empty slot, or another -errno. */
static int find_slot(struct luks_dev *d, int slot, const uint8_t uuid[16], int empty_err, struct luksmeta *lm,
		     uint64_t *start)
{
	int r;

	if (slot < 0 || slot >= LUKSMETA_SLOTS)
		return -EBADSLT;
	if ((r = read_at(d, start, lm)) < 0)
		return r;
	if (luksmeta_uuid_empty(lm->slot[slot].uuid))
		return empty_err;
	if (uuid && memcmp(uuid, lm->slot[slot].uuid, 16))
		return -EKEYREJECTED;
	return 0;
}

int luksmeta_load(struct luks_dev *d, int slot, const uint8_t uuid[16], struct buf *data)
{
	struct luksmeta lm;
	const struct luksmeta_slot *s;
	uint64_t start;
	int r;

	data->p = NULL;
	data->len = 0;
	if ((r = find_slot(d, slot, uuid, -ENODATA, &lm, &start)) < 0)
		return r;
	s = &lm.slot[slot];
	if (s->length > LUKSMETA_MAX_DATA)
		return -EFBIG;
	if (buf_alloc(data, s->length))
		return -ENOMEM;
	r = luks_pread(d, data->p, s->length, start + s->offset);
	if (r == 0 && crc32c(data->p, s->length) != s->crc)
		r = -EINVAL;
	if (r < 0)
		buf_free(data);
	return r;
}

int luksmeta_save(struct luks_dev *d, int slot, const uint8_t uuid[16], const void *data, size_t len)
{
	struct luksmeta lm;
	struct luksmeta_slot *s;
	uint64_t start;
	int r;

	if (slot < 0 || slot >= LUKSMETA_SLOTS)
		return -EBADSLT;
	if (luksmeta_uuid_empty(uuid))
		return -EKEYREJECTED;
	r = read_at(d, &start, &lm);
	if (r < 0)
		return r;
	s = &lm.slot[slot];
	if (!luksmeta_uuid_empty(s->uuid))
		return -EALREADY;
	if (len > LUKSMETA_MAX_DATA)
		return -EFBIG;
	if (!(s->offset = luksmeta_find_gap(&lm, len)))
		return -ENOSPC;
	memcpy(s->uuid, uuid, 16);
	s->length = (uint32_t)len;
	s->crc = crc32c(data, len);
	/* Data before header: a crash in between leaves the slot empty. */
	r = luks_pwrite(d, data, len, start + s->offset);
	return r < 0 ? r : write_header(d, start, &lm);
}

int luksmeta_wipe(struct luks_dev *d, int slot, const uint8_t uuid[16])
{
	struct luksmeta lm;
	struct luksmeta_slot *s;
	AUTO_BUF zero = { 0 };
	uint64_t start;
	int r;

	if ((r = find_slot(d, slot, uuid, -EALREADY, &lm, &start)) < 0)
		return r;
	s = &lm.slot[slot];
	/* a foreign slot may be larger than we read: zeroed piece by piece */
	if (buf_alloc(&zero, s->length < LUKSMETA_MAX_DATA ? s->length : LUKSMETA_MAX_DATA))
		return -ENOMEM;
	for (uint32_t done = 0, n; done < s->length; done += n) {
		n = s->length - done < zero.len ? s->length - done : (uint32_t)zero.len;
		r = luks_pwrite(d, zero.p, n, start + s->offset + done);
		if (r < 0)
			return r;
	}
	memset(s, 0, sizeof(*s));
	return write_header(d, start, &lm);
}
