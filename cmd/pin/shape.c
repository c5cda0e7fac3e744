/* shape.c - the bounds of pins.h on a JWE tree (sss children per node,
 * depth, pins in all), walked before decrypt starts any child. Apart from
 * pin.c so unit_pins can test it on a tree nested 33 deep, which is over
 * the 4 MiB `decrypt` reads. */
#include "pin.h"

#include <stdio.h>
#include <string.h>

#include "../../crypto/json.h"

static int count_pin(size_t *pins, char *err, size_t errlen)
{
	if (++*pins <= PIN_MAX_PINS)
		return 0;
	snprintf(err, errlen, "JWE has more than %d pins", PIN_MAX_PINS);
	return -1;
}

static int walk(const struct jwe *j, int depth, size_t *pins, char *err, size_t errlen)
{
	const cJSON *clevis = json_get_obj(j->hdr, "clevis");
	const char *pin = json_get_str(clevis, "pin"), *why;
	const cJSON *jwes, *c;
	int n;

	if (depth > PIN_MAX_DEPTH) {
		snprintf(err, errlen, "sss pins are nested more than %d deep", PIN_MAX_DEPTH);
		return -1;
	}
	if (count_pin(pins, err, errlen))
		return -1;
	if (!pin || strcmp(pin, "sss"))
		return 0;
	jwes = json_get_arr(json_get_obj(clevis, "sss"), "jwe");
	if ((n = cJSON_GetArraySize(jwes)) > PIN_SSS_MAX_CHILDREN) {
		snprintf(err, errlen, "sss pin has %d child pins, at most %d are allowed", n, PIN_SSS_MAX_CHILDREN);
		return -1;
	}
	cJSON_ArrayForEach(c, jwes) {
		AUTO_JWE child = { 0 };
		if (!cJSON_IsString(c) || jwe_parse(c->valuestring, strlen(c->valuestring), &child, &why)) {
			if (count_pin(pins, err, errlen))
				return -1;
			continue;
		}
		if (walk(&child, depth + 1, pins, err, errlen))
			return -1;
	}
	return 0;
}

int pin_check_shape(const struct jwe *j, char *err, size_t errlen)
{
	size_t pins = 0;
	return walk(j, 1, &pins, err, errlen);
}
