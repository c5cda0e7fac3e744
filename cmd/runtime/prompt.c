/* prompt.c - asking a person for a secret (see prompt.h). The agent side
 * follows systemd's password agent protocol as systemd-ask-password speaks
 * it: an [Ask] file renamed into place, answers as one datagram "+SECRET"
 * (or "-" to cancel) from a root sender (SCM_CREDENTIALS). */
#include "prompt.h"
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "../../crypto/rand.h"

#define ASK_DIR "/run/systemd/ask-password"
#define SYSTEMD_RUNNING "/run/systemd/system"	/* sd_booted()'s test */
#define CONSOLE "/dev/console"
#define SOCKET_MODE 0600	/* the answer socket: writable by root only */
/* Waits wake this often to look at the deadline and at abandoned(). */
#define PROMPT_TICK_MS 100

static pthread_mutex_t prompt_mu = PTHREAD_MUTEX_INITIALIZER;

/* --- what a fatal signal or exit() must undo while a prompt is up: the
 * terminal's echo, the agent request's files --- */

#define ASK_PATH_MAX (sizeof(ASK_DIR "/ask.") + 16)

static volatile sig_atomic_t echo_off_fd = -1;
static struct termios echo_saved;
static volatile sig_atomic_t agent_posted;
static char agent_paths[3][ASK_PATH_MAX];	/* the ask file, its socket, its tmp file while agent_posted */
static const int fatal_signals[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM };
static struct sigaction fatal_saved[ARRAY_SIZE(fatal_signals)];

/* Echo back on, the request removed (async-signal-safe). */
static void undo_prompt(void)
{
	int fd = echo_off_fd;

	if (fd >= 0)
		tcsetattr(fd, TCSANOW, &echo_saved);
	for (size_t i = 0; agent_posted && i < ARRAY_SIZE(agent_paths); i++)
		unlink(agent_paths[i]);
}

/* The process can end while a prompt is up in another thread: sss has its
 * shares (tang answered) and returns, its abandoned tpm2pin child is not
 * waited for. exit() undoes the prompt too. */
static void undo_at_exit_register(void)
{
	atexit(undo_prompt);
}

/* A fatal signal during a prompt: undo_prompt, then what the signal would
 * have done (the handler that was there, else the default). */
static void undo_on_signal(int sig)
{
	undo_prompt();
	for (size_t i = 0; i < ARRAY_SIZE(fatal_signals); i++) {
		if (fatal_signals[i] != sig)
			continue;
		sigaction(sig, &fatal_saved[i], NULL);
		raise(sig);	/* delivered when this handler returns */
	}
}

/* A signal ignored from the start (SIGINT in a shell's background job)
 * stays ignored: it ends nothing, so echo must stay off through it. */
static void fatal_signals_catch(void)
{
	static pthread_once_t at_exit = PTHREAD_ONCE_INIT;
	struct sigaction sa = { .sa_handler = undo_on_signal };

	pthread_once(&at_exit, undo_at_exit_register);

	for (size_t i = 0; i < ARRAY_SIZE(fatal_signals); i++)
		if (!sigaction(fatal_signals[i], NULL, &fatal_saved[i]) && fatal_saved[i].sa_handler != SIG_IGN)
			sigaction(fatal_signals[i], &sa, NULL);
}

static void fatal_signals_release(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(fatal_signals); i++)
		sigaction(fatal_signals[i], &fatal_saved[i], NULL);
}

/* --- the terminal: echo off, and back on whatever happens --- */

static void echo_off(int fd)
{
	struct termios quiet;

	if (tcgetattr(fd, &echo_saved))
		return;
	quiet = echo_saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	fatal_signals_catch();
	echo_off_fd = fd;
	if (tcsetattr(fd, TCSAFLUSH, &quiet)) {
		echo_off_fd = -1;
		fatal_signals_release();
	}
}

static void echo_on(int fd)
{
	if (echo_off_fd < 0)
		return;
	tcsetattr(fd, TCSAFLUSH, &echo_saved);
	echo_off_fd = -1;
	fatal_signals_release();
	write_all(fd, "\n", 1);
}

/* --- waiting --- */

static bool given_up(const struct secret_prompt *p)
{
	return (p->deadline_ms && clock_mono_ms() >= p->deadline_ms) || (p->abandoned && p->abandoned(p->ctx));
}

