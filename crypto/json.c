/* json.c - strict parsing and jansson-compatible canonical serialisation. */
#include "json.h"
#include "secret.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
	char *p;
	size_t len, cap;
	bool failed;
};

/* Test hook: test/unit_json.c defines it to see each writer buffer just
 * before it is freed; in nbde it stays NULL. */
extern void json_test_writer_freeing(const char *p, size_t cap) __attribute__((weak));

/* The writer cannot tell a private JWK from a header, so every buffer it
 * gives up is wiped first (realloc would leave the old copy behind). */
static void free_wiped(char *p, size_t cap)
{
	wipe(p, cap);
	if (json_test_writer_freeing)
		json_test_writer_freeing(p, cap);
	free(p);
}

static void put(struct out *o, const char *s, size_t n)
{
	if (o->failed)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = (o->cap ? o->cap * 2 : 256) + n;
		char *p = malloc(cap);
		if (!p) {
			o->failed = true;
			return;
		}
		if (o->p) {
			memcpy(p, o->p, o->len + 1);
			free_wiped(o->p, o->cap);
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = 0;
}

static void put_string(struct out *o, const char *s)
{
	put(o, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		switch (c) {
		case '"': put(o, "\\\"", 2); break;
		case '\\': put(o, "\\\\", 2); break;
		case '\b': put(o, "\\b", 2); break;
		case '\f': put(o, "\\f", 2); break;
		case '\n': put(o, "\\n", 2); break;
		case '\r': put(o, "\\r", 2); break;
		case '\t': put(o, "\\t", 2); break;
		default:
			if (c < 0x20) {
				/* jansson prints other control bytes as upper-case \uXXXX */
				snprintf(esc, sizeof(esc), "\\u%04X", c);
				put(o, esc, 6);
			} else {
				put(o, (const char *)&c, 1);
			}
		}
	}
	put(o, "\"", 1);
}

static void put_number(struct out *o, double d)
{
	char tmp[40];
	if (!isfinite(d)) {
		o->failed = true;
		return;
	}
	if (d == floor(d) && fabs(d) < 9007199254740992.0)
		snprintf(tmp, sizeof(tmp), "%lld", (long long)d);
	else
		snprintf(tmp, sizeof(tmp), "%.17g", d);
	put(o, tmp, strlen(tmp));
}

static int cmp_members(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	return strcmp(x->string, y->string);
}

static void put_value(struct out *o, const cJSON *v);

static void put_object(struct out *o, const cJSON *v)
{
	size_t n = 0, i = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, v) n++;
	const cJSON **m = calloc(n ? n : 1, sizeof(*m));
	if (!m) {
		o->failed = true;
		return;
	}
	cJSON_ArrayForEach(c, v) m[i++] = c;
	qsort(m, n, sizeof(*m), cmp_members);
	put(o, "{", 1);
	for (i = 0; i < n; i++) {
		if (i)
			put(o, ",", 1);
		put_string(o, m[i]->string);
		put(o, ":", 1);
		put_value(o, m[i]);
	}
	put(o, "}", 1);
	free(m);
}

static void put_value(struct out *o, const cJSON *v)
{
	const cJSON *c;
	bool first = true;

	switch (v->type & 0xff) {
	case cJSON_False: put(o, "false", 5); break;
	case cJSON_True: put(o, "true", 4); break;
	case cJSON_NULL: put(o, "null", 4); break;
	case cJSON_Number: put_number(o, v->valuedouble); break;
	case cJSON_String: put_string(o, v->valuestring ? v->valuestring : ""); break;
	case cJSON_Object: put_object(o, v); break;
	case cJSON_Array:
		put(o, "[", 1);
		cJSON_ArrayForEach(c, v) {
			if (!first)
				put(o, ",", 1);
			first = false;
			put_value(o, c);
		}
		put(o, "]", 1);
		break;
	default:
		o->failed = true;
	}
}

char *json_canonical(const cJSON *v)
{
	struct out o = { 0 };
	if (!v)
		return NULL;
	put_value(&o, v);
	if (o.failed) {
		if (o.p)
			free_wiped(o.p, o.cap);
		return NULL;
	}
	return o.p;
}

/* Test hook: test/unit_json.c defines it to count member-name comparisons
 * (its cost test must not depend on the clock); in nbde it stays NULL. */
extern void json_test_count_compare(void) __attribute__((weak));

