/* rand.c - getrandom() wrapper. Thread-safe and needs no /dev nodes, which
 * matters in an early initramfs and for the tang-server worker threads. */
#include "rand.h"

#include <errno.h>
#include <sys/random.h>

int rand_bytes(void *buf, size_t len)
{
	unsigned char *p = buf;
	while (len) {
		ssize_t n = getrandom(p, len > 256 ? 256 : len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
