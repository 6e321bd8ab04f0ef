/* smp.c - start the other harts with SBI HSM, run functions on every hart, barriers. */
#include <stddef.h>
#include <string.h>

#include "kernel/cls.h"
#include "kernel/kernel.h"
#include "kernel/printk.h"
#include "kernel/smp.h"
#include "mm/heap.h"
#include "mm/mem.h"
#include "platform/csr.h"
#include "platform/platform.h"
#include "platform/sbi.h"

#define HART_STACK_SIZE (16 * 1024)

extern char secondary_entry[];

static struct cls *cls_table[TOPO_MAX_HARTS];
static unsigned nharts_up;

/* the current call: fn and arg are written before any participant's request word (release) */
static void (*call_fn)(void *);
static void *call_arg;
static unsigned call_n;		/* participants, the caller included if it takes part */
static unsigned call_others;	/* participants other than the caller: call_done counts up to this */
static uint32_t call_gen;
static uint32_t call_done;

static uint32_t bar_count;
static uint32_t bar_sense;
static uint32_t local_sense[TOPO_MAX_HARTS];

/*
 * Halting waits. Every wait of this file (a barrier, a call's completion) and every lock waiter
 * (kernel/lock.c) spins lock_spin_budget iterations, then sleeps in wfi until another hart sends it an
 * IPI. sstatus.SIE stays clear on every hart, so no trap is ever taken: with SIE.SSIE set, a pending
 * supervisor software interrupt only makes wfi return (or not sleep at all), and the sleeper clears
 * SIP.SSIP itself before it looks at its condition again.
 */

/* lock_halt() - kernel/lock.h's hook: sleep until an IPI (or spuriously), then forget the IPI. */
void lock_halt(void)
{
	wfi();
	/*
	 * Clear after waking, then the caller re-loads its condition: a kick that set SSIP before this
	 * clear was sent after its sender's store of the condition, which that load then sees; a kick
	 * after the clear leaves SSIP set and the next wfi returns at once.
	 */
	csr_clear(sip, SIP_SSIP);
}

/* lock_self() - kernel/lock.h's hook: the calling hart's CLS index. */
unsigned lock_self(void)
{
	return cls_self()->index;
}

/* lock_clock() - kernel/lock.h's hook: the time CSR. */
uint64_t lock_clock(void)
{
	return rdtime();
}

/* lock_kick() - kernel/lock.h's hook: an SBI IPI to hart index @hart (none if it has no CLS). */
void lock_kick(unsigned hart)
{
	struct cls *c = cls_of(hart);

	if (!c)
		return;
	/*
	 * fence iorw,iorw: the store the kicked hart will look for (a hand-off, an owner, a count) is
	 * visible before OpenSBI's write to the target's MSIP, so a hart woken by this IPI cannot re-load
	 * the old value and go back to sleep for good.
	 */
	__asm__ volatile("fence iorw, iorw" ::: "memory");
	sbi_send_ipi(1, c->hartid);
}

/* smp_sleeping[i]: hart index i sleeps (or is about to) in smp_wait_eq() */
static uint32_t smp_sleeping[TOPO_MAX_HARTS];

/*
 * smp_wait_eq() - wait until *@p == @v (acquire): spin lock_spin_budget iterations, then sleep until
 * smp_wake_sleepers(). Dekker with smp_wake_sleepers(): the sleeper stores its flag, fences, re-loads
 * *@p; the waker stores *@p, fences, loads the flags. At least one sees the other's store, so either
 * the sleeper does not sleep or the waker kicks it.
 */
static void smp_wait_eq(const uint32_t *p, uint32_t v)
{
	unsigned me = cls_self()->index;
	uint32_t spins = 0, budget = __atomic_load_n(&lock_spin_budget, __ATOMIC_RELAXED);

	/* acquire: pairs with the waker's release store or increment of *p */
	while (__atomic_load_n(p, __ATOMIC_ACQUIRE) != v) {
		if (spins++ < budget) {
			cpu_relax();
			continue;
		}
		__atomic_store_n(&smp_sleeping[me], 1, __ATOMIC_RELAXED);
		/* fence rw,rw (Dekker, see above): the flag is visible before we re-load *p */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		while (__atomic_load_n(p, __ATOMIC_ACQUIRE) != v)
			lock_halt();
		__atomic_store_n(&smp_sleeping[me], 0, __ATOMIC_RELAXED);
		return;
	}
}