static int cmp_names(const void *a, const void *b)
{
	if (json_test_count_compare)
		json_test_count_compare();
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorting the names and comparing neighbours keeps a hostile object of
 * thousands of members at O(n log n); the pairwise check cost ~120 ms for a
 * 64 KiB /rec body. The names themselves are sorted, not the members, so a
 * comparison follows one pointer fewer. */
static bool object_has_duplicates(const cJSON *v)
{
	size_t n = 0, i = 0;
	const cJSON *c;
	bool dup = false;

	cJSON_ArrayForEach(c, v) n++;
	if (n < 2)
		return false;
	const char **names = malloc(n * sizeof(*names));
	if (!names)
		return true;		/* unchecked is refused */
	cJSON_ArrayForEach(c, v) names[i++] = c->string;
	qsort(names, n, sizeof(*names), cmp_names);
	for (i = 1; i < n && !dup; i++)
		dup = !strcmp(names[i - 1], names[i]);
	free(names);
	return dup;
}

/* What jansson (and so tang and clevis) refuses but cJSON takes: duplicate
 * member names and numbers that overflow to infinity. */
static bool tree_is_strict(const cJSON *v)
{
	const cJSON *c;

	if (cJSON_IsNumber(v))
		return isfinite(v->valuedouble);
	if (cJSON_IsObject(v) && object_has_duplicates(v))
		return false;
	if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
		cJSON_ArrayForEach(c, v) {
			if (!tree_is_strict(c))
				return false;
		}
	}
	return true;
}

/* True when a string in the text holds the escape \u0000: cJSON would cut
 * the string there (so "a\u0000b" and "a\u0000c" became the same name) and
 * jansson refuses it. One pass that follows strings and their escapes. */
static bool has_nul_escape(const char *text, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		if (!in_string) {
			in_string = text[i] == '"';
		} else if (text[i] == '"') {
			in_string = false;
		} else if (text[i] == '\\' && i + 1 < len) {
			if (text[i + 1] == 'u' && len - i >= 6 && !memcmp(text + i + 2, "0000", 4))
				return true;
			i++;
		}
	}
	return false;
}

cJSON *json_parse(const char *text, size_t len)
{
	const char *end = NULL;
	cJSON *v;

	if (!text || memchr(text, 0, len))
		return NULL;
	/* cJSON skips a UTF-8 byte order mark; JSON (RFC 8259) and jansson do not */
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		return NULL;
	if (has_nul_escape(text, len))
		return NULL;
	v = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!v)
		return NULL;
	for (; end && end < text + len; end++) {
		if (!strchr(" \t\r\n", *end)) {
			cJSON_Delete(v);
			return NULL;
		}
	}
	if (!tree_is_strict(v)) {
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

cJSON *json_parse_str(const char *text)
{
	return text ? json_parse(text, strlen(text)) : NULL;
}

cJSON *json_parse_object(const char *text, size_t len)
{
	cJSON *v = json_parse(text, len);
	if (v && !cJSON_IsObject(v)) {
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

const char *json_get_str(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

const cJSON *json_get_obj(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
	return cJSON_IsObject(v) ? v : NULL;
}

const cJSON *json_get_arr(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
	return cJSON_IsArray(v) ? v : NULL;
}

bool json_get_int(const cJSON *obj, const char *name, long long min, long long max, long long *out)
{
	const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
	double d;
	if (!cJSON_IsNumber(v))
		return false;
	d = v->valuedouble;
	if (!isfinite(d) || d != floor(d) || d < (double)min || d > (double)max)
		return false;
	*out = (long long)d;
	return true;
}

bool json_array_has_str(const cJSON *arr, const char *s)
{
	const cJSON *c;
	if (!cJSON_IsArray(arr))
		return false;
	cJSON_ArrayForEach(c, arr) {
		if (cJSON_IsString(c) && !strcmp(c->valuestring, s))
			return true;
	}
	return false;
}

bool json_set(cJSON *obj, const char *name, cJSON *item)
{
	if (!item)
		return false;
	cJSON_DeleteItemFromObjectCaseSensitive(obj, name);
	if (!cJSON_AddItemToObject(obj, name, item)) {
		cJSON_Delete(item);
		return false;
	}
	return true;
}

bool json_set_str(cJSON *obj, const char *name, const char *s)
{
	return json_set(obj, name, cJSON_CreateString(s));
}

void cleanup_cjson(cJSON **p)
{
	cJSON_Delete(*p);
	*p = NULL;
}
