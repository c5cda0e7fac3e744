/* cidr.c - addresses and CIDR ranges (see cidr.h). */
#include "cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const unsigned char v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static void set_v6(struct net_addr *out, const unsigned char b[16])
{
	memset(out, 0, sizeof(*out));
	if (!memcmp(b, v4_mapped, sizeof(v4_mapped))) {
		out->family = 4;
		memcpy(out->bytes, b + 12, 4);
	} else {
		out->family = 6;
		memcpy(out->bytes, b, 16);
	}
}

bool net_addr_parse(const char *text, struct net_addr *out)
{
	unsigned char b[16];

	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, text, b) == 1) {
		out->family = 4;
		memcpy(out->bytes, b, 4);
		return true;
	}
	if (inet_pton(AF_INET6, text, b) == 1) {
		set_v6(out, b);
		return true;
	}
	return false;
}

bool net_addr_from_sockaddr(const struct sockaddr *sa, struct net_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		out->family = 4;
		memcpy(out->bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		set_v6(out, ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
		return true;
	}
	return false;
}

void net_addr_format(const struct net_addr *a, char *out, size_t size)
{
	int af = a->family == 4 ? AF_INET : AF_INET6;

	if (!a->family || !inet_ntop(af, a->bytes, out, (socklen_t)size))
		snprintf(out, size, "<unknown>");
}

bool net_addr_equal(const struct net_addr *a, const struct net_addr *b)
{
	return a->family == b->family && !memcmp(a->bytes, b->bytes, sizeof(a->bytes));
}

/* True when bits past the first n of b are 0. */
static bool host_bits_clear(const unsigned char *b, unsigned n, unsigned total)
{
	for (unsigned i = n; i < total; i++)
		if (b[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

bool cidr_parse(const char *text, struct cidr *out)
{
	char addr[NET_ADDR_TEXT_MAX];
	const char *slash = strchr(text, '/');
	size_t len = slash ? (size_t)(slash - text) : strlen(text);
	unsigned max, bits;

	memset(out, 0, sizeof(*out));
	if (!len || len >= sizeof(addr))
		return false;
	memcpy(addr, text, len);
	addr[len] = 0;
	if (!net_addr_parse(addr, &out->net))
		return false;
	max = out->net.family == 4 ? 32 : 128;
	bits = max;
	if (slash) {
		const char *p = slash + 1;
		char *end;
		unsigned long v;
		if (*p < '0' || *p > '9' || (p[0] == '0' && p[1]))
			return false;
		v = strtoul(p, &end, 10);
		if (*end || v > 128)
			return false;
		bits = (unsigned)v;
		/* ::ffff:10.0.0.0/104 is 10.0.0.0/8 */
		if (out->net.family == 4 && strchr(addr, ':')) {
			if (bits < 96)
				return false;
			bits -= 96;
		}
		if (bits > max)
			return false;
	}
	out->bits = bits;
	return host_bits_clear(out->net.bytes, bits, max);
}

bool cidr_match(const struct cidr *c, const struct net_addr *a)
{
	unsigned whole = c->bits / 8, rest = c->bits % 8;

	if (!a->family || a->family != c->net.family)
		return false;
	if (memcmp(a->bytes, c->net.bytes, whole))
		return false;
	if (!rest)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a->bytes[whole] & mask) == c->net.bytes[whole];
}

bool cidr_list_add(struct cidr_list *l, const struct cidr *c)
{
	struct cidr *more = realloc(l->v, (l->n + 1) * sizeof(*more));

	if (!more)
		return false;
	more[l->n++] = *c;
	l->v = more;
	return true;
}

bool cidr_list_match(const struct cidr_list *l, const struct net_addr *a)
{
	for (size_t i = 0; l && i < l->n; i++)
		if (cidr_match(&l->v[i], a))
			return true;
	return false;
}

void cidr_list_free(struct cidr_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
