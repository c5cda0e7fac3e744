/* runtime.c - shared applet helpers. */
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

const char *util_prog = "nbde";
static const char *usage_prog = "nbde";
static int usage_status = EXIT_USAGE;

void applet_name(const char *prog, const char *usage_name, int usage_rc)
{
	util_prog = prog;
	usage_prog = usage_name;
	usage_status = usage_rc;
}

/* Peers whose scripts see a usage error as exit 1 (tang's C server and
 * shell tools); clevis's names are mapped per command in cmd/clevis.c. */
static const char *const peer_names_usage_1[] = { "tangd", "tangd-keygen", "tangd-rotate-keys", "tang-show-keys" };

void applet_name_from_call(const char *name, bool via_symlink)
{
	static char nbde_name[64];

	if (via_symlink) {
		int rc = EXIT_USAGE;
		for (size_t i = 0; i < ARRAY_SIZE(peer_names_usage_1); i++)
			if (!strcmp(name, peer_names_usage_1[i]))
				rc = 1;
		applet_name(name, name, rc);
		return;
	}
	snprintf(nbde_name, sizeof(nbde_name), "nbde %s", name);
	applet_name(nbde_name, nbde_name, EXIT_USAGE);
}

const char *applet_usage_name(void)
{
	return usage_prog;
}

int exit_usage(void)
{
	return usage_status;
}

const char *str_after_prefix(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) ? NULL : s + n;
}

/* Length of the UTF-8 character at s when it is valid and no control
 * character (U+0020..U+007E, U+00A0 and up, no surrogates); else 0. */
static size_t printable_utf8_len(const unsigned char *s)
{
	unsigned c = s[0], cp;
	size_t n;

	if (c >= 0x20 && c < 0x7f)
		return 1;
	if (c < 0xc2 || c > 0xf4)
		return 0;	/* C0, DEL, C1 bytes, continuations, overlong or too-high leads */
	n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	cp = c & (n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < 0xa0 || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;	/* C1 controls (U+0080..U+009F), overlong forms, surrogates */
	return n;
}

void fput_escaped(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (p && *p) {
		size_t n = printable_utf8_len(p);
		if (n) {
			fwrite(p, 1, n, f);
			p += n;
		} else {
			fprintf(f, "\\x%02x", *p++);
		}
	}
}

void msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void vmsg(const char *fmt, va_list ap)
{
	char line[4096];

	vsnprintf(line, sizeof(line), fmt, ap);
	/* one line even when pin threads report at the same time */
	flockfile(stderr);
	fprintf(stderr, "%s: ", util_prog);
	fput_escaped(stderr, line);
	fputc('\n', stderr);
	funlockfile(stderr);
}

int read_fd_all(int fd, size_t max, struct buf *out)
{
	size_t cap = 4096;
	out->len = 0;
	/* what is read may be a secret (a key file, the plaintext of encrypt) */
	out->p = secret_alloc(cap + 1);
	if (!out->p)
		return -1;
	for (;;) {
		if (out->len == cap) {
			unsigned char *p;
			if (cap > max) {
				buf_free(out);
				errno = EFBIG;
				return -1;
			}
			p = secret_alloc(cap * 2 + 1);
			if (!p) {
				buf_free(out);
				return -1;
			}
			memcpy(p, out->p, out->len);
			secret_free(out->p, cap + 1);
			out->p = p;
			cap *= 2;
		}
		ssize_t n = read(fd, out->p + out->len, cap - out->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			buf_free(out);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
	}
	if (out->len > max) {
		buf_free(out);
		errno = EFBIG;
		return -1;
	}
	out->p[out->len] = 0;
	return 0;
}

int read_file(const char *path, size_t max, struct buf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r, e;
	out->p = NULL;
	out->len = 0;
	if (fd < 0)
		return -1;
	r = read_fd_all(fd, max, out);
	e = errno;
	close(fd);
	errno = e;
	return r;
}

int write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	size_t n = strlen(path);
	char *tmp = malloc(n + 16), *dcopy = strdup(path);
	mode_t old = umask(0337);
	int fd = -1, r = -1, e = 0;

	if (!tmp || !dcopy)
		goto out;
	snprintf(tmp, n + 16, "%s.tmp.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0)
		goto out;
	r = fchmod(fd, mode) || write_all(fd, data, len) || fsync(fd) ? -1 : 0;
	e = errno;
	if (close(fd) && !r) {
		e = errno;
		r = -1;
	}
	if (r) {
		unlink(tmp);
		errno = e;
		fd = -1;
		goto out;
	}
	r = -1;
	fd = -1;
	if (rename(tmp, path)) {
		e = errno;
		unlink(tmp);
		errno = e;
		goto out;
	}
	int dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	r = 0;
out:
	e = errno;
	umask(old);
	free(tmp);
	free(dcopy);
	errno = e;
	return r;
}

int secret_process_harden(void)
{
	/* the limit too: with fs.suid_dumpable=2 even an undumpable process
	 * dumps (root-readable), unless RLIMIT_CORE forbids it */
	const struct rlimit none = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &none))
		return -1;
	return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) ? -1 : 0;
}

