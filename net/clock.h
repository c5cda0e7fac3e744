/* clock.h - the one clock for deadlines: CLOCK_MONOTONIC in milliseconds,
 * so a step of the wall clock (NTP at boot, a manual date) never stretches
 * or cuts a wait. Every layer above net/ measures deadlines with it and
 * waits on condition variables with it (thread.h has the thread helpers). */
#ifndef NBDE_CLOCK_H
#define NBDE_CLOCK_H

#include <pthread.h>

long long clock_mono_ms(void);
/* The same in microseconds (request durations for metrics). */
long long clock_mono_us(void);

/* A condition variable whose timed waits run on this clock; 0 or an errno. */
int clock_cond_init(pthread_cond_t *cv);
/* Waits on cv (made by clock_cond_init, mu held) until woken or until
 * deadline_ms of clock_mono_ms(): 0, or ETIMEDOUT once it has passed. */
int clock_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, long long deadline_ms);

#endif
