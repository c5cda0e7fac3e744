/* thread.h - the two thread patterns nbde uses, written once: a waiter
 * that gives up at its deadline (on clock.h's clock) shares an object with
 * detached threads, and the last one to let go frees it. */
#ifndef NBDE_THREAD_H
#define NBDE_THREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* Drops one of *refs under mu; true for the last holder, who frees. For
 * what a waiter and its threads share: a waiter that gives up at its
 * deadline leaves, and the last thread to finish frees. */
bool shared_release(pthread_mutex_t *mu, int *refs);
/* Starts fn(arg) on a detached thread (stack bytes of stack; 0: the
 * default), for such a shared object: nobody joins it. False on failure. */
bool thread_start_detached(void *(*fn)(void *), void *arg, size_t stack);

#endif