void smp_poll_relax(uint32_t *spins)
{
	if (*spins < __atomic_load_n(&lock_spin_budget, __ATOMIC_RELAXED)) {
		(*spins)++;
		cpu_relax();
		return;
	}
	plat_idle(boot_topo.timebase_hz * SMP_POLL_SLEEP_US / 1000000 + 1);
}

static void drain_one(void *arg)
{
	(void)arg;
	mem_drain();
}

void smp_mem_drain_all(void)
{
	smp_call_all(drain_one, NULL);
	smp_call_all(drain_one, NULL);
}

/* smp_wake_sleepers() - after storing what smp_wait_eq() waits for: kick every hart that sleeps there. */
static void smp_wake_sleepers(void)
{
	unsigned i;

	/* fence rw,rw (Dekker with smp_wait_eq()): our store is visible before we load the flags */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (i = 0; i < TOPO_MAX_HARTS; i++)
		if (__atomic_load_n(&smp_sleeping[i], __ATOMIC_RELAXED))
			lock_kick(i);
}

struct cls *cls_of(unsigned i)
{
	return i < TOPO_MAX_HARTS ? cls_table[i] : NULL;
}

void cls_set(unsigned i, struct cls *c)
{
	cls_table[i] = c;
}

unsigned smp_nharts(void)
{
	return nharts_up;
}

int smp_hart_up(unsigned index)
{
	struct cls *c = cls_of(index);

	return c && __atomic_load_n(&c->arrived, __ATOMIC_ACQUIRE);
}

/* The idle loop of every hart but the boot hart: sleep until asked to run something. */
static void __attribute__((noreturn)) secondary_loop(struct cls *c)
{
	for (;;) {
		uint32_t req;

		/* clear the IPI before looking at the request, so a request posted after the look wakes wfi */
		csr_clear(sip, SIP_SSIP);
		/* acquire: pairs with the release in smp_call_n(); call_fn/call_arg are visible */
		req = __atomic_load_n(&c->call_req, __ATOMIC_ACQUIRE);
		if (req != c->call_seen) {
			unsigned last = call_others;	/* the count after the last finisher's increment */

			c->call_seen = req;
			call_fn(call_arg);
			/* release: everything fn did is visible to the caller that sees the count; the last
			 * participant to finish wakes the caller if it sleeps */
			if (__atomic_add_fetch(&call_done, 1, __ATOMIC_RELEASE) == last)
				smp_wake_sleepers();
			continue;
		}
		wfi();
	}
}

void secondary_main(unsigned long hartid, struct cls *c)
{
	trap_init();
	/* software interrupts wake wfi; sstatus.SIE stays clear, so no trap is ever taken for them */
	csr_set(sie, SIE_SSIE);
	/* release: the boot hart reading arrived also sees our CLS as we found it */
	__atomic_store_n(&c->arrived, 1, __ATOMIC_RELEASE);
	secondary_loop(c);
}

static struct cls *cls_create(const struct topo *t, unsigned i)
{
	void *stack, *mem;
	struct cls *c;
	unsigned cl = t->hart[i].cluster;

	/* own cluster first, else the nearest cluster with memory (a memoryless node's harts) */
	if (heap_alloc_near(cl, HART_STACK_SIZE, &stack) || heap_alloc_near(cl, sizeof(struct cls), &mem))
		panic("no memory for hart %u's stack and CLS", (unsigned)t->hart[i].hartid);
	c = mem;
	memset(c, 0, sizeof(*c));
	c->stack_top = (uintptr_t)stack + HART_STACK_SIZE;
	c->self = c;
	c->hartid = t->hart[i].hartid;
	c->index = i;
	c->cluster = cl;
	c->x = t->cluster[cl].x;
	c->y = t->cluster[cl].y;
	/* the node stack's overflow check relies on the CLS's alignment (a power-of-two block is aligned) */
	if ((uintptr_t)c & (_Alignof(struct cls) - 1))
		panic("hart %u's CLS at %p is not %zu-byte aligned", (unsigned)t->hart[i].hartid, (void *)c,
		      _Alignof(struct cls));
	cls_mcs_init(c);
	mem_cpu_init(&c->mm, i, cl);
	cls_table[i] = c;
	return c;
}

/*
 * Move the boot hart from its static early CLS into one allocated in its own cluster (the boot stack
 * stays the static one in the image).
 */
