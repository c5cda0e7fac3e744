/* edit.c - the edit applet: `clevis luks edit`.
 *
 * Gives a keyslot's binding a new configuration for the same pin: the
 * binding is decrypted, its passphrase encrypted again with the new
 * configuration (tang advertisements trusted as with -y, as clevis does)
 * and the JWE replaced in one transaction (luks/bind.h). The keyslot itself
 * is not touched, so a failure can never cost it. A configuration equal to
 * the current one is refused without -f, as clevis does. In the clevis form
 * without -c the configuration is edited in $EDITOR (default vi). */
#include "applets.h"
#include "volume/volume.h"
#include "pin/pin.h"
#include "runtime/options.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../crypto/json.h"
#include "../luks/bind.h"
#include "../luks/device.h"


struct edit_opts {
	const char *dev, *cfg;
	int slot;
	bool force, clevis;
};

static const struct applet_help help = {
	.usage = "-d DEV -s SLOT [-c CFG] [-f]",
	.about = "Gives a keyslot's clevis binding a new configuration for its pin, as\n"
		 "`clevis luks edit`; the keyslot and its passphrase stay as they are.",
	.opts = (const struct option_spec[]){
		LUKS_OPTION_DEV,
		LUKS_OPTION_SLOT("the bound keyslot"),
		{ 'c', NULL, "CFG", "the new configuration (JSON); required, except that\n"
				    "`clevis luks edit` without -c edits the current one in\n"
				    "$EDITOR (default vi)" },
		{ 'f', NULL, NULL, "go on even when the configuration is unchanged" },
		{ 0 } },
	.epilogue = "Exit status: 0 edited (or not confirmed), 1 error (the volume is unchanged), 2 usage.",
	.in_order = true,
};

/* 0 to go on, -1 when -h was answered, else the exit status. */
static int parse(int argc, char **argv, struct edit_opts *o)
{
	int c;

	while ((c = options_next(argc, argv, &help)) != OPTIONS_END) {
		switch (c) {
		case OPTIONS_HELP: return -1;
		case OPTIONS_ERROR: return exit_usage();
		case 'f': o->force = true; break;
		case 'd': o->dev = optarg; break;
		case 'c': o->cfg = optarg; break;
		case 's': if (!parse_slot_arg(optarg, "keyslot", &o->slot)) return exit_usage(); break;
		}
	}
	if (optind != argc)
		return usage_error(&help, "unexpected argument '%s'", argv[optind]);
	/* clevis's words */
	if (!o->dev || o->slot < 0)
		return usage_error(&help, !o->dev ? "Did not specify a device!" : "Did not specify a slot!");
	if (!o->cfg && !o->clevis)
		return usage_error(&help, "-c CFG is required (the editor is only for `clevis luks edit`)");
	return 0;
}

/* A yes/no answer, on the terminal or else one line of stdin (clevis's
 * `read -p`); true only for y or Y. */
static bool confirm(const char *prompt)
{
	AUTO_BUF line = { 0 };

	if (isatty(0))
		return tty_confirm(prompt);
	fputs(prompt, stderr);
	fflush(stderr);
	if (read_line(0, 64, &line))
		return false;
	return line.len == 1 && (line.p[0] == 'y' || line.p[0] == 'Y');
}

/* Runs $EDITOR (default vi) on path, as clevis: one word, its status
 * ignored. */
