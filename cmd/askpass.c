/* askpass.c - the askpass applet: answers a boot's passphrase prompts with
 * what the volume's clevis bindings recover, so the prompt itself stays the
 * fallback. Two prompt protocols:
 *
 *   nbde askpass [-l] [-p DIR]        systemd password agent: ask.* files in
 *                                     DIR (default /run/systemd/ask-password)
 *                                     with Id=cryptsetup:DEV get "+PASSPHRASE"
 *                                     on their AF_UNIX datagram Socket=.
 *   nbde askpass -c [-f FIFO]         initramfs-tools: a running cryptsetup
 *                                     askpass (CRYPTTAB_SOURCE in its
 *                                     environment) gets the passphrase through
 *                                     its FIFO (default /lib/cryptsetup/passfifo).
 *
 * Each device is tried once per run: bindings are decrypted concurrently and
 * retried (the network may come up late) until the deadline - --timeout,
 * else nbde.timeout= on the kernel command line, else 30 s - then it is left
 * to the person at the prompt. A passphrase is sent only after it opened its
 * keyslot, so a wrong one never costs a cryptsetup attempt. */
#include "applets.h"
#include "luks_util.h"
#include "pins.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
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

#define MAX_SLOTS 32
#define MAX_DONE 64

/* --- recovering a verified passphrase --- */

struct try {
	char *jwe;
	struct buf pt;
	int rc;
	bool done;
	struct race *r;
};

/* Never freed: decrypt threads may outlive the caller's interest (they end
 * by the deadline or on cancel). */
struct race {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct pin_cancel cancel;
	struct pin_opts po;
	struct try t[MAX_SLOTS];
	int slot[MAX_SLOTS];
};

static void *decrypt_thread(void *arg)
{
	struct try *t = arg;
	struct buf pt = { 0 };
	int rc = pin_decrypt(t->jwe, strlen(t->jwe), &pt, &t->r->po);

	pthread_mutex_lock(&t->r->mu);
	t->pt = pt;
	t->rc = rc;
	t->done = true;
	pthread_cond_broadcast(&t->r->cv);
	pthread_mutex_unlock(&t->r->mu);
	return NULL;
}

/* One round: every bound slot at once; the first passphrase that opens its
 * keyslot wins. 0 with out set, 1 no binding at all, -1 none opened. */
static int recover_once(struct luks_dev *d, long long deadline, bool quiet, struct buf *out)
{
	struct race *r = calloc(1, sizeof(*r));
	int n = 0, result = -1;

	if (!r || pthread_mutex_init(&r->mu, NULL) || pthread_cond_init(&r->cv, NULL))
		return -1;
	r->po = (struct pin_opts){ .deadline_ms = deadline, .quiet = quiet, .cancel = &r->cancel };
	for (int s = 0; s < luks_slot_count(d) && n < MAX_SLOTS; s++) {
		pthread_t th;
		if (!(r->t[n].jwe = slot_jwe(d, s)))
			continue;
		r->t[n].r = r;
		r->slot[n] = s;
		if (pthread_create(&th, NULL, decrypt_thread, &r->t[n])) {
			r->t[n].done = true;
			r->t[n].rc = -1;
		} else {
			pthread_detach(th);
		}
		n++;
	}
	if (!n)
		return 1;
	pthread_mutex_lock(&r->mu);
	for (bool pending = true; result && pending;) {
		pending = false;
		for (int i = 0; i < n && result; i++) {
			struct try *t = &r->t[i];
			if (!t->done) {
				pending = true;
				continue;
			}
			if (t->rc || !t->pt.p)
				continue;
			struct buf pt = t->pt;
			t->pt = (struct buf){ 0 };
			pthread_mutex_unlock(&r->mu);	/* PBKDF: do not block the workers */
			if (luks_check_passphrase(d, r->slot[i], pt.p, pt.len) >= 0) {
				*out = pt;
				result = 0;
			} else {
				buf_free(&pt);
			}
			pthread_mutex_lock(&r->mu);
		}
		if (result && pending) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 200 * 1000000L;	/* re-check the deadline */
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&r->cv, &r->mu, &ts);
			if (now_ms() > deadline + 500)
				break;
		}
	}
	atomic_store(&r->cancel.stop, true);
	pthread_mutex_unlock(&r->mu);
	return result;
}

