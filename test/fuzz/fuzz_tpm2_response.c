/* fuzz_tpm2_response.c - libFuzzer target: bytes as a TPM's answer to each
 * command the tpm2 and tpm2pin pins send (a TPM device or socket is untrusted input).
 * The first byte picks the PCR selection the answer is checked against. */
#include <stdint.h>
#include <string.h>

#include "../../cmd/tpm2/tpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tpm t;
	static unsigned char values[TPM_PCR_COUNT][TPM_MAX_DIGEST];
	static const uint16_t banks[] = { TPM_ALG_SHA1, TPM_ALG_SHA256, TPM_ALG_SHA384, TPM_ALG_SHA512 };
	struct tpm_pcr_sel sel, found[TPM_MAX_BANKS];
	struct buf pub = { 0 }, priv = { 0 }, out = { 0 };
	uint32_t got, counter, handle;
	size_t n;

	if (size < 1 || size - 1 > sizeof(t.resp))
		return 0;
	sel.hash = banks[data[0] & 3];
	sel.mask = 0x800081u << (data[0] >> 6);
	memcpy(t.resp, data + 1, size - 1);
	t.resp_len = size - 1;
	tpm_parse_pcr_banks(&t, found, TPM_MAX_BANKS, &n);
	tpm_parse_pcr_read(&t, &sel, values, &got, &counter);
	tpm_parse_handle(&t, TPM_ST_SESSIONS, "Load", &handle);
	tpm_parse_handle(&t, TPM_ST_NO_SESSIONS, "StartAuthSession", &handle);
	tpm_parse_create(&t, &pub, &priv);
	tpm_parse_unseal(&t, &out);
	tpm_parse_empty(&t, TPM_ST_NO_SESSIONS, "PolicyPCR");
	/* the tpm2pin pin's: lockout state, session nonce, Unseal in an HMAC session */
	struct tpm_lockout l;
	struct tpm_session ss = { .hash = sel.hash };
	unsigned char nonce[TPM_MAX_DIGEST] = { 1 }, name[2 + TPM_MAX_DIGEST];
	struct tpm_hmac_in in = { .hash = sel.hash, .key = "k", .key_len = 1, .cc = 0x15E,
				  .nonce_caller = nonce, .nonce_caller_len = tpm_hash_len(sel.hash) };
	struct tpm_primary primary;
	tpm_parse_lockout(&t, &l);
	tpm_parse_primary(&t, TPM_ALG_ECC, &primary);
	tpm_parse_primary(&t, TPM_ALG_RSA, &primary);
	tpm_parse_session(&t, sel.hash, &ss);
	tpm_parse_unseal_auth(&t, &in, &ss, &out);
	buf_free(&out);
	tpm_object_name(data + 1, size - 1, name);
	buf_free(&pub);
	buf_free(&priv);
	buf_free(&out);
	return 0;
}
