/* askpass.c - the askpass applet: answers a boot's passphrase prompts with
 * what the volume's clevis bindings recover, so the prompt itself stays the
 * fallback. Two prompt protocols:
 *
 *   nbde askpass [-l] [-p DIR]          systemd password agent: ask.* files
 *                                       in DIR (default /run/systemd/ask-password)
 *                                       with Id=cryptsetup:DEV get "+PASSPHRASE"
 *                                       on their AF_UNIX datagram Socket=.
 *   nbde askpass -c [-f FIFO] [-a EXE]  initramfs-tools: a running cryptsetup
 *                                       askpass (CRYPTTAB_SOURCE in its
 *                                       environment) gets the passphrase
 *                                       through its FIFO (default
 *                                       /lib/cryptsetup/passfifo).
 *
 * A passphrase goes only where root asked for it: ask files and their socket
 * owned by root in a directory only root can write; in -c mode a root
 * process whose executable is cryptsetup's askpass (argv and environment are
 * anyone's to forge).
 *
 * Each device is tried once per run (only a delivered answer or a whole
 * deadline without one uses it up): bindings are decrypted concurrently and
 * retried (the network may come up late) until the deadline - --timeout,
 * else nbde.timeout= on the kernel command line, else 30 s - then it is left
 * to the person at the prompt. A passphrase is sent only after it opened its
 * keyslot, so a wrong one never costs a cryptsetup attempt. */
#include "applets.h"
#include "volume/slot_race.h"
#include "volume/volume.h"
#include "pin/pin.h"
#include "runtime/options.h"
#include "runtime/runtime.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../luks/device.h"


/* --- recovering a verified passphrase --- */

/* One round: every bound slot at once; the first passphrase that opens its
 * keyslot wins. 0 with out set, 1 no binding at all, -1 none opened. */
static int recover_once(struct luks_dev *d, const char *dev, long long deadline, bool quiet, struct buf *out)
{
	/* a person is asked (tpm2pin's PIN) in the first round only */
	struct pin_opts po = { .deadline_ms = deadline, .quiet = quiet, .volume = dev, .no_person = quiet };
	struct slot_race *r;
	struct buf pass = { 0 };
	int bound = slot_race_start(d, -1, &po, &r), slot, result = -1;

	if (bound <= 0)
		return bound ? -1 : 1;
	while (result && (slot = slot_race_next(r, &pass)) >= 0) {
		if (luks_check_passphrase(d, slot, pass.p, pass.len) >= 0) {
			*out = pass;
			pass = (struct buf){ 0 };
			result = 0;
		}
		buf_free(&pass);
	}
	slot_race_release(r);
	return result;
}

/* Rounds until one opens or the deadline passes: early in boot the network
 * may not be up yet, which fails fast. Only the first round talks. */
static int recover(const char *dev, long timeout_s, struct buf *out)
{
	long long deadline = clock_mono_ms() + timeout_s * 1000;
	AUTO_LUKS d = NULL;
	int rc;

	if (!(d = open_device(dev)))
		return -1;
	for (bool quiet = false;; quiet = true) {
		rc = recover_once(d, dev, deadline, quiet, out);
		if (rc >= 0 || clock_mono_ms() + 1000 > deadline)
			break;
		sleep(1);
	}
	if (rc == 1)
		msg("%s: no clevis binding", dev);
	else if (rc)
		msg("%s: no clevis binding recovered its passphrase within %lds", dev, timeout_s);
	return rc ? -1 : 0;
}

/* A growing set of strings (devices, ask file names); no fixed limit. */
struct strset {
	char **v;
	size_t n, cap;
};

static bool strset_has(const struct strset *s, const char *str)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], str))
			return true;
	return false;
}

/* Out of memory: not added, so the worst case is a second try. */
static void strset_add(struct strset *s, const char *str)
{
	if (strset_has(s, str))
		return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		char **v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return;
		s->v = v;
		s->cap = cap;
	}
	if ((s->v[s->n] = strdup(str)))
		s->n++;
}

/* Devices this run is done with: answered (the passphrase was delivered) or
 * given up on after a whole deadline; a second prompt for one is for the
 * person at the console. Only prompts that proved to be root's get here, so
 * no one else can use a device up. */
static struct strset done;

/* --- systemd password agent --- */

