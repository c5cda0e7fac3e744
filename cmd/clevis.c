/* clevis.c - the clevis applet: clevis's command lines mapped onto nbde's
 * applets, for automation written against clevis (installed as a symlink
 * named clevis, or run as `nbde clevis ...`).
 *
 * usage: clevis encrypt PIN CFG [-y] | clevis decrypt
 *        clevis luks bind|edit|unbind|list|unlock|pass|regen|report ARGS...
 *        clevis-encrypt-PIN CFG [-y] | clevis-decrypt[-PIN]
 *        clevis-luks-bind|edit|unbind|list|unlock|pass|regen|report ARGS...
 *        clevis-COMMAND --summary
 *
 * The second form is clevis's per-command executables (symlinks to nbde),
 * which scripts and initramfs hooks call directly; each stands for the
 * words of its name, as `clevis-luks-bind -d D ...` for `clevis luks bind
 * -d D ...`, except that the decrypt pins are all `clevis decrypt`.
 *
 * Options, output and exit codes follow the applets, which follow clevis;
 * stdin, when it is not a terminal, carries the existing passphrase for
 * `clevis luks bind` as with clevis's `read -s`. */
#include "applets.h"
#include "runtime/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct clevis_command {
	const char *words;	/* after "clevis" */
	int nwords;
	int (*main)(int argc, char **argv);
	int usage_rc;		/* clevis's own script exits with it on a usage error */
	const char *summary;
};

static const struct clevis_command commands[] = {
	{ "decrypt", 1, decrypt_main, 2, "Decrypts using the policy defined at encryption time" },
	{ "encrypt", 1, encrypt_main, 1, "Encrypts using a pin policy (tang, sss, tpm2, null)" },
	{ "luks bind", 2, bind_main, 2, "Binds a LUKS device using the specified policy" },
	{ "luks edit", 2, edit_main, 1, "Edit a binding from a clevis-bound slot in a LUKS device" },
	{ "luks list", 2, list_main, 1, "Lists pins bound to a LUKSv1 or LUKSv2 device" },
	{ "luks pass", 2, pass_main, 1, "Returns the LUKS passphrase used for binding a particular slot." },
	{ "luks regen", 2, regen_main, 1, "Regenerate clevis binding" },
	{ "luks report", 2, report_main, 1, "Report tang keys' rotations" },
	{ "luks unbind", 2, unbind_main, 2, "Unbinds a pin bound to a LUKS volume" },
	{ "luks unlock", 2, unlock_main, 2, "Unlocks a LUKS volume" },
};

#define NCOMMANDS ARRAY_SIZE(commands)

/* argv[1..n] spell the command's words exactly. */
static bool matches(const struct clevis_command *c, int argc, char **argv)
{
	const char *w = c->words;

	if (argc <= c->nwords)
		return false;
	for (int i = 1; i <= c->nwords; i++) {
		size_t len = strlen(argv[i]);
		if (strncmp(w, argv[i], len) || (w[len] != ' ' && w[len] != 0))
			return false;
		w += len + (w[len] == ' ');
	}
	return true;
}

static void list_commands(FILE *f)
{
	fprintf(f, "Usage: clevis COMMAND [OPTIONS]\n\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  clevis %-11s %s\n", commands[i].words, commands[i].summary);
	fprintf(f, "\n");
}

/* clevis's own listing: blank line, the complaint, usage, commands. */
static int usage(int argc, char **argv)
{
	fprintf(stderr, "\n");
	if (argc > 1) {
		fprintf(stderr, "Command 'clevis");
		for (int i = 1; i < argc; i++)
			fprintf(stderr, " %s", argv[i]);
		fprintf(stderr, "' is invalid\n\n");
	}
	list_commands(stderr);
	return 2;
}

/* clevis's per-command executables: the words each stands for, and its
 * --summary when it has one of its own (NULL: the command's; "": none,
 * --summary fails as with clevis's decrypt pins). */
static const struct clevis_alias {
	const char *name, *words, *summary;
} aliases[] = {
	{ "clevis-decrypt", "decrypt", NULL },
	{ "clevis-decrypt-tang", "decrypt", "" },
	{ "clevis-decrypt-sss", "decrypt", "" },
	{ "clevis-decrypt-null", "decrypt", "" },
	{ "clevis-decrypt-tpm2", "decrypt", "" },
	{ "clevis-encrypt-tang", "encrypt tang", "Encrypts using a Tang binding server policy" },
	{ "clevis-encrypt-sss", "encrypt sss", "Encrypts using a Shamir's Secret Sharing policy" },
	{ "clevis-encrypt-null", "encrypt null", "" },
	{ "clevis-encrypt-tpm2", "encrypt tpm2", "Encrypts using a TPM2.0 chip binding policy" },
	{ "clevis-luks-bind", "luks bind", NULL },
	{ "clevis-luks-edit", "luks edit", NULL },
	{ "clevis-luks-list", "luks list", NULL },
	{ "clevis-luks-pass", "luks pass", NULL },
	{ "clevis-luks-regen", "luks regen", NULL },
	{ "clevis-luks-report", "luks report", NULL },
	{ "clevis-luks-unbind", "luks unbind", NULL },
	{ "clevis-luks-unlock", "luks unlock", NULL },
};

static const char *command_summary(const char *words)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].words, words))
			return commands[i].summary;
	return "";
}

/* argv of a per-command name rewritten as `clevis WORDS ARGS...`. */
static int run_alias(const struct clevis_alias *a, int argc, char **argv)
{
	const char *summary = a->summary ? a->summary : command_summary(a->words);
	char words[32], *save = NULL, **av;
	int n = 1, r;

	if (argc == 2 && !strcmp(argv[1], "--summary")) {
		if (!*summary)
			return 1;
		printf("%s\n", summary);
		return 0;
	}
	if (!(av = calloc((size_t)argc + 4, sizeof(*av)))) {
		msg("out of memory");
		return 1;
	}
	snprintf(words, sizeof(words), "%s", a->words);
	av[0] = "clevis";
	for (char *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save))
		av[n++] = w;
	for (int i = 1; i < argc; i++)
		av[n++] = argv[i];
	r = clevis_main(n, av);
	free(av);
	return r;
}

int clevis_main(int argc, char **argv)
{
	static char usage_name[32];
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;

	base = base ? base + 1 : argc > 0 ? argv[0] : "clevis";
	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
		if (!strcmp(base, aliases[i].name))
			return run_alias(&aliases[i], argc, argv);

	/* Every nbde applet answers -h; clevis itself calls it invalid (exit 2),
	 * which no automation depends on. */
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		list_commands(stdout);
		return 0;
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (!matches(&commands[i], argc, argv))
			continue;
		snprintf(usage_name, sizeof(usage_name), "clevis %s", commands[i].words);
		applet_name("clevis", usage_name, commands[i].usage_rc);
		/* the last command word becomes the applet's argv[0] */
		return commands[i].main(argc - commands[i].nwords, argv + commands[i].nwords);
	}
	return usage(argc, argv);
}
