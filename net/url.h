/* url.h - the http:// and https:// URLs nbde talks to: host names, IPv4
 * literals and bracketed IPv6 literals, optional port, path. A URL without a
 * scheme is http, as curl treats it (clevis configs use "localhost:PORT"). */
#ifndef NBDE_URL_H
#define NBDE_URL_H

#include <stdbool.h>

#define URL_HOST_MAX 255

struct url {
	char host[URL_HOST_MAX + 1];	/* name or address, without IPv6 brackets */
	char port[6];			/* decimal, "80" (http) or "443" (https) by default */
	char authority[URL_HOST_MAX + 9];	/* Host header value: [v6]:port, port only when not the default */
	bool tls;			/* https:// */
	char *path;			/* malloc'd, starts with '/', query kept, fragment dropped */
};

/* 0, or -1 with *err naming what is wrong (a static string). Schemes other
 * than http:// and https:// are refused. */
int url_parse(const char *text, struct url *u, const char **err);
void url_free(struct url *u);

#endif
