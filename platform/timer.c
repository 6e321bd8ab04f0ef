/* timer.c - idle waits: wfi woken by an SBI timer event, so a polling loop does not spin the host CPU. */
#include <stdint.h>

#include "platform/csr.h"
#include "platform/platform.h"
#include "platform/sbi.h"

#define SIE_STIE (1UL << 5)

static int have_timer = -1;	/* unknown until the first call */

void plat_idle(uint64_t ticks)
{
	if (have_timer < 0)
		have_timer = sbi_probe_extension(SBI_EXT_TIME) != 0;
	if (!have_timer)
		return;
	/*
	 * sie.STIE lets a pending timer end wfi; with sstatus.SIE clear no trap is taken. Setting the timer
	 * to "never" afterwards clears sip.STIP, and STIE goes off again so that nothing else's wfi (the
	 * benchmarks', the idle harts') is ended by a stale timer.
	 */
	csr_set(sie, SIE_STIE);
	sbi_set_timer(rdtime() + ticks);
	wfi();
	sbi_set_timer(UINT64_MAX);
	csr_clear(sie, SIE_STIE);
}