static int run_editor(const char *path)
{
	const char *editor = getenv("EDITOR") && *getenv("EDITOR") ? getenv("EDITOR") : "vi";
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		msg("cannot start the editor: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		execlp(editor, editor, path, (char *)NULL);
		fprintf(stderr, "Editor '%s' not found. \n"
				"Please define a valid text editor with the EDITOR environment variable.\n",
			editor);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 127 ? -1 : 0;
}

/* A new file the editor may write (the process umask would make it
 * read-only); in a fresh private directory, so O_EXCL is enough. */
static int write_editable(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int r;

	if (fd < 0)
		return -1;
	r = fchmod(fd, 0600) || write_all(fd, text, strlen(text)) || write_all(fd, "\n", 1) ? -1 : 0;
	close(fd);
	return r;
}

/* The edited configuration from a file holding the current one pretty
 * printed; NULL when the person gives up on a malformed one. */
static cJSON *edit_in_editor(const cJSON *current, const char *dir)
{
	AUTO_FREE char *text = cJSON_Print(current);
	char path[4096];

	if (!text || snprintf(path, sizeof(path), "%s/cfg", dir) >= (int)sizeof(path) ||
	    write_editable(path, text)) {
		msg("Creating a temporary file for editing the binding failed");
		return NULL;
	}
	for (;;) {
		AUTO_BUF edited = { 0 };
		cJSON *cfg;

		if (run_editor(path))
			return NULL;
		if (read_file(path, CONFIG_MAX, &edited) == 0 &&
		    (cfg = json_parse((const char *)edited.p, edited.len))) {
			if (cJSON_IsObject(cfg))
				return cfg;
			cJSON_Delete(cfg);
		}
		if (!confirm("Malformed configuration. Would you like to edit again? [ynYN] "))
			return NULL;
	}
}

/* -c CFG, or the editor on a private copy of the current configuration. */
static cJSON *new_config(const struct edit_opts *o, const cJSON *current)
{
	char dir[4096];
	const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	cJSON *cfg;

	if (o->cfg) {
		if (!(cfg = json_parse_str(o->cfg)) || !cJSON_IsObject(cfg)) {
			cJSON_Delete(cfg);
			msg("Invalid configuration given as parameter with -c");
			return NULL;
		}
		return cfg;
	}
	if (snprintf(dir, sizeof(dir), "%s/nbde-edit-XXXXXX", tmp) >= (int)sizeof(dir) || !mkdtemp(dir)) {
		msg("Creating a temporary dir for editing binding failed");
		return NULL;
	}
	cfg = edit_in_editor(current, dir);
	{
		char path[4096 + 8];
		snprintf(path, sizeof(path), "%s/cfg", dir);
		unlink(path);
		rmdir(dir);
	}
	return cfg;
}

/* The clevis form with the editor shows the result and asks. */
static bool proceed(const struct edit_opts *o, const char *pin, const cJSON *cfg)
{
	AUTO_FREE char *text = NULL;

	if (o->cfg)
		return true;
	if (!(text = cJSON_Print(cfg)))
		return false;
	printf("Pin: ");
	fput_escaped(stdout, pin);
	printf("\nNew config:\n");
	fput_escaped(stdout, text);
	printf("\n");
	fflush(stdout);
	return confirm("Would you like to proceed with the updated configuration? [ynYN] ");
}

static int edit(struct luks_dev *d, const struct edit_opts *o)
{
	AUTO_FREE char *jwe = slot_jwe(d, o->slot), *pin = NULL, *new_jwe = NULL;
	AUTO_JSON current = NULL;
	AUTO_JSON cfg = NULL;
	AUTO_BUF pass = { 0 };
	struct pin_opts po = { .deadline_ms = clock_mono_ms() + PIN_DEFAULT_TIMEOUT_MS };
	struct pin_opts eo = { .assume_yes = true };
	const char *err = NULL;

	if (!jwe || !(pin = pin_name(jwe, strlen(jwe), true)) || !(current = pin_list_config(jwe, strlen(jwe)))) {
		msg("Error retrieving current configuration from %s:%d", o->dev, o->slot);
		return 1;
	}
	if (!(cfg = new_config(o, current)))
		return 1;
	if (cJSON_Compare(cfg, current, true) && !o->force) {
		msg("No changes detected; exiting");
		return 1;
	}
	if (!proceed(o, pin, cfg))
		return 0;
	printf("Updating binding...\n");
	fflush(stdout);
	if (pin_decrypt(jwe, strlen(jwe), &pass, &po)) {
		msg("%s: cannot decrypt the current binding of keyslot %d, so its passphrase is unknown "
		    "(nothing changed; `regen -k` or unbind and bind instead)", o->dev, o->slot);
		return 1;
	}
	if (!(new_jwe = pin_encrypt(pin, cfg, pass.p, pass.len, &eo)))
		return 1;
	if (rebind_jwe_luks(d, o->slot, &pass, new_jwe, &err) < 0) {
		msg("Unable to update binding in %s:%d: %s%s%s. Operation cancelled.", o->dev, o->slot, err,
		    *bind_rescue_path() ? " " : "", bind_rescue_path());
		return 1;
	}
	fprintf(stderr, "Binding edited successfully\n");
	return 0;
}

int edit_main(int argc, char **argv)
{
	struct edit_opts o = { .slot = -1 };
	AUTO_LUKS d = NULL;
	int r;

	o.clevis = !strcmp(util_prog, "clevis");
	if ((r = parse(argc, argv, &o)))
		return r < 0 ? 0 : r;
	if (!(d = open_device(o.dev)))
		return 1;
	return edit(d, &o);
}
