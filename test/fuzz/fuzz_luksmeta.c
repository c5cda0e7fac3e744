/* fuzz_luksmeta.c - libFuzzer target for the LUKSMeta reader: arbitrary
 * bytes as a LUKS1 header gap. Every slot is read (bounds and CRC checked);
 * a header that decodes must encode and decode to the same slots, and a
 * place found for new data must lie inside the gap, clear of every slot. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../luks/luksmeta.h"

static void check_gap(const struct luksmeta *lm, size_t len)
{
	uint32_t off = luksmeta_find_gap(lm, len);
	uint64_t end = (uint64_t)off + ((len + LUKSMETA_ALIGN - 1) & ~(size_t)(LUKSMETA_ALIGN - 1));

	if (!off)
		return;
	if (off < LUKSMETA_ALIGN || end > lm->area_len)
		abort();
	for (int i = 0; i < LUKSMETA_SLOTS; i++) {
		const struct luksmeta_slot *s = &lm->slot[i];
		if (!luksmeta_uuid_empty(s->uuid) && s->length && off < (uint64_t)s->offset + s->length &&
		    s->offset < end)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct luksmeta lm, again;
	uint8_t hdr[LUKSMETA_HDR_LEN];

	for (int slot = 0; slot < LUKSMETA_SLOTS; slot++) {
		uint8_t uuid[16];
		struct buf b = { 0 };
		if (luksmeta_slot_data(data, size, slot, uuid, &b) == 0 && b.len && !b.p)
			abort();
		buf_free(&b);
	}
	if (size > UINT32_MAX || luksmeta_decode(data, size, (uint32_t)size, &lm) != 0)
		return 0;
	luksmeta_encode(&lm, hdr);
	if (luksmeta_decode(hdr, sizeof(hdr), (uint32_t)size, &again) != 0 || memcmp(&lm, &again, sizeof(lm)))
		abort();
	check_gap(&lm, size > 8 ? data[size - 1] * 64u : 1);
	return 0;
}
