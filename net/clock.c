/* clock.c - see clock.h. */
#include "clock.h"

#include <time.h>

long long clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long clock_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int clock_cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t ca;
	int r = pthread_condattr_init(&ca);

	if (!r && !(r = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)))
		r = pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
	return r;
}

int clock_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, long long deadline_ms)
{
	struct timespec ts = { .tv_sec = deadline_ms / 1000, .tv_nsec = (deadline_ms % 1000) * 1000000 };

	return pthread_cond_timedwait(cv, mu, &ts);
}
