/* clock.h - the one clock for deadlines: CLOCK_MONOTONIC in milliseconds,
 * so a step of the wall clock (NTP at boot, a manual date) never stretches
 * or cuts a wait. Every layer above net/ measures deadlines with it. */
#ifndef NBDE_CLOCK_H
#define NBDE_CLOCK_H

long long clock_mono_ms(void);
/* The same in microseconds (request durations for metrics). */
long long clock_mono_us(void);

#endif
