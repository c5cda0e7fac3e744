/* transport.h - one connection to a TPM 2.0: the kernel's character device
 * (/dev/tpmrm0, the resource manager, else /dev/tpm0) or swtpm's socket, which
 * carries the same raw command stream. Chosen as tpm2-tools does, by
 * TPM2TOOLS_TCTI:
 *   device[:PATH]                 a character device
 *   swtpm:path=SOCKET             swtpm on a unix socket
 *   swtpm[:host=H,port=P]         swtpm on TCP (default localhost, 2321)
 * Unset or empty: /dev/tpmrm0, falling back to /dev/tpm0. */
#ifndef NBDE_TPM2_TRANSPORT_H
#define NBDE_TPM2_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "marshal.h"

#define TPM_DEFAULT_DEVICE "/dev/tpmrm0"
#define TPM_FALLBACK_DEVICE "/dev/tpm0"	/* no resource manager: nbde flushes what it loads */

struct tpm {
	int fd;
	long long deadline_ms;	/* clock_mono_ms(); socket waits end by then */
	uint32_t rc;		/* the last command's response code */
	char err[256];		/* why the last call failed */
	unsigned char resp[TPM_MAX_MSG];	/* the last response; may hold a secret (Unseal) */
	size_t resp_len;
};

/* Opens the TPM TPM2TOOLS_TCTI names (tcti: its value, NULL when unset).
 * 0, or -1 with t->err set ("no TPM" when no device exists). */
int tpm_open(struct tpm *t, const char *tcti, long long deadline_ms);
/* Closes and wipes the last response. */
void tpm_close(struct tpm *t);

/* Sends one marshalled command and reads the whole response into t->resp
 * (bounded by TPM_MAX_MSG and t->deadline_ms). Retries, within the deadline,
 * the warnings that ask for it (RETRY, YIELDED, TESTING). 0 with t->rc set
 * (maybe non-zero: the TPM refused), or -1 on a transport failure (t->err). */
int tpm_transact(struct tpm *t, const struct tpm_wbuf *cmd);

#endif