struct ask {
	char id[sizeof("cryptsetup:") + PATH_MAX];
	char socket[sizeof(((struct sockaddr_un *)0)->sun_path)];
	long long not_after;	/* CLOCK_MONOTONIC µs, 0 = none */
	long pid;
};

/* A cut Socket= or Id= would name another socket or device: refuse it. */
static int set_value(char *dst, size_t cap, const char *v)
{
	size_t n = strlen(v);

	if (n >= cap)
		return -1;
	memcpy(dst, v, n + 1);
	return 0;
}

/* The [Ask] keys we use from ask file NAME in dirfd, which must be root's
 * regular file (not a link); 0, or -1 with why set (NULL: the file is
 * gone, as systemd removes answered prompts). */
static int parse_ask(int dirfd, const char *name, struct ask *a, const char **why)
{
	AUTO_BUF f = { 0 };
	bool in_ask = false;
	struct stat st;
	int fd, r;

	memset(a, 0, sizeof(*a));
	/* O_NONBLOCK: a FIFO must not hang the agent */
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		*why = errno == ENOENT ? NULL : errno == ELOOP ? "a symbolic link" : strerror(errno);
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		*why = "not a regular file";
	else if (st.st_uid != 0)
		*why = "not owned by root";
	else if (read_fd_all(fd, ASK_FILE_MAX, &f))
		*why = errno == EFBIG ? "too large" : strerror(errno);
	else
		*why = NULL;
	close(fd);
	if (*why)
		return -1;
	for (char *save = NULL, *l = strtok_r((char *)f.p, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		const char *v;
		long n;

		if (*l == '[') {
			in_ask = !strcmp(l, "[Ask]");
			continue;
		}
		if (!in_ask)
			continue;
		r = 0;
		if ((v = str_after_prefix(l, "Id=")) && (r = set_value(a->id, sizeof(a->id), v)))
			*why = "its Id= is too long";
		else if ((v = str_after_prefix(l, "Socket=")) && (r = set_value(a->socket, sizeof(a->socket), v)))
			*why = "its Socket= is too long for a socket address";
		else if ((v = str_after_prefix(l, "NotAfter=")) && parse_number_quiet(v, 0, LONG_MAX, &n))
			a->not_after = n;
		else if ((v = str_after_prefix(l, "PID=")) && parse_number_quiet(v, 1, INT_MAX, &n))
			a->pid = (pid_t)n;
		if (r)
			return -1;
	}
	if (!a->socket[0])
		*why = "no Socket=";
	return a->socket[0] ? 0 : -1;
}

/* Socket= must be a root-owned socket right inside the ask directory (as
 * systemd makes them), never a path of the asker's choosing. */
static int check_socket(int dirfd, const char *dir, const char *sock, const char **why)
{
	size_t dl = strlen(dir);
	const char *name = sock + dl + 1;
	struct stat st;

	if (strncmp(sock, dir, dl) || sock[dl] != '/' || !*name || strchr(name, '/') ||
	    !strcmp(name, ".") || !strcmp(name, "..")) {
		*why = "its Socket= is not in the ask directory";
		return -1;
	}
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISSOCK(st.st_mode)) {
		*why = "its Socket= is not a socket";
		return -1;
	}
	if (st.st_uid != 0) {
		*why = "its Socket= is not owned by root";
		return -1;
	}
	return 0;
}

static int reply(const char *sock, const struct buf *pass)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	AUTO_BUF dgram = { 0 };
	int fd, rc;

	if (strlen(sock) >= sizeof(sa.sun_path) || buf_alloc(&dgram, pass->len + 1))
		return -1;
	memcpy(sa.sun_path, sock, strlen(sock));
	dgram.p[0] = '+';	/* "+" = here is the password; "-" would cancel */
	memcpy(dgram.p + 1, pass->p, pass->len);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	rc = sendto(fd, dgram.p, dgram.len, 0, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)dgram.len ? 0 : -1;
	close(fd);
	return rc;
}

/* The ask directory, open; -1 unless only root can write it (anyone who can
 * could plant an ask file or a socket for the passphrase). */
