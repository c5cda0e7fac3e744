/* tunables.h - every number net/ chooses, with the reason for it, in one
 * place (protocol facts such as the PROXY v2 header size stay with their
 * parser). Lower layers never include upper ones: crypto/, luks/ and cmd/
 * keep their own. */
#ifndef NBDE_NET_TUNABLES_H
#define NBDE_NET_TUNABLES_H

/* ---- requests the server accepts (tang's bounds, plus one for the head) ---- */
#define HTTP_TARGET_MAX 4096	/* a target this long gets 414, as in tang */
#define HTTP_BODY_MAX 65536	/* a body this long gets 413, as in tang; servers may set less */
#define HTTP_HEAD_MAX 8192	/* header-line bytes that get 431: tang clients send a few dozen */
#define HTTP_METHOD_MAX 16	/* longer than any method anybody sends */
#define HTTP_CHUNK_LINE_MAX 1024	/* a chunk size and its extensions */
#define HTTP_BODY_FIRST_CAP 512	/* a first body buffer: a P-521 client JWK is under 400 bytes */

/* ---- the event-loop server ---- */
#define SERVER_READ_CHUNK 16384	/* one read: a whole tang request fits many times */
#define SERVER_WORKERS_MAX 64	/* threads for key math: more than cores only adds switching */
#define SERVER_WORKER_STACK (256 * 1024)	/* ECMR and JSON need far less than the 8 MiB default */
/* How long a closing connection reads what the client still sends, so the
 * reply is not destroyed by a reset. */
#define SERVER_DRAIN_MS 2000
/* Bytes all connections together may hold in request buffers. With the
 * default cap (1024) and tang's small bodies this is never reached; it
 * bounds a server run with a much larger -c. */
#define SERVER_REQUEST_MEMORY_BUDGET (16u << 20)
#define SERVER_ADDR_BUCKETS 1024	/* per-address counts (a power of two): ~1 per connection */
/* The request log's queue: a burst of a few hundred lines the log thread
 * catches up with; beyond it lines are dropped and counted, never waited on. */
#define SERVER_LOG_RING_BYTES (64 * 1024)
#define SERVER_LOG_LINE_MAX 512	/* the target is cut at 300 characters in a line */

/* ---- the client (pins fetching /adv and /rec) ---- */
#define HTTP_CONNECT_TIMEOUT_MS 3000LL	/* one connection attempt: loopback or LAN answers in ms */
#define HTTP_IDLE_TIMEOUT_MS 5000LL	/* silence while sending or receiving one reply */
/* Retries of transient failures (refused, unreachable, 502-504): at boot a
 * tang server or the network may come up late. */
#define HTTP_BACKOFF_FIRST_MS 100LL
#define HTTP_BACKOFF_MAX_MS 2000LL
#define HTTP_CLIENT_ADDRS_MAX 16	/* resolved addresses tried at once */
#define HTTP_CLIENT_POLL_SLICE_MS 100	/* how soon a cancelled request notices */
#define HTTP_CLIENT_LAST_ATTEMPT_MIN_MS 200	/* no point starting an attempt with less time left */
#define HTTP_REPLY_HEAD_MAX (16 * 1024)	/* status line + header lines of a reply */
#define HTTP_REPLY_BODY_MAX (1024 * 1024)	/* a decoded reply body: an advertisement is a few KiB */

/* ---- https (tls_transport.c) ---- */
#define TLS_CA_BUNDLE_MAX (8 << 20)	/* Debian's bundle is ~220 KB: room for a site's own CAs */
#define TLS_PEER_NAME_MAX 64	/* a certificate's name quoted in a refusal */

#endif
