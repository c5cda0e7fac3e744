/* tunables.h - the applets' limits and defaults, each with its reason, in
 * one place (net/tunables.h holds the server's and the HTTP client's;
 * lower layers never include this one). */
#ifndef NBDE_CMD_TUNABLES_H
#define NBDE_CMD_TUNABLES_H

/* Deadline for recovering a binding's key (tang servers, sss children), as
 * clevis's default; --timeout and nbde.timeout= change it. */
#define PIN_DEFAULT_TIMEOUT_S 30
#define PIN_DEFAULT_TIMEOUT_MS (PIN_DEFAULT_TIMEOUT_S * 1000LL)

/* `report` asks each server once in clevis; nbde retries refused
 * connections, for this long in all. */
#define REPORT_TIMEOUT_S 10

/* A JWE on stdin: a tang JWE is ~2 KiB, a deep sss a few dozen; more is
 * not a JWE, and it is read into memory. */
#define JWE_MAX (4u << 20)

/* `encrypt` reads the whole plaintext into memory before encrypting it. */
#define PLAINTEXT_MAX (16u << 20)

/* cryptsetup's own default limit for key files. */
#define KEYFILE_MAX (8u << 20)

/* A pin configuration is a few URLs and keys; more is a mistake. */
#define CONFIG_MAX (256u << 10)

/* A stored advertisement (the tang pin's "adv" file): a JWS of a few keys. */
#define ADV_FILE_MAX (1u << 20)

/* A systemd ask file is a few hundred bytes; more is not systemd's. */
#define ASK_FILE_MAX (64u << 10)

/* /proc/cmdline is at most a page or two (COMMAND_LINE_SIZE). */
#define CMDLINE_MAX (64u << 10)

/* Threads that decrypt bindings run EC math and JSON recursion: more than
 * musl's 128 KiB default thread stack holds. */
#define PIN_THREAD_STACK_SIZE (512u << 10)

/* Bindings that may ask a person (tpm2pin's PIN) start once the others are
 * done without success, or after this long: a tang server that answers at
 * all has answered by then, one that does not should not keep the PIN
 * prompt waiting until the deadline. */
#define PIN_ASK_PERSON_DELAY_MS 5000

/* A tang key file holds one JWK (~1 KiB for P-521). */
#define TANG_KEY_FILE_MAX (64u << 10)

/* An allow file is a list of networks, not a data set: bounding it keeps a
 * wrong path (a log, a disk image) from being read into memory. */
#define ACCESS_FILE_MAX (1u << 20)
#define ACCESS_LINE_MAX 4096

/* ---- tang-server's defaults (its options change them) ---- */
#define TANG_PORT_DEFAULT 9090		/* tang's documented port */
#define TANG_CONNECTIONS_DEFAULT 1024	/* open connections: far above what key math at
					 * line rate needs, far below the fd limit */
#define TANG_IDLE_DEFAULT_S 30		/* a kept-alive connection waits this long for the next request */
#define TANG_REQUEST_DEFAULT_S 10	/* receive a whole request / send a reply: a tang exchange is tiny */
#define TANG_HEAD_DEFAULT_S 3		/* a begun request's head: bounds slow-loris clients */
#define TANG_STOP_DEFAULT_S 5		/* after SIGTERM: systemd's stop timeout is longer */
#define TANG_OPTION_LIST_MAX 64		/* --allow ranges on the command line (--allow-file for more) */
#define TANG_ADDRESSES_MAX 16		/* -a listen addresses */

#endif
