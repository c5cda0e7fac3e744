/* tls_transport.h - TLS client sessions for https:// tang URLs.
 *
 * The one file outside crypto/ that includes Mbed TLS: it wraps Mbed TLS's
 * SSL API behind handshake/send/recv calls on a connected non-blocking
 * socket, so http_client.c keeps every wait, deadline, retry and size bound
 * for http and https alike. TLS 1.2 and 1.3, ECDHE with AES-GCM or
 * ChaCha20-Poly1305, SNI, and the server's certificate chain and host name
 * verified against the system CA bundle. There is no way to skip the
 * verification. */
#ifndef NBDE_TLS_TRANSPORT_H
#define NBDE_TLS_TRANSPORT_H

#include <stddef.h>

/* The CA bundle curl uses for clevis on Debian; SSL_CERT_FILE names
 * another one, as it does for OpenSSL and so for curl. */
#define TLS_CA_BUNDLE_DEFAULT "/etc/ssl/certs/ca-certificates.crt"
#define TLS_CA_BUNDLE_ENV "SSL_CERT_FILE"

enum tls_status {
	TLS_OK,			/* the handshake is done, or *n bytes moved (0 from
				 * tls_recv: the server closed the connection) */
	TLS_WANT_READ,		/* wait until the socket is readable, then call again
				 * with the same arguments */
	TLS_WANT_WRITE,		/* the same, until it is writable */
	TLS_NETWORK_FAILED,	/* the connection broke (reset, closed during the
				 * handshake): err says how; a retry may help */
	TLS_REFUSED,		/* the certificate, the server or the protocol was
				 * refused: err says why; a retry will not help */
};

struct tls_session;

/* A client session on the connected socket fd (not taken over: the caller
 * closes it) for host, the URL's host name or address: sent as SNI and
 * required in the server's certificate. NULL with err when the CA bundle
 * cannot be loaded or memory is short. */
struct tls_session *tls_session_new(int fd, const char *host, char *err, size_t errlen);
enum tls_status tls_handshake(struct tls_session *s, char *err, size_t errlen);
enum tls_status tls_send(struct tls_session *s, const void *p, size_t len, size_t *n, char *err, size_t errlen);
enum tls_status tls_recv(struct tls_session *s, void *p, size_t len, size_t *n, char *err, size_t errlen);
void tls_session_free(struct tls_session *s);

#endif
