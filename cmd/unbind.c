/* unbind.c - the unbind applet: `clevis luks unbind`.
 *
 * Removes a clevis binding: its keyslot and its LUKS2 token or LUKSMeta
 * slot, in one all-or-nothing transaction. Refuses when that keyslot is the
 * last one able to open the volume. Asks on /dev/tty unless -f. */
#include "applets.h"
#include "volume/volume.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "../luks/bind.h"
#include "../luks/device.h"

static const struct applet_help help = {
	.usage = "-d DEV -s SLOT [-f]",
	.about = "Removes the clevis binding of a keyslot, as `clevis luks unbind`.",
	.opts = (const struct option_spec[]){
		LUKS_OPTION_DEV,
		LUKS_OPTION_SLOT("the bound keyslot"),
		{ 'f', NULL, NULL, "do not ask for confirmation on /dev/tty" },
		{ 0 } },
	.epilogue = "Exit status: 0 removed (or declined at the prompt), 1 error (the volume\n"
		    "is unchanged), 2 usage.",
};

static bool have_tty(void)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static bool confirmed(const char *dev, int slot)
{
	char q[512];

	fprintf(stderr, "The unbind operation will wipe a slot. This operation is unrecoverable.\n");
	snprintf(q, sizeof(q), "Do you wish to erase LUKS slot %d on %s? [ynYN] ", slot, dev);
	return tty_confirm(q);
}

int unbind_main(int argc, char **argv)
{
	struct luks_opts o;
	const char *dev, *err = NULL;
	int slot, r;
	bool force;
	AUTO_LUKS d = NULL;

	if ((r = luks_parse_opts(argc, argv, &help, true, &o)) >= 0)
		return r;
	dev = o.dev;
	slot = o.slot;
	force = o.flags & LUKS_FLAG('f');
	if (!(d = open_device(dev)))
		return 1;
	if (!force && !have_tty()) {
		msg("no terminal to confirm the unbind on (use -f)");
		return 1;
	}
	if (!force && !confirmed(dev, slot))
		return 0;	/* as clevis: declining is not an error */
	r = unbind_luks(d, slot, &err);
	if (r < 0) {
		msg("%s: cannot unbind keyslot %d: %s%s%s", dev, slot, err, *bind_rescue_path() ? " " : "",
		    bind_rescue_path());
		return 1;
	}
	return 0;
}
