/* tls_transport.c - TLS client sessions over Mbed TLS (see tls_transport.h).
 *
 * The CA bundle is parsed once per process and shared read-only by every
 * session; each session has its own Mbed TLS configuration and context, so
 * the sss pin's concurrent tang fetches share nothing mutable. */
#include "tls_transport.h"
#include "tunables.h"
#include "url.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/asn1.h>
#include <mbedtls/oid.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

/* Returned by the socket callbacks for a failed send or recv; the errno is
 * kept in the session. */
#define IO_FAILED (-0x7F00)

/* Only AEAD suites with ephemeral ECDH: forward secrecy, no CBC padding
 * oracles. Mbed TLS would otherwise also offer the CBC and CCM suites the
 * configuration enables for libcryptsetup. */
static const int suites[] = {
	MBEDTLS_TLS1_3_AES_128_GCM_SHA256,
	MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
	MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	0
};

/* --- the CA bundle, loaded on first use --- */

static pthread_once_t ca_once = PTHREAD_ONCE_INIT;
static mbedtls_x509_crt ca_chain;
static char ca_path[PATH_MAX];
static char ca_error[sizeof(ca_path) + 128];	/* empty when the bundle loaded */

static const char *bundle_path(void)
{
	const char *env = getenv(TLS_CA_BUNDLE_ENV);
	return env && *env ? env : TLS_CA_BUNDLE_DEFAULT;
}

/* The file's bytes plus a NUL (PEM parsing wants one), at most
 * TLS_CA_BUNDLE_MAX; NULL with errno. */
static unsigned char *read_bundle(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	unsigned char *buf = NULL;
	struct stat st;
	size_t used = 0;
	int e = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st)) {
		e = errno;
	} else if (!S_ISREG(st.st_mode)) {
		e = EINVAL;
	} else if (st.st_size > TLS_CA_BUNDLE_MAX) {
		e = EFBIG;
	} else if (!(buf = malloc((size_t)st.st_size + 1))) {
		e = ENOMEM;
	}
	while (!e) {
		ssize_t n = read(fd, buf + used, (size_t)st.st_size - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			e = errno;
		else if (n == 0 || (used += (size_t)n) == (size_t)st.st_size)
			break;
	}
	close(fd);
	if (e) {
		free(buf);
		errno = e;
		return NULL;
	}
	buf[used] = 0;
	*len = used + 1;
	return buf;
}

static void load_ca_bundle(void)
{
	unsigned char *pem;
	size_t len = 0;
	psa_status_t ps;

	mbedtls_x509_crt_init(&ca_chain);
	/* a cut path would name another file */
	if (snprintf(ca_path, sizeof(ca_path), "%s", bundle_path()) >= (int)sizeof(ca_path)) {
		snprintf(ca_error, sizeof(ca_error), "the CA bundle's path (%s) is too long", TLS_CA_BUNDLE_ENV);
		return;
	}
	/* TLS 1.3's key schedule runs in the PSA core */
	if ((ps = psa_crypto_init()) != PSA_SUCCESS) {
		snprintf(ca_error, sizeof(ca_error), "cannot start the TLS crypto core (PSA error %d)", (int)ps);
		return;
	}
	if (!(pem = read_bundle(ca_path, &len))) {
		snprintf(ca_error, sizeof(ca_error), "cannot read the CA bundle %s: %s", ca_path, strerror(errno));
		return;
	}
	/* a positive result counts certificates Mbed TLS cannot use (an
	 * algorithm it lacks): the others still count, as with OpenSSL */
	(void)mbedtls_x509_crt_parse(&ca_chain, pem, len);
	free(pem);
	if (!ca_chain.raw.p)
		snprintf(ca_error, sizeof(ca_error), "no usable certificate in the CA bundle %s", ca_path);
}

/* --- a session --- */

struct tls_session {
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	int fd;
	int io_errno;			/* of the last failed send or recv */
	char host[URL_HOST_MAX + 1];	/* for messages */
	char peer_name[TLS_PEER_NAME_MAX + 1];	/* a name the server's certificate is for */
};

