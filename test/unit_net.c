/* unit_net.c - address ranges (net/cidr.c) and the PROXY protocol v2 header
 * (net/proxy_v2.c): what is accepted, what matches, what is refused. */
#include "../net/cidr.h"
#include "../net/proxy_v2.h"
#include "tap.h"

#include <string.h>

static bool in(const char *range, const char *addr)
{
	struct cidr c;
	struct net_addr a;

	return cidr_parse(range, &c) && net_addr_parse(addr, &a) && cidr_match(&c, &a);
}

static bool parses(const char *range)
{
	struct cidr c;
	return cidr_parse(range, &c);
}

static void ranges(void)
{
	OK(in("10.0.0.0/8", "10.200.3.4"), "10.200.3.4 is in 10.0.0.0/8");
	OK(!in("10.0.0.0/8", "11.0.0.1"), "11.0.0.1 is not");
	OK(in("192.168.4.0/22", "192.168.7.255") && !in("192.168.4.0/22", "192.168.8.0"),
	   "a prefix that ends inside a byte (/22)");
	OK(in("127.0.0.2", "127.0.0.2") && !in("127.0.0.2", "127.0.0.3"), "an address alone is a /32");
	OK(in("0.0.0.0/0", "203.0.113.9") && !in("0.0.0.0/0", "::1"), "0.0.0.0/0 is every IPv4 address, no IPv6");
	OK(in("2001:db8::/32", "2001:db8:1::5") && !in("2001:db8::/32", "2001:db9::1"), "IPv6 /32");
	OK(in("::1", "::1") && !in("::1", "127.0.0.1"), "::1 alone");
	OK(in("10.0.0.0/8", "::ffff:10.1.2.3"), "an IPv4-mapped client matches the IPv4 range");
	OK(in("::ffff:10.0.0.0/104", "10.9.9.9"), "a mapped range is the IPv4 range");
	OK(!parses("10.0.0.1/8"), "bits past the prefix are refused");
	OK(!parses("10.0.0.0/33") && !parses("::/129"), "prefixes longer than the address are refused");
	OK(!parses("10.0.0.0/") && !parses("/8") && !parses("10.0.0.0/08") && !parses("10.0.0.0/8x") &&
	   !parses("10.0.0.0/-1") && !parses("example.org/8") && !parses(""),
	   "malformed ranges are refused");
	struct cidr_list l = { 0 };
	struct cidr c;
	struct net_addr a;
	OK(cidr_parse("10.0.0.0/8", &c) && cidr_list_add(&l, &c) && cidr_parse("fd00::/8", &c) &&
	   cidr_list_add(&l, &c), "a list of two ranges");
	OK(net_addr_parse("fd12::1", &a) && cidr_list_match(&l, &a), "the list matches the second");
	OK(net_addr_parse("172.16.0.1", &a) && !cidr_list_match(&l, &a), "... and not an address outside both");
	memset(&a, 0, sizeof(a));
	OK(!cidr_list_match(&l, &a), "an unknown address matches nothing");
	cidr_list_free(&l);
	char text[NET_ADDR_TEXT_MAX];
	net_addr_parse("::ffff:127.0.0.3", &a);
	net_addr_format(&a, text, sizeof(text));
	OK(!strcmp(text, "127.0.0.3"), "a mapped address prints as IPv4 (%s)", text);
}

static const unsigned char sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

/* A v2 header: command, family, addresses (as many bytes as given), then tlv bytes. */
static size_t header(unsigned char *out, unsigned cmd, unsigned fam, const unsigned char *addrs, size_t alen,
		     size_t tlv)
{
	memcpy(out, sig, 12);
	out[12] = (unsigned char)(0x20 | cmd);
	out[13] = (unsigned char)fam;
	out[14] = (unsigned char)((alen + tlv) >> 8);
	out[15] = (unsigned char)(alen + tlv);
	memcpy(out + 16, addrs, alen);
	memset(out + 16 + alen, 0, tlv);
	return 16 + alen + tlv;
}