/* Byte by byte, so nothing past the newline is consumed. */
int read_line(int fd, size_t cap, struct buf *out)
{
	unsigned char c;
	ssize_t n;

	if (buf_alloc(out, cap))
		return -1;
	out->len = 0;
	while ((n = read(fd, &c, 1)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || out->len == cap) {
			buf_free(out);
			return -1;
		}
		if (c == '\n')
			break;
		out->p[out->len++] = c;
	}
	out->p[out->len] = 0;
	return 0;
}

int tty_read_line(const char *prompt, bool secret, struct buf *out)
{
	struct termios old, quiet;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY), r;
	bool restore = false;

	out->p = NULL;
	out->len = 0;
	if (fd < 0)
		return -1;
	fprintf(stderr, "%s", prompt);
	fflush(stderr);
	if (secret && !tcgetattr(fd, &old)) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		restore = !tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	r = read_line(fd, 1024, out);
	if (restore) {
		tcsetattr(fd, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	close(fd);
	return r;
}

bool tty_confirm(const char *prompt)
{
	AUTO_BUF answer = { 0 };

	if (tty_read_line(prompt, false, &answer))
		return false;
	return answer.len == 1 && (answer.p[0] == 'y' || answer.p[0] == 'Y');
}

bool is_directory(const char *path)
{
	struct stat st;
	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

bool parse_number_quiet(const char *s, long min, long max, long *out)
{
	const char *digits = s && *s == '-' && min < 0 ? s + 1 : s;
	char *end;
	long v = 0;

	errno = 0;
	if (digits && *digits >= '0' && *digits <= '9')
		v = strtol(s, &end, 10);
	if (!digits || *digits < '0' || *digits > '9' || errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool parse_number(const char *s, long min, long max, const char *what, long *out)
{
	if (parse_number_quiet(s, min, max, out))
		return true;
	msg("invalid %s '%s' (%ld to %ld)", what, s ? s : "", min, max);
	return false;
}

long boot_timeout(void)
{
	AUTO_BUF c = { 0 };
	long t = PIN_DEFAULT_TIMEOUT_S, v;
	const char *arg;

	if (!read_file("/proc/cmdline", CMDLINE_MAX, &c) && c.len) {
		c.p[c.len - 1] = '\0';
		for (char *save = NULL, *w = strtok_r((char *)c.p, " \n", &save); w; w = strtok_r(NULL, " \n", &save))
			if ((arg = str_after_prefix(w, "nbde.timeout=")) && parse_number_quiet(arg, 1, TIMEOUT_MAX_S, &v))
				t = v;
	}
	return t;
}

bool parse_seconds(const char *s, const char *what, long *out)
{
	return parse_number(s, 1, TIMEOUT_MAX_S, what, out);
}
