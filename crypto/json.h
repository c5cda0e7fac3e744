/* json.h - strict parsing and canonical output over cJSON.
 *
 * Canonical output is what jansson prints with JSON_COMPACT|JSON_SORT_KEYS:
 * no whitespace, object members sorted by byte order, '/' not escaped.
 * Peers compare these bytes (JWE protected headers, tang's /rec reply), so
 * every such string in nbde comes from json_canonical(). */
#ifndef NBDE_JSON_H
#define NBDE_JSON_H

#include <stddef.h>
#include <stdbool.h>
#include <cjson/cJSON.h>

/* Parses exactly one JSON value (surrounding whitespace allowed). Rejects,
 * as jansson does, trailing garbage, duplicate member names, \u0000 in a
 * string, a leading byte order mark and numbers that overflow to infinity. */
cJSON *json_parse(const char *text, size_t len);
cJSON *json_parse_str(const char *text);
/* Parses an object only (no arrays or scalars). */
cJSON *json_parse_object(const char *text, size_t len);

char *json_canonical(const cJSON *v);

/* Typed member access: NULL when absent or of another type. */
const char *json_get_str(const cJSON *obj, const char *name);
const cJSON *json_get_obj(const cJSON *obj, const char *name);
const cJSON *json_get_arr(const cJSON *obj, const char *name);
/* Integer member in [min, max]; false when absent, not integral or out of range. */
bool json_get_int(const cJSON *obj, const char *name, long long min, long long max, long long *out);
bool json_array_has_str(const cJSON *arr, const char *s);

/* Replace-or-add helpers that take ownership of item (freed on failure). */
bool json_set(cJSON *obj, const char *name, cJSON *item);
bool json_set_str(cJSON *obj, const char *name, const char *s);

void cleanup_cjson(cJSON **p);
#define AUTO_JSON __attribute__((cleanup(cleanup_cjson))) cJSON *

#endif