/* Rounds until one opens or the deadline passes: early in boot the network
 * may not be up yet, which fails fast. Only the first round talks. */
static int recover(const char *dev, long timeout_s, struct buf *out)
{
	long long deadline = now_ms() + timeout_s * 1000;
	AUTO_LUKS d = NULL;
	int rc;

	if (!(d = open_device(dev)))
		return -1;
	for (bool quiet = false;; quiet = true) {
		rc = recover_once(d, deadline, quiet, out);
		if (rc >= 0 || now_ms() + 1000 > deadline)
			break;
		sleep(1);
	}
	if (rc == 1)
		msg("%s: no clevis binding", dev);
	else if (rc)
		msg("%s: no clevis binding recovered its passphrase within %lds", dev, timeout_s);
	return rc ? -1 : 0;
}

/* Devices already handled in this run: answered or given up on; a second
 * prompt for one means the person at the console is wanted. */
static char *done_dev[MAX_DONE];
static int n_done;

static bool handled(const char *dev)
{
	for (int i = 0; i < n_done; i++)
		if (!strcmp(done_dev[i], dev))
			return true;
	if (n_done < MAX_DONE)
		done_dev[n_done++] = strdup(dev);
	return false;
}

/* --- systemd password agent --- */

struct ask {
	char id[512], socket[108];
	long long not_after;	/* CLOCK_MONOTONIC µs, 0 = none */
	long pid;
};

