/* fuzz_tang_server.c - libFuzzer target for a whole Tang server session.
 *
 * usage: build/fuzz/fuzz_tang_server [CORPUS...]   (make fuzz)
 *
 * Like a pre-authentication session fuzzer, it drives everything a client
 * reaches, not one parser: the input is the byte stream of one connection,
 * served by server_inetd() (net/server.c: bounded reads, the request
 * parser, keep-alive, pipelining) with tang's route table and handlers
 * (cmd/tang/routes.c) over a real key directory made once at start-up
 * (cmd/tang_keydir.c: key loading, signed advertisements, ECMR for /rec).
 * The oracle: whatever the input, what the server writes starts with a
 * reply that the client-side parser accepts whole. Sanitizers catch the
 * rest (memory errors, leaks, undefined behaviour). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../cmd/tang/routes.h"
#include "../../cmd/tang/keydir.h"
#include "../../net/http_reply_parse.h"
#include "../../net/server.h"

/* A pipe holds 64 KiB; the whole input is written before the server runs. */
#define INPUT_MAX 60000

static struct tang_routes routes;
static struct server_config cfg;
/* the client as the handler sees it: a label, nothing connects anywhere */
static const struct net_addr client = { .family = 4, .bytes = { 127, 0, 0, 1 } };
static char key_dir[] = "/tmp/nbde-fuzz-tang.XXXXXX";

static void remove_key_dir(void)
{
	char path[sizeof(key_dir) + 16];

	tang_routes_close(&routes);
	for (const char *const *f = (const char *const[]){ "sig.jwk", "exc.jwk", NULL }; *f; f++) {
		snprintf(path, sizeof(path), "%s/%s", key_dir, *f);
		unlink(path);
	}
	rmdir(key_dir);
}

void fuzz_setup(void);

void fuzz_setup(void)
{
	if (!mkdtemp(key_dir) || tang_key_create(key_dir, "ES512", "sig", NULL) ||
	    tang_key_create(key_dir, "ECMR", "exc", NULL) || !tang_routes_open(&routes, key_dir, NULL)) {
		fprintf(stderr, "fuzz_tang_server: cannot make the key directory %s\n", key_dir);
		exit(1);
	}
	atexit(remove_key_dir);
	cfg = (struct server_config){
		.handle = tang_routes_handle, .ctx = &routes, .observe = tang_routes_observe,
		.metrics = &routes.metrics.server, .idle_timeout_ms = 1000,
		.request_timeout_ms = 1000, .body_max = TANG_REC_BODY_MAX,
	};
}

/* The first reply in out[0..len) must parse whole. */
static void check_output(const unsigned char *out, size_t len)
{
	struct http_reply reply;
	const char *err = NULL;

	if (!len)
		return;	/* an incomplete request gets no reply */
	if (http_reply_parse(out, len, true, &reply, &err) != HTTP_REPLY_COMPLETE) {
		fprintf(stderr, "the server wrote a reply its own client rejects: %s\n", err ? err : "?");
		abort();
	}
	http_reply_free(&reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int in[2], out = memfd_create("reply", MFD_CLOEXEC);
	unsigned char *written;
	off_t len;

	if (size > INPUT_MAX)
		return 0;
	if (out < 0 || pipe(in))
		abort();
	if (size && write(in[1], data, size) != (ssize_t)size)
		abort();
	close(in[1]);
	server_inetd(&cfg, in[0], out, &client);
	close(in[0]);
	len = lseek(out, 0, SEEK_END);
	written = len > 0 ? mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE, out, 0) : NULL;
	check_output(written, len > 0 ? (size_t)len : 0);
	if (written)
		munmap(written, (size_t)len);
	close(out);
	return 0;
}
