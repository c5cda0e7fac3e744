/* transport.c - one connection to a TPM 2.0: see transport.h. */
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../../crypto/secret.h"
#include "../../net/clock.h"

#define SWTPM_DEFAULT_HOST "localhost"
#define SWTPM_DEFAULT_PORT "2321"	/* swtpm's and tpm2-tools' default */
/* A TPM asks to be asked again (RETRY, YIELDED, TESTING) for a few ms at a
 * time; a pause this long keeps the retries cheap. */
#define TPM_RETRY_PAUSE_MS 20
#define TPM_RC_RETRY 0x922
#define TPM_RC_YIELDED 0x908
#define TPM_RC_TESTING 0x90A

/* t->err = the formatted text, ": ", strerror(errno) */
static int __attribute__((format(printf, 2, 3))) fail(struct tpm *t, const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(t->err))
		snprintf(t->err + n, sizeof(t->err) - (size_t)n, ": %s", strerror(e));
	return -1;
}

static int open_device(struct tpm *t, const char *path)
{
	struct stat st;

	t->fd = open(path, O_RDWR | O_CLOEXEC);
	if (t->fd < 0)
		return fail(t, "cannot open the TPM %s", path);
	if (fstat(t->fd, &st) || !S_ISCHR(st.st_mode)) {
		close(t->fd);
		t->fd = -1;
		errno = ENODEV;
		return fail(t, "%s is not a TPM character device", path);
	}
	return 0;
}

/* /dev/tpmrm0, or /dev/tpm0 on kernels without the resource manager */
static int open_default(struct tpm *t)
{
	if (!open_device(t, TPM_DEFAULT_DEVICE))
		return 0;
	if (errno != ENOENT)
		return -1;
	if (!open_device(t, TPM_FALLBACK_DEVICE))
		return 0;
	if (errno == ENOENT)
		snprintf(t->err, sizeof(t->err),
			 "no TPM: neither " TPM_DEFAULT_DEVICE " nor " TPM_FALLBACK_DEVICE
			 " exists (no TPM 2.0, or its driver tpm_tis/tpm_crb is not loaded)");
	return -1;
}

static int wait_fd(struct tpm *t, short events)
{
	struct pollfd p = { .fd = t->fd, .events = events };

	for (;;) {
		long long left = t->deadline_ms - clock_mono_ms();
		if (left <= 0) {
			snprintf(t->err, sizeof(t->err), "the TPM did not answer in time");
			return -1;
		}
		int n = poll(&p, 1, left > 1000 ? 1000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return fail(t, "waiting for the TPM");
	}
}

static int connect_by(struct tpm *t, const struct sockaddr *sa, socklen_t len, int family, const char *what)
{
	int err = 0;
	socklen_t elen = sizeof(err);

	t->fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (t->fd < 0)
		return fail(t, "cannot reach swtpm at %s", what);
	if (!connect(t->fd, sa, len))
		return 0;
	if (errno != EINPROGRESS)
		return fail(t, "cannot reach swtpm at %s", what);
	if (wait_fd(t, POLLOUT))
		return -1;
	if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &elen) || err) {
		errno = err ? err : errno;
		return fail(t, "cannot reach swtpm at %s", what);
	}
	return 0;
}

static int open_unix(struct tpm *t, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (!*path || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(t->err, sizeof(t->err), "TPM2TOOLS_TCTI: swtpm socket path is empty or too long");
		return -1;
	}
	strcpy(sa.sun_path, path);
	return connect_by(t, (struct sockaddr *)&sa, sizeof(sa), AF_UNIX, path);
}

static int open_tcp(struct tpm *t, const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *ai = NULL;
	int rc = getaddrinfo(host, port, &hints, &ai);

	if (rc) {
		snprintf(t->err, sizeof(t->err), "swtpm host %.100s port %s: %s", host, port, gai_strerror(rc));
		return -1;
	}
	rc = connect_by(t, ai->ai_addr, ai->ai_addrlen, ai->ai_family, host);
	freeaddrinfo(ai);
	return rc;
}

/* The value of KEY= in a "k=v,k=v" option list, copied into out. */
static bool tcti_option(const char *opts, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);

	for (const char *p = opts; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		if (strncmp(p, key, klen) || p[klen] != '=')
			continue;
		const char *v = p + klen + 1;
		size_t n = strcspn(v, ",");
		if (n >= outlen)
			return false;
		memcpy(out, v, n);
		out[n] = 0;
		return true;
	}
	return false;
}

