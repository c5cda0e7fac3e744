/* marshal.c - TPM 2.0 wire format: see marshal.h. */
#include "marshal.h"

#include <string.h>

#include "../../crypto/secret.h"

/* A response's nonce or HMAC is at most one digest (SHA-512's 64 bytes). */
#define TPM_MAX_AUTH_FIELD 64

static bool room(struct tpm_wbuf *w, size_t n)
{
	if (w->overflow || n > sizeof(w->b) - w->len)
		w->overflow = true;
	return !w->overflow;
}

void tpm_put_bytes(struct tpm_wbuf *w, const void *p, size_t n)
{
	if (!room(w, n))
		return;
	if (n)
		memcpy(w->b + w->len, p, n);
	w->len += n;
}

void tpm_put_u8(struct tpm_wbuf *w, uint8_t v)
{
	tpm_put_bytes(w, &v, 1);
}

void tpm_put_u16(struct tpm_wbuf *w, uint16_t v)
{
	unsigned char b[2] = { v >> 8, v };
	tpm_put_bytes(w, b, sizeof(b));
}

void tpm_put_u32(struct tpm_wbuf *w, uint32_t v)
{
	unsigned char b[4] = { v >> 24, v >> 16, v >> 8, v };
	tpm_put_bytes(w, b, sizeof(b));
}

void tpm_put_b2b(struct tpm_wbuf *w, const void *p, size_t n)
{
	if (n > UINT16_MAX) {
		w->overflow = true;
		return;
	}
	tpm_put_u16(w, (uint16_t)n);
	tpm_put_bytes(w, p, n);
}

size_t tpm_begin_size16(struct tpm_wbuf *w)
{
	size_t at = w->len;
	tpm_put_u16(w, 0);
	return at;
}

void tpm_end_size16(struct tpm_wbuf *w, size_t at)
{
	size_t n = w->len - at - 2;

	if (w->overflow || n > UINT16_MAX) {
		w->overflow = true;
		return;
	}
	w->b[at] = n >> 8;
	w->b[at + 1] = n;
}

size_t tpm_begin_size32(struct tpm_wbuf *w)
{
	size_t at = w->len;
	tpm_put_u32(w, 0);
	return at;
}

/* The command size counts the header itself, other u32 sizes do not:
 * callers pass the offset after which to count. */
static void put_u32_at(struct tpm_wbuf *w, size_t at, size_t v)
{
	w->b[at] = v >> 24;
	w->b[at + 1] = v >> 16;
	w->b[at + 2] = v >> 8;
	w->b[at + 3] = v;
}

void tpm_end_size32(struct tpm_wbuf *w, size_t at)
{
	if (!w->overflow)
		put_u32_at(w, at, w->len - at - 4);
}

void tpm_cmd_begin(struct tpm_wbuf *w, uint16_t tag, uint32_t cc)
{
	w->len = 0;
	w->overflow = false;
	tpm_put_u16(w, tag);
	tpm_put_u32(w, 0);
	tpm_put_u32(w, cc);
}

int tpm_cmd_end(struct tpm_wbuf *w)
{
	if (w->overflow || w->len < TPM_HEADER_LEN)
		return -1;
	put_u32_at(w, 2, w->len);
	return 0;
}

void tpm_wbuf_wipe(struct tpm_wbuf *w)
{
	wipe(w->b, sizeof(w->b));
	w->len = 0;
}

struct tpm_rbuf tpm_rbuf(const void *p, size_t len)
{
	return (struct tpm_rbuf){ .p = p, .len = p ? len : 0, .bad = !p };
}

const unsigned char *tpm_get_bytes(struct tpm_rbuf *r, size_t n)
{
	if (r->bad || n > r->len - r->pos) {
		r->bad = true;
		return NULL;
	}
	const unsigned char *p = r->p + r->pos;
	r->pos += n;
	return p;
}

uint8_t tpm_get_u8(struct tpm_rbuf *r)
{
	const unsigned char *p = tpm_get_bytes(r, 1);
	return p ? p[0] : 0;
}

