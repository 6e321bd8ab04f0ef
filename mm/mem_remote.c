/* mem_remote.c - frees of other clusters' small blocks, batched per owner and sent home under one lock. */
#include "mm/buddy.h"
#include "mm/cpu.h"
#include "mm/heap.h"
#include "mm/mem_internal.h"

/*
 * A hart that frees a small block (64 B .. 4 KiB) of another cluster does not take that cluster's lock
 * for it: the block is validated and tagged "free" at once (so a second free is refused), then parked on
 * a batch for its owner, and a batch of REMOTE_BATCH blocks goes home under one lock round trip. A hart
 * has MM_REMOTE_SLOTS batches open at a time, whatever the number of clusters (256 on a 16x16 mesh):
 * 8 slots of 16 bytes, not a list per cluster. A free for an owner without a slot takes a free slot, or
 * else sends home the fullest open batch first (its one lock round trip is then shared by the most
 * blocks) and takes its slot. So the per-hart state is fixed, and every lock round trip still carries
 * a whole batch except when more than MM_REMOTE_SLOTS owners interleave.
 */
#define REMOTE_BATCH 8

static void remote_flush(struct mm_remote_list *rl)
{
	struct heap *h = heap_of(rl->owner);
	void *p = rl->head;

	spin_lock(&h->lock);
	while (p) {
		void *next = *(void **)p;
		uint8_t *t = buddy_tag(h->b.tag_bias, (uintptr_t)p);

		*t = (uint8_t)(BUDDY_TAG_HEAD | (*t & BUDDY_TAG_ORDER));
		heap_give_back_locked(h, p, "remote");
		p = next;
	}
	spin_unlock(&h->lock);
	rl->head = NULL;
	rl->count = 0;
}

/* the open batch for cluster @owner, or a slot for it (a free one, else the fullest, sent home first) */
static struct mm_remote_list *remote_slot(struct mm_cpu *c, unsigned owner)
{
	struct mm_remote_list *free_slot = NULL, *fullest = &c->remote[0];
	unsigned i;

	for (i = 0; i < MM_REMOTE_SLOTS; i++) {
		struct mm_remote_list *rl = &c->remote[i];

		if (!rl->count) {
			if (!free_slot)
				free_slot = rl;
			continue;
		}
		if (rl->owner == owner)
			return rl;
		if (rl->count > fullest->count)
			fullest = rl;
	}
	if (!free_slot) {
		remote_flush(fullest);
		free_slot = fullest;
	}
	free_slot->owner = owner;
	return free_slot;
}

bool mem_remote_push(struct mm_cpu *c, struct heap *h, void *addr)
{
	uintptr_t a = (uintptr_t)addr;
	uint8_t *t = buddy_tag(h->b.tag_bias, a);
	uint8_t tag = *t;
	struct mm_remote_list *rl;

	/* a taken block (a slab, a page run's: mm/heap.h) is not an allocated head: refused here */
	if ((tag & (BUDDY_TAG_HEAD | BUDDY_TAG_FREE)) != BUDDY_TAG_HEAD || (tag & BUDDY_TAG_ORDER) > MM_CACHE_MAX_ORDER)
		return false;
	rl = remote_slot(c, h->cluster);
	*t = (uint8_t)(BUDDY_TAG_FREE | (tag & BUDDY_TAG_ORDER));
	*(void **)addr = rl->head;
	rl->head = addr;
	if (++rl->count >= REMOTE_BATCH)
		remote_flush(rl);
	return true;
}

void mem_remote_drain(struct mm_cpu *c)
{
	unsigned i;

	for (i = 0; i < MM_REMOTE_SLOTS; i++)
		if (c->remote[i].count)
			remote_flush(&c->remote[i]);
}

unsigned mem_remote_open(const struct mm_cpu *c)
{
	unsigned i, n = 0;

	for (i = 0; i < MM_REMOTE_SLOTS; i++)
		n += c->remote[i].count;
	return n;
}
