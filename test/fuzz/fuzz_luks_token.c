/* fuzz_luks_token.c - libFuzzer target for the clevis LUKS2 token reader
 * (token_parse): arbitrary bytes as token JSON; whatever parses must build
 * back into a token that parses to the same JWE. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../luks/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clevis_token t, again;
	const char *err = NULL;
	char *json, *rebuilt;
	int slot = 0;

	if (token_parse((const char *)data, size, &t, &err) != 0)
		return 0;
	while (slot < 31 && !(t.keyslots & (UINT32_C(1) << slot)))
		slot++;
	rebuilt = token_build(slot, t.jwe, &err);
	if (!rebuilt)
		abort();
	if (token_parse(rebuilt, strlen(rebuilt), &again, &err) != 0 || strcmp(again.jwe, t.jwe))
		abort();
	json = rebuilt;
	free(json);
	token_free(&again);
	token_free(&t);
	return 0;
}
