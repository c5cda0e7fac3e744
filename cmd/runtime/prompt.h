/* prompt.h - asking a person for a secret (the tpm2pin pin's PIN) the way
 * the boot asks for passphrases, on the first of:
 *
 *   tty      the controlling terminal (/dev/tty): a shell, a rescue shell;
 *   agent    without one, when systemd runs (/run/systemd/system): a request
 *            to the systemd password agents (an ask.* file in
 *            /run/systemd/ask-password and a datagram socket for the answer,
 *            as systemd-ask-password makes them); the console, plymouth or
 *            a remote agent shows Message= and answers;
 *   console  /dev/console, only when NBDE_PROMPT=console says so (the
 *            initramfs-tools and dracut-without-systemd hooks set it: a
 *            process without a terminal elsewhere must not take over the
 *            machine's console), holding the lock file NBDE_CONSOLE_LOCK
 *            names while asking (dracut's /.console_lock, so its own
 *            prompts wait).
 *
 * NBDE_PROMPT=tty|agent|console picks one (the hooks, tests); =none asks
 * no one (initramfs-tools' background askpass: its hook asked already). Every wait
 * ends by the deadline or when abandoned() turns true; echo is off while a
 * terminal is read and comes back on every path, a fatal signal included.
 * One prompt at a time per process: a second caller waits its turn. */
#ifndef NBDE_PROMPT_H
#define NBDE_PROMPT_H

#include <stdbool.h>
#include "../../crypto/secret.h"

struct secret_prompt {
	const char *message;	/* one line, e.g. "Please enter the TPM PIN for disk /dev/vda:" */
	const char *id;		/* the agent request's Id= ("nbde-tpm2pin:/dev/vda") */
	long long deadline_ms;	/* clock_mono_ms(); 0: none */
	bool (*abandoned)(const void *ctx);	/* NULL: never */
	const void *ctx;
};

enum prompt_result {
	PROMPT_OK = 0,
	PROMPT_NO_WAY = -1,	/* no terminal, agent or console to ask on */
	PROMPT_NO_ANSWER = -2,	/* deadline, abandoned, or the person cancelled */
};

/* Asks p->message and reads one line into out (the caller wipes it with
 * buf_free); the line is at most PROMPT_SECRET_MAX bytes. Otherwise *why
 * may name what failed (NULL when nothing did: no answer came). */
#define PROMPT_SECRET_MAX 1024
enum prompt_result prompt_secret(const struct secret_prompt *p, struct buf *out, const char **why);

/* Which way prompt_secret would ask now ("tty", "agent", "console", "none"). */
const char *prompt_channel(void);

#endif
