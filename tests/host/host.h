/* host.h - helpers only the host tests have. */
#ifndef TESTS_HOST_HOST_H
#define TESTS_HOST_HOST_H

/* host_set_self() - make mm_self() return @id in the calling thread (call first thing in a test thread). */
void host_set_self(unsigned id);

#endif