static int rng(void *ctx, unsigned char *out, size_t len)
{
	while (len) {
		ssize_t n = getrandom(out, len > 256 ? 256 : len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
		out += n;
		len -= (size_t)n;
	}
	return 0;
}

static int bio_send(void *ctx, const unsigned char *p, size_t len)
{
	struct tls_session *s = ctx;

	for (;;) {
		/* MSG_NOSIGNAL: a peer that went away must not kill us with SIGPIPE */
		ssize_t n = send(s->fd, p, len, MSG_NOSIGNAL);
		if (n >= 0)
			return (int)n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return MBEDTLS_ERR_SSL_WANT_WRITE;
		s->io_errno = errno;
		return IO_FAILED;
	}
}

static int bio_recv(void *ctx, unsigned char *p, size_t len)
{
	struct tls_session *s = ctx;

	for (;;) {
		ssize_t n = recv(s->fd, p, len, 0);
		if (n >= 0)
			return (int)n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return MBEDTLS_ERR_SSL_WANT_READ;
		s->io_errno = errno;
		return IO_FAILED;
	}
}

/* Copies a printable form of a certificate name (the caller's message
 * escapes it again). */
static void keep_name(struct tls_session *s, const unsigned char *p, size_t n)
{
	size_t i;

	if (n > TLS_PEER_NAME_MAX)
		n = TLS_PEER_NAME_MAX;
	for (i = 0; i < n; i++)
		s->peer_name[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	s->peer_name[i] = 0;
}

/* Called for each certificate of the chain: remembers the first DNS name
 * (else the common name) of the server's own, for a clear message when it
 * is not the host's. Never changes the verdict. */
static int note_server_name(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct tls_session *s = ctx;

	if (depth != 0)
		return 0;
	s->peer_name[0] = 0;
	for (const mbedtls_x509_sequence *san = &crt->subject_alt_names; san && san->buf.p; san = san->next) {
		if (san->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME)) {
			keep_name(s, san->buf.p, san->buf.len);
			return 0;
		}
	}
	for (const mbedtls_x509_name *dn = &crt->subject; dn && dn->oid.p; dn = dn->next) {
		if (!MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &dn->oid)) {
			keep_name(s, dn->val.p, dn->val.len);
			return 0;
		}
	}
	return 0;
}

static int configure(struct tls_session *s)
{
	int r = mbedtls_ssl_config_defaults(&s->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
					    MBEDTLS_SSL_PRESET_DEFAULT);
	if (r)
		return r;
	mbedtls_ssl_conf_authmode(&s->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&s->conf, &ca_chain, NULL);
	mbedtls_ssl_conf_verify(&s->conf, note_server_name, s);
	mbedtls_ssl_conf_rng(&s->conf, rng, NULL);
	mbedtls_ssl_conf_ciphersuites(&s->conf, suites);
	mbedtls_ssl_conf_min_tls_version(&s->conf, MBEDTLS_SSL_VERSION_TLS1_2);
	mbedtls_ssl_conf_max_tls_version(&s->conf, MBEDTLS_SSL_VERSION_TLS1_3);
	if ((r = mbedtls_ssl_setup(&s->ssl, &s->conf)))
		return r;
	/* both the SNI sent and the name the certificate must carry */
	if ((r = mbedtls_ssl_set_hostname(&s->ssl, s->host)))
		return r;
	mbedtls_ssl_set_bio(&s->ssl, s, bio_send, bio_recv, NULL);
	return 0;
}

struct tls_session *tls_session_new(int fd, const char *host, char *err, size_t errlen)
{
	struct tls_session *s;

	pthread_once(&ca_once, load_ca_bundle);
	if (ca_error[0]) {
		snprintf(err, errlen, "%s", ca_error);
		return NULL;
	}
	if (strlen(host) > URL_HOST_MAX || !(s = calloc(1, sizeof(*s)))) {
		snprintf(err, errlen, "cannot start TLS: %s", strerror(ENOMEM));
		return NULL;
	}
	s->fd = fd;
	strcpy(s->host, host);
	mbedtls_ssl_init(&s->ssl);
	mbedtls_ssl_config_init(&s->conf);
	if (configure(s)) {
		tls_session_free(s);
		snprintf(err, errlen, "cannot start TLS: out of memory");
		return NULL;
	}
	return s;
}

void tls_session_free(struct tls_session *s)
{
	if (!s)
		return;
	mbedtls_ssl_free(&s->ssl);
	mbedtls_ssl_config_free(&s->conf);
	free(s);
}

/* --- results --- */

static const struct {
	uint32_t flag;
	const char *words;
} verify_words[] = {
	{ MBEDTLS_X509_BADCERT_EXPIRED, "it has expired" },
	{ MBEDTLS_X509_BADCERT_FUTURE, "it is not valid yet (is the clock right?)" },
	{ MBEDTLS_X509_BADCERT_NOT_TRUSTED, "it is not signed by a trusted CA" },
	{ MBEDTLS_X509_BADCERT_MISSING, "the server sent none" },
	{ MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE | MBEDTLS_X509_BADCERT_NS_CERT_TYPE,
	  "it is not for TLS servers" },
	{ MBEDTLS_X509_BADCERT_BAD_MD, "it is signed with a weak hash" },
	{ MBEDTLS_X509_BADCERT_BAD_PK | MBEDTLS_X509_BADCERT_BAD_KEY, "it is signed with a weak or unknown key" },
	{ MBEDTLS_X509_BADCERT_REVOKED, "it is revoked" },
};

