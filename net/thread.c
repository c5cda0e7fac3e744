/* thread.c - see thread.h. */
#include "thread.h"

bool shared_release(pthread_mutex_t *mu, int *refs)
{
	bool last;

	pthread_mutex_lock(mu);
	last = --*refs == 0;
	pthread_mutex_unlock(mu);
	return last;
}

bool thread_start_detached(void *(*fn)(void *), void *arg, size_t stack)
{
	pthread_attr_t ta;
	pthread_t th;
	bool ok;

	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	if (stack)
		pthread_attr_setstacksize(&ta, stack);
	ok = pthread_create(&th, &ta, fn, arg) == 0;
	pthread_attr_destroy(&ta);
	return ok;
}
