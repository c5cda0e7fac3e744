/* josetool.c - test-only front end to the JOSE/ECMR core, so shell tests
 * can cross-check nbde against the jose CLI. Not part of the nbde binary.
 *
 * usage: josetool CMD [ARGS]     (inputs on stdin unless named)
 *   canon               JSON on stdin → canonical (sorted compact) JSON
 *   b64enc | b64dec     base64url of stdin / decoded stdin
 *   gen TMPL            jwk_generate, prints the JWK
 *   pub                 public part of the JWK on stdin
 *   thp HASH            thumbprint of the JWK on stdin
 *   check               validates the JWK on stdin (exit 0/1)
 *   sign KEY...         signs stdin with every KEY file; prints the JWS
 *   verify JWS KEY...   exit 0 when every KEY signed the JWS file
 *   payload             payload of the JWS on stdin
 *   enc HDR JWK         encrypts stdin; prints compact JWE
 *   dec JWK             decrypts the JWE (compact or JSON) on stdin
 *   exc LOCAL REMOTE    as `jose jwk exc -l LOCAL -r REMOTE` with the ECMR template */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../crypto/b64url.h"
#include "../crypto/ecmr.h"
#include "../crypto/alloc.h"
#include "../crypto/json.h"
#include "../crypto/jwe.h"
#include "../crypto/jwk.h"
#include "../crypto/jws.h"

static int read_all(FILE *f, struct buf *b)
{
	size_t cap = 4096;
	b->len = 0;
	b->p = malloc(cap + 1);
	while (b->p) {
		size_t n = fread(b->p + b->len, 1, cap - b->len, f);
		b->len += n;
		if (n == 0)
			break;
		if (b->len == cap) {
			unsigned char *p = realloc(b->p, cap * 2 + 1);
			if (!p)
				break;
			b->p = p;
			cap *= 2;
		}
	}
	if (b->p)
		b->p[b->len] = 0;
	return b->p ? 0 : -1;
}

static cJSON *read_json_file(const char *path)
{
	FILE *f = fopen(path, "r");
	AUTO_BUF b = { 0 };
	if (!f)
		return NULL;
	read_all(f, &b);
	fclose(f);
	return b.p ? json_parse((const char *)b.p, b.len) : NULL;
}

static cJSON *stdin_json(void)
{
	AUTO_BUF b = { 0 };
	read_all(stdin, &b);
	return b.p ? json_parse((const char *)b.p, b.len) : NULL;
}

static int print_json(cJSON *v)
{
	char *s = json_canonical(v);
	if (!s)
		return 1;
	puts(s);
	free(s);
	return 0;
}

static int fail(const char *what, const char *err)
{
	fprintf(stderr, "josetool: %s: %s\n", what, err ? err : "failed");
	return 1;
}

static int cmd_sign(int argc, char **argv)
{
	AUTO_BUF in = { 0 };
	struct ec_key *keys[16];
	const char *err = NULL;
	int n = 0, rc = 1;
	AUTO_JSON tmpl = json_parse_str("{\"cty\":\"jwk-set+json\"}");

	read_all(stdin, &in);
	for (int i = 2; i < argc && n < 16; i++) {
		AUTO_JSON k = read_json_file(argv[i]);
		if (!(keys[n] = ec_key_from_jwk(k, &err)))
			goto out;
		n++;
	}
	AUTO_JSON jws = jws_sign(in.p, in.len, tmpl, keys, (size_t)n, &err);
	rc = jws ? print_json(jws) : fail("sign", err);
out:
	if (rc && err)
		fail("sign", err);
	while (n--)
		ec_key_free(keys[n]);
	return rc;
}

static int cmd_verify(int argc, char **argv)
{
	AUTO_JSON keys = cJSON_CreateArray();
	FILE *f = fopen(argv[2], "r");
	AUTO_BUF t = { 0 };
	if (!f)
		return fail(argv[2], "cannot open");
	read_all(f, &t);
	fclose(f);
	AUTO_JSON jws = jws_parse((const char *)t.p, t.len);
	for (int i = 3; i < argc; i++)
		cJSON_AddItemToArray(keys, read_json_file(argv[i]));
	return jws && jws_verify_all(jws, keys) ? 0 : 1;
}

