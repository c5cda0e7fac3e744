/* clock.h - the one clock for deadlines: CLOCK_MONOTONIC in milliseconds,
 * so a step of the wall clock (NTP at boot, a manual date) never stretches
 * or cuts a wait. Every layer above net/ measures deadlines with it, waits
 * on condition variables with it, and shares objects between a waiter and
 * its threads with shared_release(). */
#ifndef NBDE_CLOCK_H
#define NBDE_CLOCK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

long long clock_mono_ms(void);
/* The same in microseconds (request durations for metrics). */
long long clock_mono_us(void);

/* A condition variable whose timed waits run on this clock; 0 or an errno. */
int clock_cond_init(pthread_cond_t *cv);
/* Waits on cv (made by clock_cond_init, mu held) until woken or until
 * deadline_ms of clock_mono_ms(): 0, or ETIMEDOUT once it has passed. */
int clock_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, long long deadline_ms);

/* Drops one of *refs under mu; true for the last holder, who frees. For
 * what a waiter and its threads share: a waiter that gives up at its
 * deadline leaves, and the last thread to finish frees. */
bool shared_release(pthread_mutex_t *mu, int *refs);
/* Starts fn(arg) on a detached thread (stack bytes of stack; 0: the
 * default), for such a shared object: nobody joins it. False on failure. */
bool thread_start_detached(void *(*fn)(void *), void *arg, size_t stack);

#endif
