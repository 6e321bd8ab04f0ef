/* host.h - helpers only the host tests have. */
#ifndef TESTS_HOST_HOST_H
#define TESTS_HOST_HOST_H

#include <stdint.h>

/* host_set_self() - make mm_self() return @id in the calling thread (call first thing in a test thread). */
void host_set_self(unsigned id);

/* the shim's lock_halt()/lock_kick() (kernel/lock.h): sleeps that timed out (a test failure), calls */
extern uint32_t host_lost_wakeups;
extern uint64_t host_halts, host_kicks;

#endif
