/* proxy_v2.c - the PROXY protocol v2 header (see proxy_v2.h). */
#include "proxy_v2.h"

#include <string.h>

static const unsigned char signature[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

enum { CMD_LOCAL = 0x0, CMD_PROXY = 0x1 };
enum { TCP4 = 0x11, TCP6 = 0x21 };
/* bytes of source and destination address and port */
enum { TCP4_ADDRS = 12, TCP6_ADDRS = 36 };

static enum proxy_v2_result addresses(const unsigned char *b, size_t body, struct proxy_v2 *out)
{
	const unsigned char *a = b + PROXY_V2_HEAD;

	if (b[13] == TCP4 && body >= TCP4_ADDRS) {
		out->src.family = 4;
		memcpy(out->src.bytes, a, 4);
		out->src_port = (unsigned)a[8] << 8 | a[9];
		return PROXY_V2_DONE;
	}
	if (b[13] == TCP6 && body >= TCP6_ADDRS) {
		char text[NET_ADDR_TEXT_MAX];
		struct net_addr v6 = { .family = 6 };
		memcpy(v6.bytes, a, 16);
		/* a mapped IPv4 client is that IPv4 address, as on a socket */
		net_addr_format(&v6, text, sizeof(text));
		if (!net_addr_parse(text, &out->src))
			return PROXY_V2_INVALID;
		out->src_port = (unsigned)a[32] << 8 | a[33];
		return PROXY_V2_DONE;
	}
	return PROXY_V2_INVALID;
}

enum proxy_v2_result proxy_v2_parse(const void *data, size_t len, struct proxy_v2 *out, size_t *need)
{
	const unsigned char *b = data;
	size_t body;

	memset(out, 0, sizeof(*out));
	*need = PROXY_V2_HEAD;
	if (memcmp(b, signature, len < sizeof(signature) ? len : sizeof(signature)))
		return PROXY_V2_INVALID;
	if (len > 12 && (b[12] >> 4 != 2 || ((b[12] & 0xf) != CMD_LOCAL && (b[12] & 0xf) != CMD_PROXY)))
		return PROXY_V2_INVALID;
	if (len < PROXY_V2_HEAD)
		return PROXY_V2_MORE;
	body = (size_t)b[14] << 8 | b[15];
	if (body > PROXY_V2_BODY_MAX)
		return PROXY_V2_INVALID;
	*need = PROXY_V2_HEAD + body;
	if ((b[12] & 0xf) == CMD_PROXY && b[13] != TCP4 && b[13] != TCP6)
		return PROXY_V2_INVALID;
	if (len < *need)
		return PROXY_V2_MORE;
	if ((b[12] & 0xf) == CMD_LOCAL) {
		out->local = true;
		return PROXY_V2_DONE;
	}
	return addresses(b, body, out);
}