/* The [Ask] keys we use from an ask.* ini file. */
static int parse_ask(const char *path, struct ask *a)
{
	AUTO_BUF f = { 0 };
	bool in_ask = false;

	memset(a, 0, sizeof(*a));
	if (read_file(path, 65536, &f))
		return -1;
	for (char *save = NULL, *l = strtok_r((char *)f.p, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (*l == '[') {
			in_ask = !strncmp(l, "[Ask]", 5);
			continue;
		}
		if (!in_ask)
			continue;
		if (!strncmp(l, "Id=", 3))
			snprintf(a->id, sizeof(a->id), "%s", l + 3);
		else if (!strncmp(l, "Socket=", 7))
			snprintf(a->socket, sizeof(a->socket), "%s", l + 7);
		else if (!strncmp(l, "NotAfter=", 9))
			a->not_after = atoll(l + 9);
		else if (!strncmp(l, "PID=", 4))
			a->pid = atol(l + 4);
	}
	return a->socket[0] ? 0 : -1;
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

/* Answers every ask file it can; returns how many ask files exist. */
static int agent_scan(const char *dir, long timeout_s)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	int asks = 0;

	if (!dp)
		return 0;
	while ((e = readdir(dp))) {
		char path[4096];
		struct ask a;
		struct timespec now;
		struct stat st;

		if (strncmp(e->d_name, "ask.", 4))
			continue;
		asks++;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (parse_ask(path, &a) || strncmp(a.id, "cryptsetup:", 11))
			continue;	/* not a volume's prompt: not ours */
		const char *dev = a.id + 11;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (a.not_after && a.not_after < now.tv_sec * 1000000LL + now.tv_nsec / 1000)
			continue;
		if ((a.pid > 0 && kill(a.pid, 0) && errno == ESRCH) || stat(dev, &st) || handled(dev))
			continue;
		AUTO_BUF pass = { 0 };
		if (recover(dev, timeout_s, &pass))
			continue;
		if (reply(a.socket, &pass))
			msg("%s: cannot answer the prompt on %s: %s", dev, a.socket, strerror(errno));
		else
			msg("%s: unlocked with its clevis binding", dev);
	}
	closedir(dp);
	return asks;
}

static int agent(const char *dir, bool loop, long timeout_s)
{
	int fd = -1;

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
	while (agent_scan(dir, timeout_s) > 0 && loop) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char ev[4096];
		if (poll(&p, 1, 1000) > 0 && read(fd, ev, sizeof(ev)) < 0 && errno != EAGAIN)
			break;
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

/* --- initramfs-tools: cryptsetup's askpass and its FIFO --- */

/* NUL-separated /proc file, at most 64 KiB. */
static int read_proc(long pid, const char *what, struct buf *out)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/%s", pid, what);
	return read_file(path, 65536, out);
}

/* The CRYPTTAB_SOURCE of a running cryptsetup askpass (argv[0] or, for a
 * script, argv[1] is .../cryptsetup/askpass), or NULL. */
static char *askpass_source(long pid)
{
	AUTO_BUF cmd = { 0 };
	AUTO_BUF env = { 0 };
	bool is_askpass = false;

	if (read_proc(pid, "cmdline", &cmd) || !cmd.len)
		return NULL;
	for (size_t off = 0, i = 0; off < cmd.len && i < 2; off += strlen((char *)cmd.p + off) + 1, i++) {
		const char *a = (char *)cmd.p + off;
		size_t l = strlen(a);
		if (l >= 19 && !strcmp(a + l - 19, "/cryptsetup/askpass"))
			is_askpass = true;
	}
	if (!is_askpass || read_proc(pid, "environ", &env))
		return NULL;
	for (size_t off = 0; off < env.len; off += strlen((char *)env.p + off) + 1)
		if (!strncmp((char *)env.p + off, "CRYPTTAB_SOURCE=", 16))
			return strdup((char *)env.p + off + 16);
	return NULL;
}

static _Noreturn void cryptroot(const char *fifo, long timeout_s)
{
	signal(SIGPIPE, SIG_IGN);
	for (;;) {	/* until local-bottom ends us */
		DIR *dp = opendir("/proc");
		struct dirent *e;

		while (dp && (e = readdir(dp))) {
			char *end;
			long pid = strtol(e->d_name, &end, 10);
			AUTO_FREE char *src = NULL;
			AUTO_BUF pass = { 0 };
			int fd;

			if (*end || pid <= 0 || !(src = askpass_source(pid)) || handled(src))
				continue;
			if (recover(src, timeout_s, &pass))
				continue;
			/* askpass reads the FIFO to its end: one open, one write */
			if ((fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0 ||
			    write_all(fd, pass.p, pass.len)) {
				msg("%s: cannot answer the prompt through %s: %s", src, fifo, strerror(errno));
			} else {
				msg("%s: unlocked with its clevis binding", src);
			}
			if (fd >= 0)
				close(fd);
		}
		if (dp)
			closedir(dp);
		usleep(250 * 1000);
	}
}

/* nbde.timeout=SEC on the kernel command line, else 30. */
static long boot_timeout(void)
{
	AUTO_BUF c = { 0 };
	long t = 30;

	if (!read_file("/proc/cmdline", 65536, &c) && c.len) {
		c.p[c.len - 1] = '\0';
		for (char *save = NULL, *w = strtok_r((char *)c.p, " \n", &save); w; w = strtok_r(NULL, " \n", &save))
			if (!strncmp(w, "nbde.timeout=", 13) && atol(w + 13) > 0)
				t = atol(w + 13);
	}
	return t;
}

static int usage(FILE *f, int rc)
{
	fprintf(f, "usage: nbde askpass [-l] [-p DIR] [--timeout SEC]\n"
		   "       nbde askpass -c [-f FIFO] [--timeout SEC]\n\n"
		   "Answers boot passphrase prompts with what the volume's clevis bindings\n"
		   "recover; the prompt stays usable as the fallback.\n"
		   "  -p DIR         systemd password agent on DIR (default /run/systemd/ask-password)\n"
		   "  -l             keep watching while any ask file is pending\n"
		   "  -c             initramfs-tools: answer cryptsetup's askpass through its FIFO\n"
		   "  -f FIFO        that FIFO (default /lib/cryptsetup/passfifo)\n"
		   "  --timeout SEC  per volume (default: nbde.timeout= on the kernel command line, else 30)\n");
	return rc;
}

int askpass_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *dir = "/run/systemd/ask-password", *fifo = "/lib/cryptsetup/passfifo";
	bool loop = false, fifo_mode = false;
	long timeout_s = 0;
	int c;

	if (!util_prog || !strcmp(util_prog, "nbde"))
		util_prog = "nbde askpass";
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hlp:cf:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': return usage(stdout, 0);
		case 'l': loop = true; break;
		case 'p': dir = optarg; break;
		case 'c': fifo_mode = true; break;
		case 'f': fifo = optarg; break;
		case 'W':
			if ((timeout_s = atol(optarg)) <= 0)
				return usage(stderr, 2);
			break;
		default: return usage(stderr, 2);
		}
	}
	if (optind != argc)
		return usage(stderr, 2);
	if (!timeout_s)
		timeout_s = boot_timeout();
	if (fifo_mode)
		cryptroot(fifo, timeout_s);
	return agent(dir, loop, timeout_s);
}
