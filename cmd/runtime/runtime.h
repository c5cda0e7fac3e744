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
#include "tunables.h"
#include "../../net/clock.h"	/* clock_mono_ms: the one clock for deadlines */

/* Program name for messages ("nbde bind", "clevis", "tangd-keygen"). */
extern const char *util_prog;

/* Exit statuses. Called as `nbde APPLET` (or a symlink of nbde's own
 * name): 0 done, 1 failed, EXIT_USAGE for a usage error; the codes an
 * applet adds are named here, in one place. Called through a peer's name
 * (clevis..., tangd..., tang-show-keys) usage errors exit with the peer's
 * code instead, because scripts written for the peer test it. */
enum {
	EXIT_USAGE = 2,
	EXIT_UNLOCK_DEVICE = 3,		/* unlock: the device is unreadable or not LUKS */
	EXIT_UNLOCK_UNBOUND = 4,	/* unlock: no clevis binding on the device */
	EXIT_UNLOCK_ACTIVATE = 5,	/* unlock: a keyslot opened, activation failed */
};

/* Names the running applet: prog prefixes msg(), usage_name starts usage
 * lines ("clevis luks bind"), usage_rc is what exit_usage() returns. The
 * dispatcher calls it before the applet runs; clevis's again per command. */
void applet_name(const char *prog, const char *usage_name, int usage_rc);
/* Names an applet called as NAME (a symlink: peers' names keep the peer's
 * usage code) or as `nbde NAME`. */
void applet_name_from_call(const char *name, bool via_symlink);
const char *applet_usage_name(void);
/* The usage error status of the applet as it was called. */
int exit_usage(void);

/* A macro's value as a string literal, for help texts that name defaults. */
#define STRINGIFY(x) STRINGIFY_(x)
#define STRINGIFY_(x) #x

/* Number of elements of an array (not of a pointer). */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]) + \
	0 * sizeof(struct { int not_an_array : !__builtin_types_compatible_p(__typeof__(a), __typeof__(&(a)[0])); }))

/* Hands an owned pointer over: yields p and leaves NULL behind, so the
 * giver's cleanup (AUTO_*) no longer frees it (systemd's TAKE_PTR). */
#define TAKE_PTR(p) ({ __typeof__(p) taken_ = (p); (p) = NULL; taken_; })

/* s starts with prefix: the rest of s, else NULL (no hand-counted lengths). */
const char *str_after_prefix(const char *s, const char *prefix);

/* "PROG: message\n" on stderr, escaped as fput_escaped() does: messages
 * name URLs, kids and pins from JWEs, tokens and servers. */
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vmsg(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

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
/* The same without the message (a kernel command line word, say). */
bool parse_number_quiet(const char *s, long min, long max, long *out);
/* A timeout: whole seconds, 1 to a day; false after a message naming what. */
#define TIMEOUT_MAX_S 86400
bool parse_seconds(const char *s, const char *what, long *out);
/* nbde.timeout=SEC on the kernel command line (the last one that is a
 * valid timeout), else the pins' default: the deadline boot unlocks use. */
long boot_timeout(void);

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
