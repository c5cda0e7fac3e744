/* cidr.h - client addresses and address ranges (CIDR), IPv4 and IPv6, for
 * access lists and the PROXY protocol's list of trusted senders. No I/O.
 *
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack socket
 * reports for an IPv4 client) is the IPv4 address, so "10.0.0.0/8" matches
 * it whichever socket it came in on. */
#ifndef NBDE_CIDR_H
#define NBDE_CIDR_H

#include <stdbool.h>
#include <stddef.h>

struct sockaddr;

/* Text of the longest address: an IPv6 address with an IPv4 tail. */
#define NET_ADDR_TEXT_MAX 46

struct net_addr {
	unsigned char family;		/* 4, 6, or 0 when unknown */
	unsigned char bytes[16];	/* IPv4: the first 4; the rest are 0 */
};

struct cidr {
	struct net_addr net;		/* bits past the prefix are 0 */
	unsigned bits;			/* prefix length: 0..32 or 0..128 */
};

struct cidr_list {
	struct cidr *v;
	size_t n;
};

/* "10.0.0.0/8", "2001:db8::/32", or an address alone (every bit). False
 * when it is not one, or sets bits past the prefix ("10.0.0.1/8" is a typo
 * for a host or for a network: neither is guessed). */
bool cidr_parse(const char *text, struct cidr *out);
bool cidr_match(const struct cidr *c, const struct net_addr *a);

/* Appends a range; false when out of memory. */
bool cidr_list_add(struct cidr_list *l, const struct cidr *c);
bool cidr_list_match(const struct cidr_list *l, const struct net_addr *a);
void cidr_list_free(struct cidr_list *l);

/* An address from a socket address or text; false (family 0) for anything else. */
bool net_addr_from_sockaddr(const struct sockaddr *sa, struct net_addr *out);
bool net_addr_parse(const char *text, struct net_addr *out);
/* "127.0.0.1", "::1"; "<unknown>" for family 0. */
void net_addr_format(const struct net_addr *a, char *out, size_t size);
bool net_addr_equal(const struct net_addr *a, const struct net_addr *b);

#endif