static int cmd_enc(char **argv)
{
	AUTO_JSON hdr = json_parse_str(argv[2]);
	AUTO_JSON jwk = read_json_file(argv[3]);
	AUTO_BUF in = { 0 };
	AUTO_JWE j = { 0 };
	const char *err = NULL;

	read_all(stdin, &in);
	if (jwe_encrypt(&j, hdr, jwk, in.p, in.len, &err))
		return fail("enc", err);
	AUTO_FREE char *c = jwe_compact(&j);
	fputs(c, stdout);
	return 0;
}

static int cmd_dec(char **argv)
{
	AUTO_JSON jwk = read_json_file(argv[2]);
	AUTO_BUF in = { 0 };
	AUTO_BUF pt = { 0 };
	AUTO_JWE j = { 0 };
	const char *err = NULL;

	read_all(stdin, &in);
	if (jwe_parse((const char *)in.p, in.len, &j, &err) || jwe_decrypt(&j, jwk, &pt, &err))
		return fail("dec", err);
	fwrite(pt.p, 1, pt.len, stdout);
	return 0;
}

static int cmd_exc(char **argv)
{
	AUTO_JSON l = read_json_file(argv[2]);
	AUTO_JSON r = read_json_file(argv[3]);
	const char *err = NULL;
	AUTO_JSON x = ecmr_exchange(l, r, &err);
	if (!x)
		return fail("exc", err);
	json_set_str(x, "alg", "ECMR");
	cJSON *ops = cJSON_CreateArray();
	cJSON_AddItemToArray(ops, cJSON_CreateString("deriveKey"));
	json_set(x, "key_ops", ops);
	return print_json(x);
}

int main(int argc, char **argv)
{
	crypto_init();
	const char *cmd = argc > 1 ? argv[1] : "";
	const char *err = NULL;

	if (!strcmp(cmd, "canon")) {
		AUTO_JSON v = stdin_json();
		return v ? print_json(v) : fail("canon", "invalid JSON");
	}
	if (!strcmp(cmd, "b64enc") || !strcmp(cmd, "b64dec")) {
		AUTO_BUF in = { 0 };
		AUTO_BUF out = { 0 };
		read_all(stdin, &in);
		if (cmd[3] == 'e') {
			AUTO_FREE char *s = b64url_encode(in.p, in.len);
			fputs(s, stdout);
			return 0;
		}
		if (b64url_decode((const char *)in.p, in.len, &out))
			return fail("b64dec", "invalid base64url");
		fwrite(out.p, 1, out.len, stdout);
		return 0;
	}
	if (!strcmp(cmd, "gen") && argc == 3) {
		AUTO_JSON t = json_parse_str(argv[2]);
		AUTO_JSON_SECRET k = jwk_generate(t, &err);
		return k ? print_json(k) : fail("gen", err);
	}
	if (!strcmp(cmd, "pub")) {
		AUTO_JSON k = stdin_json();
		AUTO_JSON p = jwk_public(k);
		return p ? print_json(p) : fail("pub", "invalid JWK");
	}
	if (!strcmp(cmd, "thp") && argc == 3) {
		AUTO_JSON k = stdin_json();
		AUTO_FREE char *t = jwk_thumbprint(k, argv[2]);
		return t ? (puts(t), 0) : fail("thp", "invalid JWK or hash");
	}
	if (!strcmp(cmd, "check")) {
		AUTO_JSON k = stdin_json();
		AUTO_EC_KEY e = ec_key_from_jwk(k, &err);
		return e ? 0 : fail("check", err);
	}
	if (!strcmp(cmd, "sign") && argc >= 3)
		return cmd_sign(argc, argv);
	if (!strcmp(cmd, "verify") && argc >= 4)
		return cmd_verify(argc, argv);
	if (!strcmp(cmd, "payload")) {
		AUTO_BUF in = { 0 };
		AUTO_BUF p = { 0 };
		read_all(stdin, &in);
		AUTO_JSON jws = jws_parse((const char *)in.p, in.len);
		if (!jws || jws_payload(jws, &p))
			return fail("payload", "invalid JWS");
		fwrite(p.p, 1, p.len, stdout);
		return 0;
	}
	if (!strcmp(cmd, "enc") && argc == 4)
		return cmd_enc(argv);
	if (!strcmp(cmd, "dec") && argc == 3)
		return cmd_dec(argv);
	if (!strcmp(cmd, "exc") && argc == 4)
		return cmd_exc(argv);
	fprintf(stderr, "usage: josetool canon|b64enc|b64dec|gen|pub|thp|check|sign|verify|payload|enc|dec|exc ...\n");
	return 2;
}
