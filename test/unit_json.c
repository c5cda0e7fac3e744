/* unit_json.c - the strict JSON parser: duplicate member names wherever they
 * sit, what jansson refuses (\u0000, a byte order mark, numbers that overflow),
 * and the cost of the duplicate check counted in comparisons, not seconds.
 * TAP on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../crypto/json.h"
#include "../crypto/jwk.h"
#include "../crypto/secret.h"
#include "tap.h"

/* crypto/json.c calls this (when linked in) once per member-name comparison
 * of its duplicate check. */
void json_test_count_compare(void);
static unsigned long name_compares;
void json_test_count_compare(void)
{
	name_compares++;
}

/* crypto/json.c calls this (when linked in) with each buffer the writer
 * frees, after wiping it: it must hold nothing but zeros. */
void json_test_writer_freeing(const char *p, size_t cap);
static unsigned long writer_frees, writer_frees_dirty;
void json_test_writer_freeing(const char *p, size_t cap)
{
	writer_frees++;
	for (size_t i = 0; i < cap; i++) {
		if (p[i]) {
			writer_frees_dirty++;
			return;
		}
	}
}

/* A 64 KiB /rec body holds about 8,000 short members. */
#define MANY_MEMBERS 8000
/* n log2 n is ~104,000 for 8,000 members; musl's smoothsort makes 2.6 times
 * that (268,000), glibc's sort 66,000. n^1.5 would be 716,000 and a pairwise
 * check makes n²/2 = 32 M. */
#define MAX_COMPARES (MANY_MEMBERS * 64UL)

/* {"m0":0,"m1":1,...} with n members; member dup_at (when < n) is named like
 * member dup_of. */
static char *object_text(size_t n, size_t dup_at, size_t dup_of)
{
	size_t cap = 32 + n * 24, len = 0;
	char *s = malloc(cap);
	if (!s)
		return NULL;
	s[len++] = '{';
	for (size_t i = 0; i < n; i++)
		len += snprintf(s + len, cap - len, "%s\"m%zu\":%zu", i ? "," : "", i == dup_at ? dup_of : i, i);
	snprintf(s + len, cap - len, "}");
	return s;
}

static void parses(const char *text, bool want, const char *what)
{
	AUTO_JSON v = json_parse_str(text);
	OK(!!v == want, "%s %s", want ? "accepts" : "rejects", what);
}

static void test_duplicates(void)
{
	static const struct { size_t at, of; const char *what; } dups[] = {
		{ 1, 0, "first two members" }, { 999, 0, "first and last member" },
		{ 999, 998, "last two members" }, { 500, 499, "two members in the middle" },
		{ 700, 300, "two members far apart in the middle" }, { 0, 999, "first named like the last" },
	};

	for (size_t i = 0; i < sizeof(dups) / sizeof(dups[0]); i++) {
		AUTO_FREE char *s = object_text(1000, dups[i].at, dups[i].of);
		AUTO_JSON v = json_parse_str(s);
		OK(s && !v, "rejects a duplicate name of 1,000 members: %s", dups[i].what);
	}
	AUTO_FREE char *distinct = object_text(1000, SIZE_MAX, 0);
	parses(distinct, true, "1,000 distinct members");

	parses("{\"a\":1,\"a\":1}", false, "two equal members");
	parses("{\"a\":1,\"b\":{\"x\":1,\"y\":{\"z\":[{\"q\":1,\"q\":2}]}}}", false, "a duplicate deep in nested objects and arrays");
	parses("[{\"a\":1},{\"a\":1},[{\"k\":1,\"j\":2,\"k\":3}]]", false, "a duplicate in an object inside an array");
	parses("[{\"a\":1},{\"a\":1}]", true, "the same name in sibling objects");
	parses("{\"a\":{\"a\":{\"a\":1}}}", true, "the same name at different depths");
	parses("{\"a\":1,\"\\u0061\":2}", false, "names equal only after unescaping");
	parses("{\"\\u00e9\":1,\"\xc3\xa9\":2}", false, "an escaped and a raw UTF-8 name that are equal");
	parses("{\"a\":1,\"A\":2,\"a \":3,\"\":4}", true, "names that differ in case, a trailing space or are empty");
	parses("{\"\":1,\"\":2}", false, "two empty names");
	parses("{\"a\\u0000b\":1,\"a\\u0000c\":2}", false, "names that differ only after a \\u0000");
}

