/* tang_show_keys.c - applet tang-show-keys, with tang's name and contract
 * (the shell script tang ships under it).
 */
#include "applets.h"
#include "runtime/options.h"
#include "runtime/runtime.h"
#include "../crypto/json.h"
#include "../crypto/jwk.h"
#include "../crypto/jws.h"
#include "../net/clock.h"
#include "../net/http_client.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


/* The advertised keys that may verify (the signing keys). */
static cJSON *verify_keys(const cJSON *keys)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *k;

	cJSON_ArrayForEach(k, keys) {
		if (out && jwk_allows(k, "verify", false))
			cJSON_AddItemToArray(out, cJSON_Duplicate(k, true));
	}
	return out;
}

/* The signing keys of an advertisement that every one of them signed. */
static cJSON *verified_signing_keys(const char *adv, size_t len)
{
	AUTO_JSON jws = jws_parse(adv, len);
	AUTO_JSON doc = NULL;
	AUTO_BUF payload = { 0 };
	cJSON *keys;

	if (!jws || jws_payload(jws, &payload) || !(doc = json_parse_object((char *)payload.p, payload.len)) ||
	    !(keys = verify_keys(json_get_arr(doc, "keys"))))
		return NULL;
	if (!cJSON_GetArraySize(keys) || !jws_verify_all(jws, keys)) {
		cJSON_Delete(keys);
		return NULL;
	}
	return keys;
}

static int print_thumbprints(const cJSON *keys)
{
	const cJSON *k;

	cJSON_ArrayForEach(k, keys) {
		AUTO_FREE char *thp = NULL;
		if (!(thp = jwk_thumbprint(k, "S256"))) {
			msg("the advertisement holds a key without a thumbprint");
			return 1;
		}
		printf("%s\n", thp);
	}
	return 0;
}

static char *adv_path(const char *endpoint)
{
	char *path = NULL;

	while (endpoint && *endpoint == '/')
		endpoint++;
	if (asprintf(&path, "%s%s/adv", endpoint && *endpoint ? "/" : "", endpoint ? endpoint : "") < 0)
		return NULL;
	return path;
}

/* GET http://localhost:PORT/PATH, 127.0.0.1 first, then ::1 (tang-show-keys
 * asks the server on this machine); one attempt each, 10 s at most. */
static int get_local(const char *port, const char *path, struct http_reply *reply)
{
	static const char *const hosts[] = { "127.0.0.1", "[::1]" };
	char url[4200], err[160] = "";

	for (size_t i = 0; i < ARRAY_SIZE(hosts); i++) {
		struct http_client_request rq = { .method = "GET", .url = url, .once = true,
						  .deadline_ms = clock_mono_ms() + 10000 };
		if (snprintf(url, sizeof(url), "http://%s:%s%s", hosts[i], port, path) >= (int)sizeof(url)) {
			msg("endpoint too long");
			return -1;
		}
		if (!http_client_send(&rq, reply, err, sizeof(err)))
			return 0;
	}
	msg("GET localhost:%s%s: %s", port, path, err);
	return -1;
}

static const struct applet_help help = {
	.usage = "[PORT] [ENDPOINT]",
	.about = "Prints the S256 thumbprints of the signing keys that the tang server on\n"
		 "localhost:PORT (default 80) advertises, one per line; the advertisement's\n"
		 "signatures are checked first.",
};

int tang_show_keys_main(int argc, char **argv)
{
	const char *port = "80";
	AUTO_FREE char *path = NULL;
	struct http_reply reply;
	long n;
	int c;

	while ((c = options_next(argc, argv, &help)) != OPTIONS_END)
		return c == OPTIONS_HELP ? 0 : exit_usage();
	argc -= optind - 1;
	argv += optind - 1;
	if (argc > 3)
		return usage_error(&help, "unexpected argument '%s'", argv[3]);
	if (argc > 1 && !parse_number(argv[1], 0, 65535, "port", &n))
		return exit_usage();
	port = argc > 1 ? argv[1] : port;
	if (!(path = adv_path(argc > 2 ? argv[2] : NULL)))
		return 1;
	if (get_local(port, path, &reply))
		return 1;
	if (reply.status != 200) {
		msg("GET localhost:%s%s: HTTP status %d", port, path, reply.status);
		http_reply_free(&reply);
		return 1;
	}
	AUTO_JSON keys = verified_signing_keys((const char *)reply.body.p, reply.body.len);
	http_reply_free(&reply);
	if (!keys) {
		msg("localhost:%s%s: not a valid advertisement", port, path);
		return 1;
	}
	return print_thumbprints(keys);
}