void smp_boot_hart_cls(const struct topo *t, unsigned boot_index)
{
	struct cls *old = cls_self(), *c = cls_create(t, boot_index);

	if (cls_mcs_depth(old))
		panic("boot hart moves its CLS while holding %u MCS lock(s)", cls_mcs_depth(old));
	c->stack_top = old->stack_top;
	c->arrived = 1;
	__asm__ volatile("mv tp, %0" ::"r"(c) : "memory");
}

unsigned smp_boot(const struct topo *t, long skip_hart)
{
	unsigned i, up = 1, expected = t->nharts;
	uint32_t self = cls_self()->hartid;
	uint64_t hz = t->timebase_hz;
	/*
	 * stall: how long without a new arrival before giving up: 3 s, or 10 s while a pending hart is
	 * already STARTED for OpenSBI. Once (1 boot in about 15 of 2x2 on a 2-core host) such a hart had not
	 * written "arrived" after 3 s, with no trap or panic. The same symptom, 1 boot in 5 of tiny-heaps,
	 * came from heaps handing out RAM just past the firmware's reserved range, which OpenSBI 1.1 still
	 * uses (kernel/memplan.c now reserves all RAM below the image): probably the 2x2 case as well. Harts
	 * stuck in START_PENDING (under -icount, see below) keep the short bound.
	 */
	uint64_t t0, kick, t_progress, limit = hz * 60, stall = hz * 3, stall_started = hz * 10;
	uint64_t kick_every = hz / 100;
	unsigned started_pending = 0;
	unsigned kicks = 0, last_pending = ~0u;
	uint32_t spins = 0;
	int started[TOPO_MAX_HARTS] = { 0 };

	for (i = 0; i < t->nharts; i++) {
		struct cls *c;
		long err;

		if (t->hart[i].hartid == self)
			continue;
		c = cls_create(t, i);
		if ((long)t->hart[i].hartid == skip_hart) {
			printk("smp: hart %u withheld (bootarg nohart)\n", (unsigned)c->hartid);
			continue;
		}
		/* the CLS must be in memory before the hart reads it: ecall is not a fence */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		err = sbi_hart_start(c->hartid, (unsigned long)secondary_entry, (unsigned long)c);
		if (err)
			printk("smp: hart %u: sbi_hart_start failed (%ld)\n", (unsigned)c->hartid, err);
		else
			started[i] = 1;
	}
	/*
	 * Poll with a bound: a hart counts once it has written its CLS "arrived" flag. HSM status alone is
	 * not trusted: a probe saw hart_start succeed for a hart that never came.
	 */
	t0 = rdtime();
	kick = t_progress = t0;
	for (;;) {
		unsigned pending = 0;
		int do_kick = rdtime() - kick > kick_every;

		if (do_kick)
			started_pending = 0;
		for (i = 0; i < t->nharts; i++) {
			long st;

			if (!started[i] || smp_hart_up(i))
				continue;
			pending++;
			if (!do_kick)
				continue;
			/*
			 * Seen under -icount: a hart left in START_PENDING, asleep in OpenSBI's HSM wait loop
			 * after missing its wake-up. An IPI wakes it to look at its state again.
			 */
			st = sbi_hart_get_status(t->hart[i].hartid);
			if (st == SBI_HSM_START_PENDING) {
				sbi_send_ipi(1, t->hart[i].hartid);
				kicks++;
			} else if (st == SBI_HSM_STARTED) {
				started_pending++;
			}
		}
		if (do_kick)
			kick = rdtime();
		if (pending != last_pending) {
			last_pending = pending;
			t_progress = rdtime();
		}
		/* give up when nothing arrived for a while (harts arrive within ms otherwise), or at the cap */
		if (!pending || rdtime() - t_progress > (started_pending ? stall_started : stall) ||
		    rdtime() - t0 > limit)
			break;
		smp_poll_relax(&spins);	/* after a short spin, sleep: 127 polled vCPUs need the host CPUs */
	}
	if (kicks)
		printk("smp: %u wake-up IPIs sent to harts stuck in START_PENDING\n", kicks);
	for (i = 0; i < t->nharts; i++) {
		if (t->hart[i].hartid == self)
			continue;
		if (smp_hart_up(i)) {
			up++;
			continue;
		}
		printk("smp: hart %u never arrived (HSM status %ld)\n", (unsigned)t->hart[i].hartid,
		       sbi_hart_get_status(t->hart[i].hartid));
		cls_table[i] = NULL;
	}
	nharts_up = up;
	printk("smp: harts up=%u expected=%u\n", up, expected);
	return up;
}

