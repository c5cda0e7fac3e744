/* url.c - http:// and https:// URL parsing for the tang client (see url.h). */
#include "url.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void url_free(struct url *u)
{
	free(u->path);
	u->path = NULL;
}

/* Returns the text after "scheme://", or text itself when it has no scheme;
 * sets u->tls for https. */
static const char *skip_scheme(const char *text, struct url *u, const char **err)
{
	const char *sep = strstr(text, "://");
	const char *c;

	if (!sep)
		return text;
	for (c = text; c < sep; c++)
		if (!isalpha((unsigned char)*c))
			return text;	/* "host:80/a://b" has no scheme */
	if (sep - text == 4 && !strncasecmp(text, "http", 4))
		return sep + 3;
	if (sep - text == 5 && !strncasecmp(text, "https", 5)) {
		u->tls = true;
		return sep + 3;
	}
	*err = "unsupported URL scheme (only http:// and https:// are)";
	return NULL;
}

static bool valid_name(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-._", s[i]))
			return false;
	return n > 0;
}

static bool valid_v6(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
			return false;
	return n >= 2;
}

static const char *default_port(const struct url *u)
{
	return u->tls ? "443" : "80";
}

static int parse_port(const char *s, size_t n, struct url *u, const char **err)
{
	unsigned long v = 0;

	if (n == 0) {
		strcpy(u->port, default_port(u));	/* "host:" means the default port, as in curl */
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]) || n > 5) {
			*err = "invalid port in URL";
			return -1;
		}
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535) {
		*err = "port in URL out of range";
		return -1;
	}
	snprintf(u->port, sizeof(u->port), "%lu", v);
	return 0;
}

/* host[:port] or [v6][:port]; fills host, port and authority. */
static int parse_authority(const char *a, size_t n, struct url *u, const char **err)
{
	const char *host = a, *port = NULL;
	size_t hlen = n, plen = 0;
	bool v6 = false;

	if (memchr(a, '@', n)) {
		*err = "user names in URLs are not supported";
		return -1;
	}
	if (n && a[0] == '[') {
		const char *close = memchr(a, ']', n);
		if (!close || !valid_v6(a + 1, (size_t)(close - a - 1))) {
			*err = "invalid IPv6 address in URL";
			return -1;
		}
		host = a + 1;
		hlen = (size_t)(close - host);
		v6 = true;
		if (close + 1 < a + n && close[1] != ':') {
			*err = "invalid text after the IPv6 address in URL";
			return -1;
		}
		if (close + 1 < a + n)
			port = close + 2, plen = (size_t)(a + n - port);
	} else {
		const char *colon = memchr(a, ':', n);
		if (colon && memchr(colon + 1, ':', (size_t)(a + n - colon - 1))) {
			*err = "IPv6 addresses in URLs must be in brackets";
			return -1;
		}
		if (colon)
			hlen = (size_t)(colon - a), port = colon + 1, plen = (size_t)(a + n - port);
		if (!valid_name(host, hlen)) {
			*err = hlen ? "invalid host name in URL" : "URL has no host";
			return -1;
		}
	}
	if (hlen > URL_HOST_MAX) {
		*err = "host name in URL too long";
		return -1;
	}
	memcpy(u->host, host, hlen);
	u->host[hlen] = 0;
	if (parse_port(port, port ? plen : 0, u, err))
		return -1;
	bool other_port = strcmp(u->port, default_port(u)) != 0;
	snprintf(u->authority, sizeof(u->authority), v6 ? "[%s]%s%s" : "%s%s%s", u->host,
		 other_port ? ":" : "", other_port ? u->port : "");
	return 0;
}

/* The request target: path and query, fragment dropped, "/" when empty. */
static int parse_path(const char *p, struct url *u, const char **err)
{
	size_t n = strcspn(p, "#");

	u->path = malloc(n + 2);
	if (!u->path) {
		*err = "out of memory";
		return -1;
	}
	snprintf(u->path, n + 2, "%s%.*s", *p == '/' ? "" : "/", (int)n, p);
	return 0;
}

int url_parse(const char *text, struct url *u, const char **err)
{
	const char *rest;
	size_t alen;

	memset(u, 0, sizeof(*u));
	for (const char *c = text; *c; c++) {
		if ((unsigned char)*c <= ' ' || *c == 0x7f) {
			*err = "URL contains spaces or control characters";
			return -1;
		}
	}
	if (!(rest = skip_scheme(text, u, err)))
		return -1;
	alen = strcspn(rest, "/?#");
	if (parse_authority(rest, alen, u, err) || parse_path(rest + alen, u, err)) {
		url_free(u);
		return -1;
	}
	return 0;
}