/* "certificate of HOST refused: REASON; REASON", one line. */
static void describe_verify_failure(const struct tls_session *s, uint32_t flags, char *err, size_t errlen)
{
	size_t n = 0;
	const char *sep = "";

#define ADD(...) do { int w_ = snprintf(err + n, errlen - n, __VA_ARGS__); \
		      if (w_ > 0) n = (size_t)w_ < errlen - n ? n + (size_t)w_ : errlen - 1; } while (0)
	if (!errlen)
		return;
	err[0] = 0;
	ADD("certificate of %s refused: ", s->host);
	if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) {
		if (s->peer_name[0])
			ADD("it is for %s, not %s", s->peer_name, s->host);
		else
			ADD("it is for another host name");
		sep = "; ";
	}
	for (size_t i = 0; i < sizeof(verify_words) / sizeof(verify_words[0]); i++) {
		if (flags & verify_words[i].flag) {
			ADD("%s%s", sep, verify_words[i].words);
			sep = "; ";
		}
	}
	if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
		ADD(" (CA bundle %s)", ca_path);
	if (!*sep)
		ADD("verification failed (Mbed TLS flags 0x%x)", (unsigned)flags);
#undef ADD
}

/* Maps an Mbed TLS result to a status, err saying what failed. */
static enum tls_status status_of(struct tls_session *s, int r, const char *during, char *err, size_t errlen)
{
	uint32_t flags;

	switch (r) {
	case MBEDTLS_ERR_SSL_WANT_READ:
		return TLS_WANT_READ;
	case MBEDTLS_ERR_SSL_WANT_WRITE:
		return TLS_WANT_WRITE;
	case IO_FAILED:
		snprintf(err, errlen, "%s: %s", during, strerror(s->io_errno));
		return TLS_NETWORK_FAILED;
	case MBEDTLS_ERR_SSL_CONN_EOF:
		snprintf(err, errlen, "%s: the server closed the connection", during);
		return TLS_NETWORK_FAILED;
	}
	flags = mbedtls_ssl_get_verify_result(&s->ssl);
	if (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED || (flags && flags != 0xFFFFFFFFu)) {
		describe_verify_failure(s, flags, err, errlen);
		return TLS_REFUSED;
	}
	switch (r) {
	case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
		snprintf(err, errlen, "%s: the server sent a fatal alert (no TLS version, cipher suite "
			 "or group in common, or it wants a client certificate)", during);
		break;
	case MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION:
		snprintf(err, errlen, "%s: the server speaks neither TLS 1.2 nor TLS 1.3", during);
		break;
	case MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE:
		snprintf(err, errlen, "%s: no cipher suite or group in common with the server", during);
		break;
	case MBEDTLS_ERR_SSL_ALLOC_FAILED:
		snprintf(err, errlen, "%s: out of memory", during);
		break;
	default:
		snprintf(err, errlen, "%s: TLS protocol error (Mbed TLS -0x%04x)", during, (unsigned)-r);
	}
	return TLS_REFUSED;
}

enum tls_status tls_handshake(struct tls_session *s, char *err, size_t errlen)
{
	int r = mbedtls_ssl_handshake(&s->ssl);
	return r ? status_of(s, r, "TLS handshake failed", err, errlen) : TLS_OK;
}

enum tls_status tls_send(struct tls_session *s, const void *p, size_t len, size_t *n, char *err, size_t errlen)
{
	int r = mbedtls_ssl_write(&s->ssl, p, len);

	if (r >= 0) {
		*n = (size_t)r;
		return TLS_OK;
	}
	return status_of(s, r, "cannot send the request", err, errlen);
}

enum tls_status tls_recv(struct tls_session *s, void *p, size_t len, size_t *n, char *err, size_t errlen)
{
	int r = mbedtls_ssl_read(&s->ssl, p, len);

	if (r >= 0) {
		*n = (size_t)r;
		return TLS_OK;
	}
	/* The end of the reply, announced or not: HTTP's own framing
	 * (Content-Length, chunks) tells a cut reply from a whole one, and a
	 * cut advertisement or /rec reply fails its signature or JSON check. */
	if (r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || r == MBEDTLS_ERR_SSL_CONN_EOF) {
		*n = 0;
		return TLS_OK;
	}
	return status_of(s, r, "cannot read the reply", err, errlen);
}
