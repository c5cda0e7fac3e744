/* volume.h - what the LUKS applets (bind, unbind, list, unlock, pass,
 * regen) share: opening a volume with a message, keyslot numbers, the
 * existing passphrase, fresh passphrases, reading a slot's binding. */
#ifndef NBDE_LUKS_UTIL_H
#define NBDE_LUKS_UTIL_H

#include "../../crypto/secret.h"

struct luks_dev;

#include <stdbool.h>
#include <stdio.h>

/* The command line of the LUKS applets that name a volume and a keyslot
 * (list, unbind, regen, report): -d DEV, -s SLOT, -h, the one-letter flags
 * in `flags` (set as bit x - 'a' of .flags) and, when flags holds "k:", -k
 * KEYFILE. No other arguments. */
struct luks_opts {
	const char *dev;
	int slot;		/* -1 without -s */
	const char *keyfile;	/* -k, NULL without */
	unsigned flags;
};
#define LUKS_FLAG(c) (1u << ((c) - 'a'))

/* Parses argv into o; need_slot makes -s mandatory. Returns -1 when the
 * applet goes on, else its exit status: 0 after -h printed usage(stdout, 0),
 * 2 after a usage error (a message or usage(stderr, 2)). */
int luks_parse_opts(int argc, char **argv, const char *flags, bool need_slot, int (*usage)(FILE *, int),
		    struct luks_opts *o);

/* Opens a LUKS1/LUKS2 volume; NULL after "PROG: DEV: reason". */
struct luks_dev *open_device(const char *path);

/* A keyslot number "0".."31"; -1 when s is anything else. */
int parse_slot(const char *s);
/* The same for an option's argument: false after "invalid WHAT 'ARG'". */
bool parse_slot_arg(const char *arg, const char *what, int *out);

/* The existing passphrase: keyfile "-" = one line of stdin; another
 * keyfile = that whole file, binary-safe; NULL = the file named by $KEY
 * (clevis reads its never-initialised KEY variable the same way), else one
 * line of stdin when stdin is not a terminal (as clevis's `read -s`), else
 * a prompt without echo on /dev/tty. -1 after a message. */
int read_existing_key(const char *keyfile, struct buf *out);

/* A new keyslot passphrase as clevis makes it: base64url of 40 random
 * bytes, 54 characters. */
int new_passphrase(struct buf *out);

/* The compact JWE bound to slot, or NULL (no message) when there is none. */
char *slot_jwe(struct luks_dev *d, int slot);

#endif
