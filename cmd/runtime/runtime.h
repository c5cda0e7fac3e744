/* runtime.h - helpers shared by the applets: bounded file reads, atomic key
 * file writes, messages. Applets use these instead of copying code. */
#ifndef NBDE_UTIL_H
#define NBDE_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include "../../crypto/secret.h"
#include "../../net/clock.h"	/* clock_mono_ms: the one clock for deadlines */

/* Program name for messages ("nbde bind", "clevis", ...); set by applets. */
extern const char *util_prog;

/* "PROG: message\n" on stderr, escaped as fput_escaped() does: messages
 * name URLs, kids and pins from JWEs, tokens and servers. */
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes s with what a terminal would act on made visible: C0 controls, DEL,
 * C1 controls (U+0080..U+009F) and bytes that are not UTF-8 become \xNN.
 * For every string from a JWE, token, server or config that is printed. */
void fput_escaped(FILE *f, const char *s);

/* Reads all of fd / path, at most max bytes (more is an error, errno EFBIG). */
int read_fd_all(int fd, size_t max, struct buf *out);
int read_file(const char *path, size_t max, struct buf *out);

/* Writes all of data to fd, retrying short writes and EINTR; 0 or -1. */
int write_all(int fd, const void *data, size_t len);

/* Writes path atomically: temp file in the same directory created with
 * mode under umask 0337, written, fsync'd, renamed, directory fsync'd.
 * Nothing half-written is ever visible at path. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* Keeps this process out of core dumps before it holds a key or passphrase:
 * not dumpable (PR_SET_DUMPABLE 0, which also makes /proc/PID root's) and
 * RLIMIT_CORE 0, soft and hard, inherited by children. Dispatch calls it for
 * the applets marked SECRETS; call it again after a uid change, which resets
 * dumpable to the fs.suid_dumpable sysctl. 0, or -1 with errno. */
int secret_process_harden(void);

/* A whole number in [min, max] written as plain digits (a '-' first when
 * min < 0): no sign, space, base prefix or trailing garbage, no overflow.
 * False after "invalid WHAT 'S' (MIN to MAX)". */
bool parse_number(const char *s, long min, long max, const char *what, long *out);
/* A timeout: whole seconds, 1 to a day; false after a message naming what. */
#define TIMEOUT_MAX_S 86400
bool parse_seconds(const char *s, const char *what, long *out);

/* path names a directory (following symlinks). */
bool is_directory(const char *path);

/* Reads one line of at most cap bytes from fd, newline stripped (end of
 * file ends it too); -1 on a read error or a longer line. */
int read_line(int fd, size_t cap, struct buf *out);

/* Asks on /dev/tty (prompt on stderr) and reads one line, newline
 * stripped, echo off when secret. -1 when there is no terminal. */
int tty_read_line(const char *prompt, bool secret, struct buf *out);

/* Asks a yes/no question on /dev/tty; true only for "y" or "Y". */
bool tty_confirm(const char *prompt);

#endif