uint16_t tpm_get_u16(struct tpm_rbuf *r)
{
	const unsigned char *p = tpm_get_bytes(r, 2);
	return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

uint32_t tpm_get_u32(struct tpm_rbuf *r)
{
	const unsigned char *p = tpm_get_bytes(r, 4);
	return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

const unsigned char *tpm_get_b2b(struct tpm_rbuf *r, size_t max, size_t *n)
{
	size_t size = tpm_get_u16(r);

	*n = 0;
	if (r->bad || size > max) {
		r->bad = true;
		return NULL;
	}
	const unsigned char *p = tpm_get_bytes(r, size);
	if (p)
		*n = size;
	return p;
}

struct tpm_rbuf tpm_get_sub(struct tpm_rbuf *r, size_t n)
{
	const unsigned char *p = tpm_get_bytes(r, n);
	return tpm_rbuf(p, n);
}

bool tpm_rbuf_done(const struct tpm_rbuf *r)
{
	return !r->bad && r->pos == r->len;
}

void tpm_put_pcr_sel(struct tpm_wbuf *w, const struct tpm_pcr_sel *s)
{
	if (s->hash == TPM_ALG_NULL && !s->mask) {
		tpm_put_u32(w, 0);
		return;
	}
	tpm_put_u32(w, 1);
	tpm_put_u16(w, s->hash);
	tpm_put_u8(w, TPM_PCR_SELECT_LEN);
	for (int i = 0; i < TPM_PCR_SELECT_LEN; i++)
		tpm_put_u8(w, (uint8_t)(s->mask >> (8 * i)));
}

/* One TPMS_PCR_SELECTION; the select bytes are little-endian bit maps. */
static void get_pcr_sel(struct tpm_rbuf *r, struct tpm_pcr_sel *s)
{
	/* PCR_SELECT_MAX of a 2.0 TPM with more PCRs than a PC client's 24 */
	enum { SELECT_MAX = 32 };
	size_t n;

	s->hash = tpm_get_u16(r);
	n = tpm_get_u8(r);
	s->mask = 0;
	if (n > SELECT_MAX) {
		r->bad = true;
		return;
	}
	const unsigned char *b = tpm_get_bytes(r, n);
	for (size_t i = 0; b && i < n; i++) {
		if (i < TPM_PCR_SELECT_LEN)
			s->mask |= (uint32_t)b[i] << (8 * i);
	}
}

int tpm_get_pcr_sels(struct tpm_rbuf *r, struct tpm_pcr_sel *out, size_t max, size_t *count)
{
	uint32_t n = tpm_get_u32(r);

	*count = 0;
	if (r->bad || n > max || n > TPM_MAX_BANKS) {
		r->bad = true;
		return -1;
	}
	for (uint32_t i = 0; i < n && !r->bad; i++)
		get_pcr_sel(r, &out[i]);
	if (r->bad)
		return -1;
	*count = n;
	return 0;
}

int tpm_resp_open(const void *buf, size_t len, uint16_t sent_tag, uint32_t *rc, struct tpm_rbuf *body,
		  const char **err)
{
	struct tpm_rbuf r = tpm_rbuf(buf, len);
	uint16_t tag = tpm_get_u16(&r);
	uint32_t size = tpm_get_u32(&r);

	*rc = tpm_get_u32(&r);
	if (r.bad || size != len) {
		*err = "TPM response size does not match its header";
		return -1;
	}
	if (tag != TPM_ST_NO_SESSIONS && tag != TPM_ST_SESSIONS && tag != TPM_ST_RSP_COMMAND) {
		*err = "TPM response has an unknown tag";
		return -1;
	}
	/* a failure is the bare header (Part 1 §18.2); anything else is not a TPM 2.0 */
	if ((*rc != 0 || tag == TPM_ST_RSP_COMMAND) && len != TPM_HEADER_LEN) {
		*err = "TPM error response carries a body";
		return -1;
	}
	if (*rc == 0 && tag == TPM_ST_RSP_COMMAND) {
		*err = "TPM answered with a TPM 1.2 success (not a TPM 2.0)";
		return -1;
	}
	if (*rc == 0 && tag != sent_tag) {
		*err = "TPM response tag does not match the command's";
		return -1;
	}
	*body = tpm_get_sub(&r, len - TPM_HEADER_LEN);
	return 0;
}

/* The response authorization area: one TPMS_AUTH_RESPONSE per session
 * (nonceTPM, attributes, hmac), nbde reads nothing from it. */
static bool auth_area_ok(struct tpm_rbuf *r)
{
	size_t n;

	while (!r->bad && r->pos < r->len) {
		tpm_get_b2b(r, TPM_MAX_AUTH_FIELD, &n);
		tpm_get_u8(r);
		tpm_get_b2b(r, TPM_MAX_AUTH_FIELD, &n);
	}
	return tpm_rbuf_done(r);
}

int tpm_resp_split(struct tpm_rbuf *body, uint16_t sent_tag, size_t nhandles, uint32_t *handles,
		   struct tpm_rbuf *params, const char **err)
{
	for (size_t i = 0; i < nhandles; i++)
		handles[i] = tpm_get_u32(body);
	if (sent_tag == TPM_ST_NO_SESSIONS) {
		*params = tpm_get_sub(body, body->len - body->pos);
	} else {
		uint32_t psize = tpm_get_u32(body);
		*params = tpm_get_sub(body, psize);
		struct tpm_rbuf auth = tpm_get_sub(body, body->len - body->pos);
		if (!auth_area_ok(&auth))
			body->bad = true;
	}
	if (body->bad || params->bad) {
		*err = "TPM response is malformed";
		return -1;
	}
	return 0;
}