static int open_swtpm(struct tpm *t, const char *opts)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)], host[256] = SWTPM_DEFAULT_HOST;
	char port[16] = SWTPM_DEFAULT_PORT;

	if (tcti_option(opts, "path", path, sizeof(path)))
		return open_unix(t, path);
	if (opts && *opts && !tcti_option(opts, "host", host, sizeof(host)) &&
	    !tcti_option(opts, "port", port, sizeof(port))) {
		snprintf(t->err, sizeof(t->err), "TPM2TOOLS_TCTI: swtpm options are path=SOCKET or host=H,port=P");
		return -1;
	}
	tcti_option(opts, "host", host, sizeof(host));
	tcti_option(opts, "port", port, sizeof(port));
	return open_tcp(t, host, port);
}

int tpm_open(struct tpm *t, const char *tcti, long long deadline_ms)
{
	t->fd = -1;
	t->deadline_ms = deadline_ms;
	t->rc = 0;
	t->err[0] = 0;
	t->resp_len = 0;
	if (!tcti || !*tcti || !strcmp(tcti, "device"))
		return open_default(t);
	if (!strncmp(tcti, "device:", 7))
		return open_device(t, tcti + 7);
	if (!strcmp(tcti, "swtpm") || !strncmp(tcti, "swtpm:", 6))
		return open_swtpm(t, tcti[5] ? tcti + 6 : NULL);
	snprintf(t->err, sizeof(t->err),
		 "TPM2TOOLS_TCTI: only device:PATH and swtpm:path=SOCKET|host=H,port=P are supported");
	return -1;
}

void tpm_close(struct tpm *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	wipe(t->resp, sizeof(t->resp));
	t->resp_len = 0;
}

static bool is_socket(int fd)
{
	struct stat st;
	return !fstat(fd, &st) && S_ISSOCK(st.st_mode);
}

static int send_all(struct tpm *t, const unsigned char *p, size_t len, bool sock)
{
	while (len) {
		if (sock && wait_fd(t, POLLOUT))
			return -1;
		ssize_t n = write(t->fd, p, len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return fail(t, "sending to the TPM");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads until want bytes are in t->resp (a socket delivers in pieces). */
static int recv_until(struct tpm *t, size_t want)
{
	while (t->resp_len < want) {
		if (wait_fd(t, POLLIN))
			return -1;
		ssize_t n = read(t->fd, t->resp + t->resp_len, want - t->resp_len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return fail(t, "reading from the TPM");
		if (n == 0) {
			snprintf(t->err, sizeof(t->err), "the TPM closed the connection mid-response");
			return -1;
		}
		t->resp_len += (size_t)n;
	}
	return 0;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A socket: the header, then as many bytes as its size says (bounded). */
static int recv_stream(struct tpm *t)
{
	if (recv_until(t, TPM_HEADER_LEN))
		return -1;
	uint32_t size = be32(t->resp + 2);
	if (size < TPM_HEADER_LEN || size > sizeof(t->resp)) {
		snprintf(t->err, sizeof(t->err), "TPM response size %u is out of bounds", size);
		return -1;
	}
	return recv_until(t, size);
}

/* The character device answers a whole response to one read. Its wait is
 * bounded by the kernel driver's timeouts (TPM 2.0 commands: 2 min at most),
 * not by the deadline: with O_NONBLOCK the driver runs the command in a
 * worker that holds the file's buffer mutex, which poll() takes too, so a
 * poll timeout would not end the wait either (drivers/char/tpm/tpm-dev-common.c). */
static int recv_device(struct tpm *t)
{
	ssize_t n;

	do
		n = read(t->fd, t->resp, sizeof(t->resp));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return fail(t, "reading from the TPM");
	if (n < TPM_HEADER_LEN) {
		snprintf(t->err, sizeof(t->err), "the TPM device gave no complete answer (is it a TPM?)");
		return -1;
	}
	t->resp_len = (size_t)n;
	return 0;
}

static int transact_once(struct tpm *t, const struct tpm_wbuf *cmd)
{
	bool sock = is_socket(t->fd);

	wipe(t->resp, t->resp_len);
	t->resp_len = 0;
	if (send_all(t, cmd->b, cmd->len, sock) || (sock ? recv_stream(t) : recv_device(t)))
		return -1;
	t->rc = t->resp_len >= TPM_HEADER_LEN ? be32(t->resp + 6) : 0;
	return 0;
}

static void pause_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int tpm_transact(struct tpm *t, const struct tpm_wbuf *cmd)
{
	if (t->fd < 0 || cmd->overflow) {
		snprintf(t->err, sizeof(t->err), "TPM command could not be built");
		return -1;
	}
	for (;;) {
		if (transact_once(t, cmd))
			return -1;
		if (t->rc != TPM_RC_RETRY && t->rc != TPM_RC_YIELDED && t->rc != TPM_RC_TESTING)
			return 0;
		if (clock_mono_ms() + TPM_RETRY_PAUSE_MS >= t->deadline_ms)
			return 0;
		pause_ms(TPM_RETRY_PAUSE_MS);
	}
}