static int open_ask_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;

	if (fd < 0) {
		if (errno != ENOENT)
			msg("%s: %s", dir, strerror(errno));
		return -1;
	}
	const char *why = fstat(fd, &st) ? strerror(errno) : st.st_uid != 0 ? "not owned by root" :
			  st.st_mode & (S_IWGRP | S_IWOTH) ? "writable by group or others" : NULL;
	if (why) {
		msg("%s: %s: refusing to answer its prompts", dir, why);
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* Ask files already reported as refused, so -l says it once. */
static struct strset refused;

static void refuse(const char *dir, const char *name, const char *why)
{
	if (strset_has(&refused, name))
		return;
	strset_add(&refused, name);
	msg("%s/%s: %s: ignored", dir, name, why);
}

/* Answers every ask file it can; returns how many ask files exist, -1 when
 * the directory itself is not safe. */
static int agent_scan(const char *dir, long timeout_s)
{
	int dirfd = open_ask_dir(dir);
	DIR *dp;
	struct dirent *e;
	int asks = 0;

	if (dirfd < 0)
		return errno == EPERM ? -1 : 0;
	if (!(dp = fdopendir(dirfd))) {
		close(dirfd);
		return 0;
	}
	while ((e = readdir(dp))) {
		struct ask a;
		struct stat st;
		const char *why;

		if (!str_after_prefix(e->d_name, "ask."))
			continue;
		asks++;
		if (parse_ask(dirfd, e->d_name, &a, &why)) {
			if (why)
				refuse(dir, e->d_name, why);
			continue;
		}
		const char *dev = str_after_prefix(a.id, "cryptsetup:");
		if (!dev)
			continue;	/* not a volume's prompt: not ours */
		/* NotAfter= is CLOCK_MONOTONIC microseconds, as clock_mono_us() */
		if (a.not_after && a.not_after < clock_mono_us())
			continue;
		if ((a.pid > 0 && kill(a.pid, 0) && errno == ESRCH) || stat(dev, &st) || strset_has(&done, dev))
			continue;
		if (check_socket(dirfd, dir, a.socket, &why)) {
			refuse(dir, e->d_name, why);
			continue;
		}
		AUTO_BUF pass = { 0 };
		if (recover(dev, timeout_s, &pass)) {
			strset_add(&done, dev);	/* given up: the person's turn */
			continue;
		}
		if (reply(a.socket, &pass)) {
			msg("%s: cannot answer the prompt on %s: %s", dev, a.socket, strerror(errno));
		} else {
			strset_add(&done, dev);
			msg("%s: unlocked with its clevis binding", dev);
		}
	}
	closedir(dp);
	return asks;
}

static int agent(const char *dir, bool loop, long timeout_s)
{
	int fd = -1, asks;

	if (loop) {
		mkdir(dir, 0755);
		/* watch before scanning, so no ask file slips between the two */
		if ((fd = inotify_init1(IN_CLOEXEC)) < 0 ||
		    inotify_add_watch(fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE) < 0) {
			msg("%s: %s", dir, strerror(errno));
			return 1;
		}
	}
	/* -l: stay while any ask file is pending (answered or left to a person),
	 * so the path unit does not restart us in a loop while one remains. */
	while ((asks = agent_scan(dir, timeout_s)) > 0 && loop) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char ev[4096];
		if (poll(&p, 1, 1000) > 0 && read(fd, ev, sizeof(ev)) < 0 && errno != EAGAIN)
			break;
	}
	if (fd >= 0)
		close(fd);
	return asks < 0 ? 1 : 0;
}

/* --- initramfs-tools: cryptsetup's askpass and its FIFO --- */

/* /proc/PID/WHAT through the process's directory fd, at most 64 KiB. */
static int read_proc(int procfd, const char *what, struct buf *out)
{
	int fd = openat(procfd, what, O_RDONLY | O_CLOEXEC), r;

	out->p = NULL;
	out->len = 0;
	if (fd < 0)
		return -1;
	r = read_fd_all(fd, 65536, out);
	close(fd);
	return r;
}

/* Real, effective, saved and file system uid all 0. */
static bool run_by_root(int procfd)
{
	AUTO_BUF st = { 0 };
	const char *l;
	unsigned long u[4];

	if (read_proc(procfd, "status", &st) || !(l = strstr((char *)st.p, "\nUid:")))
		return false;
	return sscanf(l, "\nUid: %lu %lu %lu %lu", &u[0], &u[1], &u[2], &u[3]) == 4 &&
	       !u[0] && !u[1] && !u[2] && !u[3];
}

/* The CRYPTTAB_SOURCE of PID if it is cryptsetup's askpass, else NULL.
 * cryptsetup's run_keyscript execs the askpass binary itself, so its
 * executable is askpass_exe (a real path); argv and the environment are
 * the process's to choose and prove nothing. Everything is read through
 * one /proc/PID fd: a PID reused meanwhile fails the reads. */
