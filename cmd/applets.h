/* applets.h - the *_main of every applet, one per cmd/ file. */
#ifndef NBDE_APPLETS_H
#define NBDE_APPLETS_H

#define APPLET(name, fn, secrets, summary) int fn(int argc, char **argv);
#include "applets.def"
#undef APPLET

#endif