/* Waits until fd is readable: 1, 0 when the prompt was given up, -1 on error. */
static int wait_readable(int fd, const struct secret_prompt *p)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	for (;;) {
		if (given_up(p))
			return 0;
		int n = poll(&pfd, 1, PROMPT_TICK_MS);
		if (n > 0)
			return pfd.revents & POLLIN ? 1 : -1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* One line from a terminal in canonical mode; Ctrl-D on an empty line or a
 * line too long is no answer. */
static enum prompt_result read_terminal_line(int fd, const struct secret_prompt *p, struct buf *out)
{
	unsigned char c;

	if (buf_alloc(out, PROMPT_SECRET_MAX))
		return PROMPT_NO_WAY;
	out->len = 0;
	for (;;) {
		int w = wait_readable(fd, p);
		if (w <= 0)
			break;
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0 || out->len == PROMPT_SECRET_MAX)
			break;
		if (c == '\n' || c == '\r') {
			out->p[out->len] = 0;
			return PROMPT_OK;
		}
		out->p[out->len++] = c;
	}
	buf_free(out);
	return PROMPT_NO_ANSWER;
}

static enum prompt_result ask_terminal(int fd, const struct secret_prompt *p, struct buf *out)
{
	/* echo off first: its flush must not drop what is typed once the
	 * prompt shows */
	echo_off(fd);
	write_all(fd, p->message, strlen(p->message));
	write_all(fd, " ", 1);
	enum prompt_result r = read_terminal_line(fd, p, out);
	echo_on(fd);
	return r;
}

/* --- the console, under the lock file NBDE_CONSOLE_LOCK names --- */

/* An exclusive lock on path, waited for like the answer; -1 when given up. */
static int console_lock(const char *path, const struct secret_prompt *p, const char **why)
{
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0) {
		*why = "cannot open the console lock file (NBDE_CONSOLE_LOCK)";
		return -1;
	}
	while (flock(fd, LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK || given_up(p)) {
			close(fd);
			*why = "the console stayed locked by another prompt";
			return -1;
		}
		poll(NULL, 0, PROMPT_TICK_MS);
	}
	return fd;
}

static enum prompt_result ask_console(const struct secret_prompt *p, struct buf *out, const char **why)
{
	const char *lock = getenv("NBDE_CONSOLE_LOCK");
	int lfd = -1, fd;
	enum prompt_result r;

	if (lock && *lock && (lfd = console_lock(lock, p, why)) < 0)
		return PROMPT_NO_ANSWER;
	if ((fd = open(CONSOLE, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		*why = "cannot open " CONSOLE;
		r = PROMPT_NO_WAY;
	} else {
		r = ask_terminal(fd, p, out);
		close(fd);
	}
	if (lfd >= 0)
		close(lfd);	/* drops the lock */
	return r;
}

/* --- the systemd password agents --- */

/* Writes s as systemd's C-unescape reads it back: printable ASCII as is. */
static void put_cescaped(FILE *f, const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '\\')
			fputs("\\\\", f);
		else if (*c < ' ' || *c >= 0x7f)
			fprintf(f, "\\x%02x", *c);
		else
			fputc(*c, f);
	}
}

struct agent_request {
	char ask[ASK_PATH_MAX];
	char sock_path[ASK_PATH_MAX];
	int sock;
};

static void agent_request_remove(struct agent_request *a)
{
	if (a->ask[0])
		unlink(a->ask);
	if (a->sock >= 0) {
		unlink(a->sock_path);
		close(a->sock);
	}
}

/* The socket the answer comes to, credentials on. */
static int agent_socket(struct agent_request *a, const char *suffix)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int one = 1;

	snprintf(a->sock_path, sizeof(a->sock_path), ASK_DIR "/sck.%s", suffix);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", a->sock_path);
	a->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (a->sock < 0)
		return -1;
	/* bind() gives the socket file this mode less the umask: root's alone
	 * whatever the umask (systemd binds under umask 0177), so agents
	 * without the right to answer skip the request instead of asking a
	 * person for nothing; the uid check in agent_receive stays the guard */
	if (fchmod(a->sock, SOCKET_MODE) ||
	    bind(a->sock, (struct sockaddr *)&sa, sizeof(sa)) ||
	    setsockopt(a->sock, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one))) {
		close(a->sock);
		a->sock = -1;
		return -1;
	}
	return 0;
}

/* The [Ask] file, written aside and renamed into place: agents never see
 * half of it. */
static int agent_ask_file(struct agent_request *a, const char *suffix, const struct secret_prompt *p)
{
	char tmp[ASK_PATH_MAX];
	int fd;
	FILE *f;

	snprintf(tmp, sizeof(tmp), ASK_DIR "/tmp.%s", suffix);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0)
		return -1;
	if (fchmod(fd, 0644) || !(f = fdopen(fd, "w"))) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	fprintf(f, "[Ask]\nPID=%ld\nSocket=%s\nAcceptCached=0\nEcho=0\nNotAfter=%lld\nMessage=", (long)getpid(),
		a->sock_path, p->deadline_ms ? p->deadline_ms * 1000 : 0);
	put_cescaped(f, p->message);
	fputs("\nIcon=drive-harddisk\nId=", f);
	put_cescaped(f, p->id);
	fputc('\n', f);
	snprintf(a->ask, sizeof(a->ask), ASK_DIR "/ask.%s", suffix);
	if (fclose(f) || rename(tmp, a->ask)) {
		unlink(tmp);
		a->ask[0] = 0;
		return -1;
	}
	return 0;
}