static void test_duplicate_cost(void)
{
	AUTO_FREE char *s = object_text(MANY_MEMBERS, SIZE_MAX, 0);
	name_compares = 0;
	AUTO_JSON v = json_parse_str(s);
	OK(v && cJSON_GetArraySize(v) == MANY_MEMBERS, "parses an object of %d distinct members (%zu bytes)",
	   MANY_MEMBERS, s ? strlen(s) : 0);
	OK(name_compares > 0 && name_compares < MAX_COMPARES,
	   "duplicate check of %d members took %lu name comparisons (bound %lu)", MANY_MEMBERS, name_compares,
	   MAX_COMPARES);
}

static void test_jansson_strictness(void)
{
	parses("{\"a\":\"x\\u0000\"}", false, "a string holding \\u0000");
	parses("{\"a\\u0000\":1}", false, "a member name holding \\u0000");
	parses("[\"\\u0000\"]", false, "\\u0000 in an array");
	parses("{\"a\":\"\\\\u0000\"}", true, "an escaped backslash followed by u0000 (no NUL)");
	parses("{\"a\":\"\\\\\\u0000\"}", false, "an escaped backslash followed by \\u0000");
	parses("{\"a\":\"\\u0001\"}", true, "\\u0001");
	parses("\xef\xbb\xbf{\"a\":1}", false, "a leading UTF-8 byte order mark");
	parses("{\"a\":\"\xef\xbb\xbf\"}", true, "U+FEFF inside a string");
	parses("{\"a\":1e999999}", false, "a number that overflows to +infinity");
	parses("{\"a\":-1e999999}", false, "a number that overflows to -infinity");
	parses("[1,[2,[1e400]]]", false, "an overflowing number deep in arrays");
	parses("1e999999", false, "a lone overflowing number");
	parses("{\"a\":1e308,\"b\":-1.7e308}", true, "large finite numbers");
	parses("{\"a\":1e-999999}", true, "a number that underflows to zero (jansson takes it)");
}

/* A private JWK big enough that the writer grows its buffer several times;
 * the copies it leaves behind must not hold the key. */
static void test_writer_wipes(void)
{
	AUTO_JSON_SECRET jwk = cJSON_CreateObject();
	char d[2048];

	memset(d, 'k', sizeof(d) - 1);
	d[sizeof(d) - 1] = 0;
	json_set_str(jwk, "kty", "EC");
	json_set_str(jwk, "d", d);
	writer_frees = writer_frees_dirty = 0;
	AUTO_SECRET_STR text = json_canonical(jwk);
	OK(text && strlen(text) > sizeof(d) && writer_frees >= 3,
	   "serialising a %zu-byte private JWK grew the writer's buffer %lu times", sizeof(d), writer_frees);
	OK(!writer_frees_dirty, "every buffer the writer gave up was wiped (%lu not)", writer_frees_dirty);

	json_set(jwk, "zz", cJSON_CreateNumber(1.0 / 0.0));	/* written after "d" */
	writer_frees = writer_frees_dirty = 0;
	char *none = json_canonical(jwk);
	OK(!none && writer_frees >= 1 && !writer_frees_dirty, "a failed serialisation wipes what it wrote");
	free(none);
}

int main(void)
{
	test_duplicates();
	test_duplicate_cost();
	test_jansson_strictness();
	test_writer_wipes();
	return tap_done();
}
