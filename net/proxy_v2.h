/* proxy_v2.h - the PROXY protocol v2 header a load balancer (HAProxy,
 * nginx, AWS NLB) puts before the client's bytes, so the server learns the
 * client's address. A pure function over the bytes received so far; the
 * server (server.c) accepts it only from the addresses it is told to trust.
 *
 * Accepted: the binary signature, version 2, command LOCAL (the balancer's
 * own check: the connection's address stays) or PROXY with TCP over IPv4 or
 * IPv6. The text v1 header, UDP and UNIX addresses are refused. TLVs after
 * the addresses are skipped, within the bound below. */
#ifndef NBDE_PROXY_V2_H
#define NBDE_PROXY_V2_H

#include <stdbool.h>
#include <stddef.h>

#include "cidr.h"

#define PROXY_V2_HEAD 16
/* Addresses (36 bytes for IPv6) and the TLVs balancers add (ALPN, an
 * authority, a unique id, SSL details): HAProxy's own buffer for them is
 * 216 bytes, so nothing real is longer, and a peer cannot make us hold more. */
#define PROXY_V2_BODY_MAX 216
#define PROXY_V2_MAX (PROXY_V2_HEAD + PROXY_V2_BODY_MAX)

enum proxy_v2_result {
	PROXY_V2_MORE,		/* a valid beginning: *need says how many bytes in all */
	PROXY_V2_DONE,		/* a whole header of *need bytes */
	PROXY_V2_INVALID,
};

struct proxy_v2 {
	bool local;			/* LOCAL: no client address */
	struct net_addr src;		/* PROXY: the client */
	unsigned src_port;
};

/* Looks at the first len bytes of a connection. *need is the header's
 * whole length once its first 16 bytes are there (PROXY_V2_HEAD before). */
enum proxy_v2_result proxy_v2_parse(const void *data, size_t len, struct proxy_v2 *out, size_t *need);

#endif