unsigned smp_participants(void)
{
	return call_n;
}

void smp_set_clear(struct hart_set *s)
{
	memset(s, 0, sizeof(*s));
}

void smp_set_add(struct hart_set *s, unsigned index)
{
	if (index < TOPO_MAX_HARTS)
		s->bits[index / 64] |= 1ULL << (index % 64);
}

bool smp_set_has(const struct hart_set *s, unsigned index)
{
	return index < TOPO_MAX_HARTS && (s->bits[index / 64] >> (index % 64)) & 1;
}

unsigned smp_set_count(const struct hart_set *s)
{
	unsigned i, n = 0;

	for (i = 0; i < HART_SET_WORDS; i++)
		n += (unsigned)__builtin_popcountll(s->bits[i]);
	return n;
}

unsigned smp_set_per_cluster(struct hart_set *s, const struct topo *t, unsigned per_cluster)
{
	unsigned c, i, n = 0;

	smp_set_clear(s);
	for (c = 0; c < t->nclusters; c++) {
		unsigned taken = 0;

		for (i = 0; i < t->nharts && taken < per_cluster; i++)
			if (t->hart[i].cluster == c && smp_hart_up(i)) {
				smp_set_add(s, i);
				taken++;
			}
		n += taken;
	}
	return n;
}

void smp_call_set(const struct hart_set *set, void (*fn)(void *arg), void *arg)
{
	struct cls *self = cls_self();
	bool me = smp_set_has(set, self->index);
	unsigned i, sent = 0, others = 0;
	uint32_t gen;

	for (i = 0; i < TOPO_MAX_HARTS; i++)
		others += i != self->index && smp_set_has(set, i) && cls_table[i] && smp_hart_up(i);
	if (!others && !me)
		return;
	call_fn = fn;
	call_arg = arg;
	call_n = others + me;
	call_others = others;
	__atomic_store_n(&call_done, 0, __ATOMIC_RELAXED);
	gen = ++call_gen;
	for (i = 0; i < TOPO_MAX_HARTS && sent < others; i++) {
		struct cls *c = cls_table[i];

		if (!c || c == self || !smp_set_has(set, i) || !smp_hart_up(i))
			continue;
		/* release: call_fn, call_arg, call_n and call_others are visible to the hart that sees its request */
		__atomic_store_n(&c->call_req, gen, __ATOMIC_RELEASE);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);	/* the store is out before the IPI ecall */
		sbi_send_ipi(1, c->hartid);
		sent++;
	}
	if (me)
		fn(arg);
	/* acquire (in smp_wait_eq()): pairs with the participants' release increments */
	smp_wait_eq(&call_done, sent);
}

void smp_call_n(unsigned n, void (*fn)(void *arg), void *arg)
{
	struct cls *self = cls_self();
	struct hart_set s;
	unsigned i, k = 1;

	/* the caller, then the lowest-index other harts that are up */
	smp_set_clear(&s);
	smp_set_add(&s, self->index);
	for (i = 0; i < TOPO_MAX_HARTS && k < n; i++)
		if (i != self->index && cls_table[i] && smp_hart_up(i)) {
			smp_set_add(&s, i);
			k++;
		}
	smp_call_set(&s, fn, arg);
}

void smp_call_all(void (*fn)(void *arg), void *arg)
{
	smp_call_n(nharts_up, fn, arg);
}

/*
 * Sense-reversing barrier: each hart flips its own sense; the last to arrive resets the count and
 * publishes the new sense, which releases the others.
 */
void smp_barrier(void)
{
	unsigned me = cls_self()->index;
	uint32_t sense = !local_sense[me];

	/* acq_rel: the last arriver sees every other hart's work before it releases them */
	if (__atomic_add_fetch(&bar_count, 1, __ATOMIC_ACQ_REL) == call_n) {
		__atomic_store_n(&bar_count, 0, __ATOMIC_RELAXED);
		/* release: the count reset and all prior work is visible to released harts */
		__atomic_store_n(&bar_sense, sense, __ATOMIC_RELEASE);
		smp_wake_sleepers();
	} else {
		smp_wait_eq(&bar_sense, sense);
	}
	local_sense[me] = sense;
}