/* One datagram: 1 with the secret in out, 0 for a cancel, -1 to ignore
 * (not root's, cut, or not an answer). */
static int agent_receive(int sock, struct buf *out)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} control;
	AUTO_BUF data = { 0 };
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control) };
	const struct ucred *cred = NULL;

	if (buf_alloc(&data, PROMPT_SECRET_MAX + 2))
		return -1;
	iov = (struct iovec){ .iov_base = data.p, .iov_len = PROMPT_SECRET_MAX + 2 };
	ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
			cred = (const struct ucred *)(void *)CMSG_DATA(c);
	if (!cred || cred->uid != 0)
		return -1;
	if (n == 0 || data.p[0] == '-')
		return 0;
	if (data.p[0] != '+')
		return -1;
	/* several answers are NUL-separated: the first */
	size_t len = strnlen((const char *)data.p + 1, (size_t)n - 1);
	if (len > PROMPT_SECRET_MAX || buf_alloc(out, PROMPT_SECRET_MAX))
		return -1;
	memcpy(out->p, data.p + 1, len);
	out->p[len] = 0;
	out->len = len;
	return 1;
}

static enum prompt_result ask_agent(const struct secret_prompt *p, struct buf *out, const char **why)
{
	struct agent_request a = { .sock = -1 };
	unsigned char rnd[8];
	char suffix[17];
	enum prompt_result r = PROMPT_NO_ANSWER;

	if (rand_bytes(rnd, sizeof(rnd)))
		return PROMPT_NO_WAY;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(suffix + 2 * i, 3, "%02x", rnd[i]);
	/* killed while waiting, the request goes too: an agent showing it
	 * takes it down only when the file goes */
	snprintf(agent_paths[0], ASK_PATH_MAX, ASK_DIR "/ask.%s", suffix);
	snprintf(agent_paths[1], ASK_PATH_MAX, ASK_DIR "/sck.%s", suffix);
	snprintf(agent_paths[2], ASK_PATH_MAX, ASK_DIR "/tmp.%s", suffix);
	agent_posted = 1;
	fatal_signals_catch();
	if ((mkdir(ASK_DIR, 0755) && errno != EEXIST) || agent_socket(&a, suffix) ||
	    agent_ask_file(&a, suffix, p)) {
		*why = "cannot post a request to the password agents in " ASK_DIR;
		r = PROMPT_NO_WAY;
	} else {
		for (;;) {
			if (wait_readable(a.sock, p) <= 0)
				break;
			int got = agent_receive(a.sock, out);
			if (got >= 0) {
				r = got ? PROMPT_OK : PROMPT_NO_ANSWER;
				break;
			}
		}
	}
	agent_request_remove(&a);
	agent_posted = 0;
	fatal_signals_release();
	return r;
}

/* --- choosing --- */

static int open_tty(void)
{
	return open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
}

const char *prompt_channel(void)
{
	const char *forced = getenv("NBDE_PROMPT");
	int fd;

	if (forced && (!strcmp(forced, "tty") || !strcmp(forced, "agent") || !strcmp(forced, "console") ||
		       !strcmp(forced, "none")))
		return forced;
	if ((fd = open_tty()) >= 0) {
		close(fd);
		return "tty";
	}
	/* the console only when the initramfs hook says so: a process without
	 * a terminal elsewhere must not take over the machine's console */
	return is_directory(SYSTEMD_RUNNING) ? "agent" : "tty";
}

enum prompt_result prompt_secret(const struct secret_prompt *p, struct buf *out, const char **why)
{
	const char *channel = prompt_channel();
	enum prompt_result r;
	int fd;

	*out = (struct buf){ 0 };
	*why = NULL;
	pthread_mutex_lock(&prompt_mu);
	if (given_up(p))
		r = PROMPT_NO_ANSWER;
	else if (!strcmp(channel, "none")) {
		*why = "asking a person is off here (NBDE_PROMPT=none)";
		r = PROMPT_NO_WAY;
	} else if (!strcmp(channel, "agent"))
		r = ask_agent(p, out, why);
	else if (!strcmp(channel, "console"))
		r = ask_console(p, out, why);
	else if ((fd = open_tty()) < 0) {
		*why = "no terminal to ask on";
		r = PROMPT_NO_WAY;
	} else {
		r = ask_terminal(fd, p, out);
		close(fd);
	}
	pthread_mutex_unlock(&prompt_mu);
	if (r != PROMPT_OK)
		buf_free(out);
	return r;
}
