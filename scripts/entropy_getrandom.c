/*
 * nbde: Mbed TLS entropy source over getrandom(2).
 *
 * Mbed TLS's own platform entropy uses getrandom() only when built against
 * glibc; with musl it falls back to reading /dev/urandom, which may be absent
 * in an initramfs or chroot. scripts/mbedtls_config.h therefore sets
 * MBEDTLS_NO_PLATFORM_ENTROPY and MBEDTLS_ENTROPY_HARDWARE_ALT, and
 * scripts/build-deps.sh compiles this file and appends it to libmbedcrypto.a,
 * so every consumer of the library gets this source without extra objects.
 */
#include <errno.h>
#include <stddef.h>
#include <sys/random.h>
#include <sys/types.h>

#include <mbedtls/entropy.h>

/* Declared in Mbed TLS's private library/entropy_poll.h. */
int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len,
                          size_t *olen);

int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len,
                          size_t *olen)
{
    size_t done = 0;

    (void)data;
    *olen = 0;
    while (done < len) {
        /* Flags 0: block until the kernel pool is initialised, never return
         * unseeded bytes. Requests up to 256 bytes are not interrupted once
         * the pool is ready; loop anyway for short reads and EINTR. */
        ssize_t n = getrandom(output + done, len - done, 0);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
        }
        done += (size_t)n;
    }
    *olen = done;
    return 0;
}