static void proxy_header(void)
{
	unsigned char b[1024], v4[12] = { 192, 0, 2, 7, 127, 0, 0, 1, 0x30, 0x39, 0x23, 0x82 }, v6[36] = { 0 };
	struct proxy_v2 p;
	size_t need, n;
	char text[NET_ADDR_TEXT_MAX];

	n = header(b, 1, 0x11, v4, sizeof(v4), 0);
	OK(proxy_v2_parse(b, n, &p, &need) == PROXY_V2_DONE && need == 28 && !p.local && p.src_port == 12345,
	   "PROXY TCP4: done after 28 bytes, source port 12345");
	net_addr_format(&p.src, text, sizeof(text));
	OK(!strcmp(text, "192.0.2.7"), "... source address 192.0.2.7 (%s)", text);
	size_t more = 0;
	for (size_t i = 0; i < n; i++)
		more += proxy_v2_parse(b, i, &p, &need) == PROXY_V2_MORE && need == (i < 16 ? 16 : 28);
	OK(more == n, "every shorter prefix asks for more: 16 bytes, then 28 (%zu of %zu)", more, n);
	v6[0] = 0x20, v6[1] = 0x01, v6[2] = 0x0d, v6[3] = 0xb8, v6[15] = 9;
	n = header(b, 1, 0x21, v6, sizeof(v6), 20);
	OK(proxy_v2_parse(b, n, &p, &need) == PROXY_V2_DONE && need == n && p.src.family == 6,
	   "PROXY TCP6 with 20 bytes of TLVs");
	net_addr_format(&p.src, text, sizeof(text));
	OK(!strcmp(text, "2001:db8::9"), "... source 2001:db8::9 (%s)", text);
	memset(v6, 0, sizeof(v6));
	v6[10] = v6[11] = 0xff, v6[12] = 10, v6[15] = 1;
	n = header(b, 1, 0x21, v6, sizeof(v6), 0);
	OK(proxy_v2_parse(b, n, &p, &need) == PROXY_V2_DONE && p.src.family == 4, "a mapped TCP6 source is IPv4");
	n = header(b, 0, 0x00, v4, 0, 0);
	OK(proxy_v2_parse(b, n, &p, &need) == PROXY_V2_DONE && p.local && need == 16, "LOCAL without addresses");
	n = header(b, 1, 0x11, v4, sizeof(v4), PROXY_V2_BODY_MAX - sizeof(v4));
	OK(proxy_v2_parse(b, n, &p, &need) == PROXY_V2_DONE, "a header of exactly the maximum length");
	n = header(b, 1, 0x11, v4, sizeof(v4), PROXY_V2_BODY_MAX - sizeof(v4) + 1);
	OK(proxy_v2_parse(b, 16, &p, &need) == PROXY_V2_INVALID, "one byte longer is refused from its length field");
	n = header(b, 1, 0x11, v4, 8, 0);
	OK(proxy_v2_parse(b, n, &p, &need) == PROXY_V2_INVALID, "TCP4 with too short an address block");
	n = header(b, 1, 0x12, v4, sizeof(v4), 0);
	OK(proxy_v2_parse(b, n, &p, &need) == PROXY_V2_INVALID, "UDP is refused");
	n = header(b, 1, 0x31, v4, sizeof(v4), 0);
	OK(proxy_v2_parse(b, n, &p, &need) == PROXY_V2_INVALID, "UNIX addresses are refused");
	n = header(b, 2, 0x11, v4, sizeof(v4), 0);
	OK(proxy_v2_parse(b, n, &p, &need) == PROXY_V2_INVALID, "an unknown command is refused");
	n = header(b, 1, 0x11, v4, sizeof(v4), 0);
	b[12] = 0x11;
	OK(proxy_v2_parse(b, 13, &p, &need) == PROXY_V2_INVALID, "version 1 in the binary header is refused");
	OK(proxy_v2_parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 32, &p, &need) == PROXY_V2_INVALID,
	   "the text (v1) header is refused");
	OK(proxy_v2_parse("GET /adv HTTP/1.1\r\n\r\n", 21, &p, &need) == PROXY_V2_INVALID,
	   "HTTP instead of a header is refused at its first byte");
	OK(proxy_v2_parse(sig, 1, &p, &need) == PROXY_V2_MORE, "one byte of the signature asks for more");
}

int main(void)
{
	ranges();
	proxy_header();
	return tap_done();
}
