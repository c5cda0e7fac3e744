/* unit_luksmeta.c - LUKSMeta slot data from a hole image: a slot longer
 * than LUKSMETA_MAX_DATA is refused before anything is allocated or read,
 * whatever room the (crafted) header claims. TAP on stdout. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../luks/luksmeta.h"
#include "tap.h"

/* A hole of area_len bytes whose slot 1 holds `length` bytes of 'j' at 4096
 * under clevis's UUID, its CRC right. */
static uint8_t *hole_image(uint32_t area_len, uint32_t length)
{
	uint8_t *area = calloc(1, area_len);
	struct luksmeta lm = { .area_len = area_len };

	if (!area)
		return NULL;
	memset(area + LUKSMETA_ALIGN, 'j', length);
	memcpy(lm.slot[1].uuid, LUKSMETA_CLEVIS_UUID, 16);
	lm.slot[1].offset = LUKSMETA_ALIGN;
	lm.slot[1].length = length;
	lm.slot[1].crc = crc32c(area + LUKSMETA_ALIGN, length);
	luksmeta_encode(&lm, area);
	return area;
}

static void slot_is(uint32_t length, int want)
{
	uint32_t area_len = LUKSMETA_ALIGN * 2 + LUKSMETA_MAX_DATA + LUKSMETA_ALIGN;
	uint8_t *area = hole_image(area_len, length), uuid[16];
	AUTO_BUF data = { 0 };
	int r = area ? luksmeta_slot_data(area, area_len, 1, uuid, &data) : -ENOMEM;

	OK(r == want && (r ? !data.p : data.len == length), "a slot of %u bytes: %s (got %d)", length,
	   want ? "refused with -EFBIG" : "read", r);
	free(area);
}

int main(void)
{
	slot_is(3000, 0);
	slot_is(LUKSMETA_MAX_DATA, 0);
	slot_is(LUKSMETA_MAX_DATA + 1, -EFBIG);
	slot_is(LUKSMETA_MAX_DATA + LUKSMETA_ALIGN, -EFBIG);
	return tap_done();
}
