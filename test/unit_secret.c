/* unit_secret.c - secret buffers (crypto/secret.c): the whole pages of a
 * large struct buf are kept out of core dumps (VmFlags "dd" in
 * /proc/self/smaps) without marking anything outside the buffer, and are
 * given back to dumps when it is freed. TAP on stdout. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../crypto/secret.h"
#include "tap.h"

struct vma {
	uintptr_t start, end;
	bool dontdump;
};

/* The mapping holding addr, from /proc/self/smaps; false if none. */
static bool vma_of(uintptr_t addr, struct vma *v)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false, found = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			in = addr >= s && addr < e;
			if (in) {
				*v = (struct vma){ s, e, false };
				found = true;
			}
		} else if (in && !strncmp(line, "VmFlags:", 8)) {
			v->dontdump = strstr(line, " dd") != NULL;
		}
	}
	fclose(f);
	return found;
}

int main(void)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	struct buf big = { 0 }, small = { 0 };
	struct vma v;

	OK(!buf_alloc(&big, 3 * page), "a three-page buffer");
	uintptr_t inner = ((uintptr_t)big.p + page - 1) & ~(page - 1);
	OK(vma_of(inner, &v) && v.dontdump, "its whole pages are out of core dumps (MADV_DONTDUMP)");
	OK(v.start >= (uintptr_t)big.p && v.end <= (uintptr_t)big.p + big.len,
	   "and nothing outside it is (the marked range lies inside the buffer)");

	OK(!buf_alloc(&small, 64), "a 64-byte buffer");
	OK(vma_of((uintptr_t)small.p, &v) && !v.dontdump, "is not marked: no whole page of its own");
	buf_free(&small);

	/* freed memory goes back to malloc for anything: dumpable again (only
	 * the kernel is asked about the address; nothing reads it) */
	buf_free(&big);
	OK(!big.p && !big.len, "buf_free clears the struct");
	OK(!vma_of(inner, &v) || !v.dontdump, "the freed pages are back in core dumps (MADV_DODUMP)");

	void *s = secret_alloc(5 * page);
	uintptr_t in2 = ((uintptr_t)s + page - 1) & ~(page - 1);
	OK(s && vma_of(in2, &v) && v.dontdump, "secret_alloc marks its whole pages too");
	secret_free(s, 5 * page);
	OK(!vma_of(in2, &v) || !v.dontdump, "secret_free unmarks them");
	return tap_done();
}