static char *askpass_source(const char *askpass_exe, long pid)
{
	char path[32], exe[PATH_MAX];
	AUTO_BUF env = { 0 };
	char *src = NULL;
	ssize_t n;
	int procfd;

	snprintf(path, sizeof(path), "/proc/%ld", pid);
	if ((procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return NULL;
	n = readlinkat(procfd, "exe", exe, sizeof(exe));
	if (n > 0 && (size_t)n < sizeof(exe)) {
		exe[n] = '\0';
		if (!strcmp(exe, askpass_exe) && run_by_root(procfd) && !read_proc(procfd, "environ", &env))
			for (size_t off = 0; off < env.len && !src; off += strlen((char *)env.p + off) + 1)
				if (!strncmp((char *)env.p + off, "CRYPTTAB_SOURCE=", 16))
					src = strdup((char *)env.p + off + 16);
	}
	close(procfd);
	return src;
}

/* Descriptor FD of PID (a name in /proc/PID/fd) was opened for writing. */
static bool fd_writes(long pid, const char *fd)
{
	char path[sizeof("/proc//fdinfo/") + 20 + NAME_MAX];
	AUTO_BUF info = { 0 };
	const char *l;
	unsigned long flags;
	int f;

	snprintf(path, sizeof(path), "/proc/%ld/fdinfo/%s", pid, fd);
	if ((f = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	int r = read_fd_all(f, 65536, &info);
	close(f);
	if (r || !(l = strstr((char *)info.p, "flags:")))
		return false;
	return sscanf(l, "flags: %lo", &flags) == 1 && (flags & O_ACCMODE) != O_RDONLY;
}

/* PID holds the FIFO (its dev and inode) open for writing. */
static bool proc_writes_fifo(long pid, const struct stat *fifo)
{
	char path[32];
	bool found = false;
	struct dirent *e;
	DIR *dp;
	int fds;

	snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
	if ((fds = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return false;
	if (!(dp = fdopendir(fds))) {
		close(fds);
		return false;
	}
	while (!found && (e = readdir(dp))) {
		struct stat st;	/* stat follows the fd link to the open file */
		if (e->d_name[0] != '.' && !fstatat(fds, e->d_name, &st, 0) &&
		    st.st_dev == fifo->st_dev && st.st_ino == fifo->st_ino)
			found = fd_writes(pid, e->d_name);
	}
	closedir(dp);
	return found;
}

/* Another process is writing into the FIFO: a person answering through it
 * (cryptroot-unlock from an SSH session). askpass reads the FIFO to its end,
 * so two writers at once hand cryptsetup both passphrases as one - a wrong
 * one, and a try lost. */
static bool fifo_written_by_other(const struct stat *fifo)
{
	DIR *dp = opendir("/proc");
	bool found = false;
	struct dirent *e;
	long self = getpid();

	while (dp && !found && (e = readdir(dp))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (!*end && pid > 0 && pid != self)
			found = proc_writes_fifo(pid, fifo);
	}
	if (dp)
		closedir(dp);
	return found;
}

/* The FIFO at PATH has a writer other than us. */
static bool fifo_busy(const char *path)
{
	struct stat st;

	return !lstat(path, &st) && S_ISFIFO(st.st_mode) && fifo_written_by_other(&st);
}

/* Writes the passphrase into askpass's FIFO (root's, not a link); it reads
 * the FIFO to its end: one open, one write - and none while someone else
 * writes (errno EBUSY; checked with our end open, so a writer that came
 * first is seen; one that opens between this check and askpass reading our
 * end's EOF is not - a window of a scheduling delay). */
static int answer_fifo(const char *fifo, const struct buf *pass)
{
	int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC), r;
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISFIFO(st.st_mode) || st.st_uid != 0) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	if (fifo_written_by_other(&st)) {
		close(fd);
		errno = EBUSY;
		return -1;
	}
	r = write_all(fd, pass->p, pass->len);
	close(fd);
	return r;
}

/* Once per device: we stand back while someone else writes the answer. */
static void say_busy(const char *src, const char *fifo)
{
	static struct strset said;

	if (strset_has(&said, src))
		return;
	strset_add(&said, src);
	msg("%s: someone else is writing the answer into %s; not answering", src, fifo);
}

static _Noreturn void cryptroot(const char *fifo, const char *askpass_exe, long timeout_s)
{
	for (;;) {	/* until local-bottom ends us */
		DIR *dp = opendir("/proc");
		struct dirent *e;

		while (dp && (e = readdir(dp))) {
			char *end;
			long pid = strtol(e->d_name, &end, 10);
			AUTO_FREE char *src = NULL;
			AUTO_BUF pass = { 0 };

			if (*end || pid <= 0 || !(src = askpass_source(askpass_exe, pid)) || strset_has(&done, src))
				continue;
			if (fifo_busy(fifo)) {	/* a person is answering: look again next round */
				say_busy(src, fifo);
				continue;
			}
			if (recover(src, timeout_s, &pass)) {
				strset_add(&done, src);	/* given up: the person's turn */
				continue;
			}
			if (answer_fifo(fifo, &pass)) {
				if (errno == EBUSY)
					say_busy(src, fifo);
				else
					msg("%s: cannot answer the prompt through %s: %s", src, fifo, strerror(errno));
			} else {
				strset_add(&done, src);
				msg("%s: unlocked with its clevis binding", src);
			}
		}
		if (dp)
			closedir(dp);
		usleep(250 * 1000);
	}
}

enum { OPT_TIMEOUT = OPTION_LONG(0) };

static const struct applet_help help = {
	.usage = "[-l] [-p DIR] [--timeout SEC]\n"
		 "       nbde askpass -c [-f FIFO] [-a ASKPASS] [--timeout SEC]",
	.about = "Answers boot passphrase prompts with what the volume's clevis bindings\n"
		 "recover; the prompt stays usable as the fallback.",
	.opts = (const struct option_spec[]){
		{ 'p', NULL, "DIR", "systemd password agent on DIR (default /run/systemd/ask-password);\n"
				    "only root's ask files and sockets in it, and only if no one\n"
				    "but root can write it" },
		{ 'l', NULL, NULL, "keep watching while any ask file is pending" },
		{ 'c', NULL, NULL, "initramfs-tools: answer cryptsetup's askpass through its FIFO" },
		{ 'f', NULL, "FIFO", "that FIFO (default /lib/cryptsetup/passfifo)" },
		{ 'a', NULL, "ASKPASS", "cryptsetup's askpass executable: only root processes running\n"
					"it are answered (default /lib/cryptsetup/askpass)" },
		{ OPT_TIMEOUT, "timeout", "SEC", "per volume (default: nbde.timeout= on the kernel command\n"
						 "line, else " STRINGIFY(PIN_DEFAULT_TIMEOUT_S) ")" },
		{ 0 } },
};

int askpass_main(int argc, char **argv)
{
	const char *dir = "/run/systemd/ask-password", *fifo = "/lib/cryptsetup/passfifo";
	const char *askpass = "/lib/cryptsetup/askpass";
	bool loop = false, fifo_mode = false;
	long timeout_s = 0;
	int c;

	while ((c = options_next(argc, argv, &help)) != OPTIONS_END) {
		switch (c) {
		case OPTIONS_HELP: return 0;
		case OPTIONS_ERROR: return exit_usage();
		case 'l': loop = true; break;
		case 'p': dir = optarg; break;
		case 'c': fifo_mode = true; break;
		case 'f': fifo = optarg; break;
		case 'a': askpass = optarg; break;
		case OPT_TIMEOUT:
			if (!parse_seconds(optarg, "--timeout", &timeout_s))
				return exit_usage();
			break;
		}
	}
	if (optind != argc)
		return usage_error(&help, "unexpected argument '%s'", argv[optind]);
	if (!timeout_s)
		timeout_s = boot_timeout();
	if (fifo_mode) {
		/* /lib may be a link to usr/lib: /proc/PID/exe is the real path */
		char exe[PATH_MAX];
		if (!realpath(askpass, exe)) {
			msg("%s: %s", askpass, strerror(errno));
			return 1;
		}
		cryptroot(fifo, exe, timeout_s);
	}
	/* Socket= is compared with DIR as written, less trailing slashes */
	char d[PATH_MAX];
	size_t dl = strlen(dir);
	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	if (dl >= sizeof(d)) {
		return usage_error(&help, "%s: path too long", dir);
	}
	memcpy(d, dir, dl);
	d[dl] = '\0';
	return agent(d, loop, timeout_s);
}
