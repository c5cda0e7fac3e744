/* volume.h - what the LUKS applets (bind, unbind, list, unlock, pass,
 * regen) share: opening a volume with a message, keyslot numbers, the
 * existing passphrase, fresh passphrases, reading a slot's binding. */
#ifndef NBDE_LUKS_UTIL_H
#define NBDE_LUKS_UTIL_H

#include "../../crypto/secret.h"
#include "../runtime/options.h"

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

/* Parses argv into o with the applet's option table h, whose -d DEV,
 * -s SLOT and -k KEYFILE fill their fields and whose other letters set
 * LUKS_FLAG bits; need_slot makes -s mandatory. Returns -1 when the applet
 * goes on, else its exit status: 0 after -h, exit_usage() after a usage
 * error said on stderr. */
int luks_parse_opts(int argc, char **argv, const struct applet_help *h, bool need_slot, struct luks_opts *o);

/* The options every LUKS applet has, for its option table. */
#define LUKS_OPTION_DEV { 'd', NULL, "DEV", "the LUKS device or image file" }
#define LUKS_OPTION_SLOT(what) { 's', NULL, "SLOT", what }

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
