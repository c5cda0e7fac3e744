/* keyfile.c - opening key files beneath a directory and creating them
 * without following or replacing anything (see keyfile.h). */
#include "keyfile.h"
#include "../runtime/runtime.h"
#include "../../crypto/rand.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* tang's key file mode: the owner and its group read, nobody writes. */
#define KEY_FILE_MODE 0440
/* O_NONBLOCK: a FIFO planted under a key name must not hang the loader. */
#define KEY_READ_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
/* The kernel's own limit on symlinks followed in one lookup. */
#define WALK_MAX_LINKS 40
/* Directories held open by the fallback walk; a key path is never deep. */
#define WALK_MAX_DEPTH 32
/* openat2 answers EAGAIN when a rename raced the lookup; it is retried. */
#define OPENAT2_TRIES 8
/* Names for the temporary file before giving up (each is random). */
#define TMP_TRIES 16

/* Our own copy of the kernel's struct open_how and flags: the libc and
 * kernel headers of a build may predate openat2 (Linux 5.6). */
struct beneath_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};
#define NBDE_RESOLVE_NO_MAGICLINKS 0x02
#define NBDE_RESOLVE_BENEATH 0x08
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif

/* ---- reading beneath the directory ---- */

static int open_with_openat2(int dfd, const char *name)
{
#ifdef SYS_openat2
	struct beneath_how how = {
		.flags = KEY_READ_FLAGS,
		.resolve = NBDE_RESOLVE_BENEATH | NBDE_RESOLVE_NO_MAGICLINKS,
	};
	for (int i = 0; i < OPENAT2_TRIES; i++) {
		long fd = syscall(SYS_openat2, dfd, name, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN)
			return (int)fd;
	}
	return -1;
#else
	(void)dfd;
	(void)name;
	errno = ENOSYS;
	return -1;
#endif
}

/* The walk's directories: fd[0] is the caller's, the rest are ours. */
struct walk {
	int fd[WALK_MAX_DEPTH + 1];
	size_t depth;
};

static void walk_release(struct walk *w)
{
	while (w->depth)
		close(w->fd[w->depth--]);
}

/* Cuts the next component off *rest; false when only slashes are left.
 * *slash: a slash followed it (then it must be a directory). */
static bool next_component(char **rest, char **comp, bool *slash)
{
	char *p = *rest, *end;

	while (*p == '/')
		p++;
	if (!*p)
		return false;
	end = strchrnul(p, '/');
	*comp = p;
	*slash = *end == '/';
	*rest = *slash ? end + 1 : end;
	*end = 0;
	return true;
}

static bool only_slashes(const char *s)
{
	return s[strspn(s, "/")] == 0;
}

/* path becomes target/rest (target/ when the link was followed by a slash,
 * plain target at the end): the lookup continues inside the link's target,
 * which must be relative (an absolute one leaves). */
