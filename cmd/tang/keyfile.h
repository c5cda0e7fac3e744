/* keyfile.h - key files inside a directory, handled through the directory's
 * descriptor so that whoever owns the directory (e.g. _tang, while root runs
 * the key tools) cannot steer a root process to another file with symlinks.
 *
 * Reading follows symlinks only while they stay beneath the directory (a
 * Kubernetes Secret volume is NAME.jwk -> ..data/NAME.jwk, ..data -> ..TS/).
 * Writing never follows a symlink, never replaces an existing name, and sets
 * owner and mode on the new file's descriptor, never by path. */
#ifndef NBDE_KEYFILE_H
#define NBDE_KEYFILE_H

#include <stddef.h>

/* Opens dfd/name read-only, resolving symlinks only beneath dfd: openat2
 * RESOLVE_BENEATH, or a component-by-component walk where the kernel lacks
 * it. -1 with errno EXDEV when the name leads out of the directory. */
int keyfile_open_beneath(int dfd, const char *name);

/* Creates dfd/name holding data, mode 0440, owned by the directory's owner
 * when run as root: a temporary file made with O_EXCL|O_NOFOLLOW, set up
 * and fsync'd through its descriptor, then renamed into place without
 * replacing anything, and the directory fsync'd. -1 with errno EEXIST when
 * name exists; nothing is left behind on failure. */
int keyfile_create(int dfd, const char *name, const void *data, size_t len);

/* Renames dfd/from to dfd/to unless to exists (-1, errno EEXIST). */
int keyfile_rename_noreplace(int dfd, const char *from, const char *to);

#endif
