/* marshal.h - TPM 2.0 wire format (TPM 2.0 Part 1 §18, Part 2): big-endian
 * integers and sized buffers, written into a fixed command buffer and read
 * from a response with every length checked against what is left.
 *
 * Responses come from a device or a socket, so they are untrusted input: a
 * reader never reads past its end; once anything is short or out of bounds
 * it is marked bad and every later read yields zeros/NULL, so a parser checks
 * r->bad once at the end instead of after every field. Writers work the same
 * way with overflow. */
#ifndef NBDE_TPM2_MARSHAL_H
#define NBDE_TPM2_MARSHAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* PC client TPMs report MAX_COMMAND_SIZE / MAX_RESPONSE_SIZE of 4096; the
 * commands nbde sends and the responses it reads are far smaller. */
#define TPM_MAX_MSG 4096
#define TPM_HEADER_LEN 10	/* tag u16, size u32, code u32 */

/* Structure tags (Part 2 §6.9) */
#define TPM_ST_RSP_COMMAND 0x00C4	/* a TPM 1.2 answer, or a TPM 2.0 rejecting the tag */
#define TPM_ST_NO_SESSIONS 0x8001
#define TPM_ST_SESSIONS 0x8002

/* Algorithms (Part 2 §6.3) */
#define TPM_ALG_RSA 0x0001
#define TPM_ALG_SHA1 0x0004
#define TPM_ALG_AES 0x0006
#define TPM_ALG_KEYEDHASH 0x0008
#define TPM_ALG_SHA256 0x000B
#define TPM_ALG_SHA384 0x000C
#define TPM_ALG_SHA512 0x000D
#define TPM_ALG_NULL 0x0010
#define TPM_ALG_ECC 0x0023
#define TPM_ALG_CFB 0x0043
#define TPM_ECC_NIST_P256 0x0003

/* PCRs a selection can name: PC client TPMs have 24 (3 select bytes, as
 * tpm2-tools writes them; the policy digest covers those bytes). */
#define TPM_PCR_COUNT 24
#define TPM_PCR_SELECT_LEN 3
/* Banks one TPML_PCR_SELECTION may list (HASH_COUNT in the reference code) */
#define TPM_MAX_BANKS 16

struct tpm_wbuf {
	unsigned char b[TPM_MAX_MSG];
	size_t len;
	bool overflow;
};

struct tpm_rbuf {
	const unsigned char *p;
	size_t len, pos;
	bool bad;
};

void tpm_put_u8(struct tpm_wbuf *w, uint8_t v);
void tpm_put_u16(struct tpm_wbuf *w, uint16_t v);
void tpm_put_u32(struct tpm_wbuf *w, uint32_t v);
void tpm_put_bytes(struct tpm_wbuf *w, const void *p, size_t n);
/* A TPM2B: u16 size, then the bytes (n > 65535 is an overflow). */
void tpm_put_b2b(struct tpm_wbuf *w, const void *p, size_t n);
/* A size field filled in later: returns where it is; tpm_end_size16/32
 * write there the number of bytes written since. */
size_t tpm_begin_size16(struct tpm_wbuf *w);
void tpm_end_size16(struct tpm_wbuf *w, size_t at);
size_t tpm_begin_size32(struct tpm_wbuf *w);
void tpm_end_size32(struct tpm_wbuf *w, size_t at);

/* Command header: tag, size (filled by tpm_cmd_end), command code. */
void tpm_cmd_begin(struct tpm_wbuf *w, uint16_t tag, uint32_t cc);
/* 0 when the command fits, -1 after an overflow. */
int tpm_cmd_end(struct tpm_wbuf *w);
/* Wipes the buffer (Create carries the sealed secret). */
void tpm_wbuf_wipe(struct tpm_wbuf *w);

struct tpm_rbuf tpm_rbuf(const void *p, size_t len);
uint8_t tpm_get_u8(struct tpm_rbuf *r);
uint16_t tpm_get_u16(struct tpm_rbuf *r);
uint32_t tpm_get_u32(struct tpm_rbuf *r);
/* n bytes in place, or NULL (r marked bad) when fewer are left. */
const unsigned char *tpm_get_bytes(struct tpm_rbuf *r, size_t n);
/* A TPM2B of at most max bytes: its bytes in place and their count in *n;
 * NULL when short or longer than max (r marked bad). A zero-sized TPM2B gives
 * a non-NULL pointer and *n = 0. */
const unsigned char *tpm_get_b2b(struct tpm_rbuf *r, size_t max, size_t *n);
/* A sub-reader over the next n bytes (r advances past them). */
struct tpm_rbuf tpm_get_sub(struct tpm_rbuf *r, size_t n);
/* True when every byte was read and nothing went bad. */
bool tpm_rbuf_done(const struct tpm_rbuf *r);

/* One bank's PCR selection: bit i of mask = PCR i (0..23). */
struct tpm_pcr_sel {
	uint16_t hash;
	uint32_t mask;
};
/* TPML_PCR_SELECTION with this one bank (count 0 when mask is 0 and hash is
 * TPM_ALG_NULL: an empty list, as CreatePrimary's creationPCR). */
void tpm_put_pcr_sel(struct tpm_wbuf *w, const struct tpm_pcr_sel *s);
/* Reads a TPML_PCR_SELECTION into at most max entries; *count gets how many.
 * Select bytes beyond PCR 23 must be zero (nbde never names those PCRs).
 * -1 (r marked bad) on anything malformed. */
int tpm_get_pcr_sels(struct tpm_rbuf *r, struct tpm_pcr_sel *out, size_t max, size_t *count);

/* The response header of buf[0..len) to a command sent with sent_tag: checks
 * that the size field equals len, the tag is one a TPM 2.0 sends (a success
 * the command's own), and a failure carries no body. On success
 * *rc is the response code and *body the bytes after the header. -1 on a
 * malformed response (err names why). */
int tpm_resp_open(const void *buf, size_t len, uint16_t sent_tag, uint32_t *rc, struct tpm_rbuf *body,
		  const char **err);

/* A successful response body of a command sent with tag sent_tag: nhandles
 * u32 handles into handles (may be NULL when 0), then the parameter area
 * (with sessions: u32 parameterSize, the parameters, then an authorization
 * area that is skipped, its structure still checked). -1 on a malformed body. */
int tpm_resp_split(struct tpm_rbuf *body, uint16_t sent_tag, size_t nhandles, uint32_t *handles,
		   struct tpm_rbuf *params, const char **err);

#endif