static int splice_link(char *path, const char *target, const char *rest, bool slash)
{
	char next[PATH_MAX];

	if (target[0] == '/') {
		errno = EXDEV;
		return -1;
	}
	if ((size_t)snprintf(next, sizeof(next), "%s%s%s", target, slash ? "/" : "", rest) >= sizeof(next)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(path, next, strlen(next) + 1);
	return 0;
}

/* What openat2 RESOLVE_BENEATH does, for kernels without it: one component
 * at a time from descriptors we hold, each opened O_NOFOLLOW, symlinks
 * expanded by hand, ".." never above the start. A component swapped for a
 * link between the readlinkat and the open makes the open fail. */
static int open_by_walk(int dfd, const char *name)
{
	char path[PATH_MAX], target[PATH_MAX], *rest = path, *comp;
	struct walk w = { .fd = { dfd } };
	int links = 0, fd = -1, e;

	if ((size_t)snprintf(path, sizeof(path), "%s", name) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (;;) {
		int cur = w.fd[w.depth], sub;
		bool slash;
		ssize_t n;

		if (!next_component(&rest, &comp, &slash)) {
			fd = openat(cur, ".", KEY_READ_FLAGS);	/* the name is a directory */
			break;
		}
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			if (!w.depth) {
				errno = EXDEV;
				break;
			}
			close(w.fd[w.depth--]);
			continue;
		}
		n = readlinkat(cur, comp, target, sizeof(target) - 1);
		if (n >= 0) {
			target[n] = 0;
			if (++links > WALK_MAX_LINKS) {
				errno = ELOOP;
				break;
			}
			if (splice_link(path, target, rest, slash))
				break;
			rest = path;
			continue;
		}
		if (errno != EINVAL)	/* EINVAL: not a symlink */
			break;
		if (only_slashes(rest)) {
			fd = openat(cur, comp, KEY_READ_FLAGS | O_NOFOLLOW | (slash ? O_DIRECTORY : 0));
			break;
		}
		if (w.depth == WALK_MAX_DEPTH) {
			errno = ELOOP;
			break;
		}
		if ((sub = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			break;
		w.fd[++w.depth] = sub;
	}
	e = errno;
	walk_release(&w);
	errno = e;
	return fd;
}

int keyfile_open_beneath(int dfd, const char *name)
{
	int fd = open_with_openat2(dfd, name);

	/* ENOSYS: before Linux 5.6; EPERM: a seccomp filter that predates it */
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		fd = open_by_walk(dfd, name);
	return fd;
}

/* ---- writing ---- */

int keyfile_rename_noreplace(int dfd, const char *from, const char *to)
{
	if (!syscall(SYS_renameat2, dfd, from, dfd, to, RENAME_NOREPLACE))
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* a file system without RENAME_NOREPLACE: a hard link never replaces either */
	if (linkat(dfd, from, dfd, to, 0))
		return -1;
	if (unlinkat(dfd, from, 0)) {
		int e = errno;
		unlinkat(dfd, to, 0);
		errno = e;
		return -1;
	}
	return 0;
}

/* A fresh hidden temporary name (never *.jwk, so no loader reads it). */
static int open_temp(int dfd, char *tmp, size_t size)
{
	for (int i = 0; i < TMP_TRIES; i++) {
		uint64_t r;
		int fd;

		if (rand_bytes(&r, sizeof(r)))
			return -1;
		snprintf(tmp, size, ".nbde-key.%016llx.tmp", (unsigned long long)r);
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

/* Root writing keys for a server that runs as the directory's owner (e.g.
 * _tang) hands the file over, as tang's scripts do: by descriptor, before
 * the file has a name anyone else could swap. */
static int give_to_dir_owner(int dfd, int fd)
{
	struct stat dir;

	if (geteuid() != 0)
		return 0;
	if (fstat(dfd, &dir))
		return -1;
	if (dir.st_uid == 0 && dir.st_gid == 0)
		return 0;
	return fchown(fd, dir.st_uid, dir.st_gid);
}

static int fill_temp(int dfd, int fd, const void *data, size_t len)
{
	int r = give_to_dir_owner(dfd, fd) || fchmod(fd, KEY_FILE_MODE) || write_all(fd, data, len) ||
		fsync(fd) ? -1 : 0;
	int e = errno;

	if (close(fd) && !r) {
		e = errno;
		r = -1;
	}
	errno = e;
	return r;
}

int keyfile_create(int dfd, const char *name, const void *data, size_t len)
{
	char tmp[64];
	int fd = open_temp(dfd, tmp, sizeof(tmp)), e;

	if (fd < 0)
		return -1;
	if (fill_temp(dfd, fd, data, len) || keyfile_rename_noreplace(dfd, tmp, name)) {
		e = errno;
		unlinkat(dfd, tmp, 0);
		errno = e;
		return -1;
	}
	fsync(dfd);	/* the new name reaches the disk */
	return 0;
}
