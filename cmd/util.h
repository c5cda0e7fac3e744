/* util.h - helpers shared by the applets: bounded file reads, atomic key
 * file writes, messages. Applets use these instead of copying code. */
#ifndef NBDE_UTIL_H
#define NBDE_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "../crypto/secret.h"

/* Program name for messages ("nbde bind", "clevis", ...); set by applets. */
extern const char *util_prog;

/* "PROG: message\n" on stderr. */
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reads all of fd / path, at most max bytes (more is an error, errno EFBIG). */
int read_fd_all(int fd, size_t max, struct buf *out);
int read_file(const char *path, size_t max, struct buf *out);

/* Writes path atomically: temp file in the same directory created with
 * mode under umask 0337, written, fsync'd, renamed, directory fsync'd.
 * Nothing half-written is ever visible at path. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* Monotonic clock in milliseconds. */
long long now_ms(void);

#endif
