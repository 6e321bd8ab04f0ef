/* mem_remote.c - frees of other clusters' small blocks, batched per owner and sent home under one lock. */
#include "mm/buddy.h"
#include "mm/cpu.h"
#include "mm/heap.h"
#include "mm/mem_internal.h"

#define REMOTE_BATCH 8

static void remote_flush(struct mm_cpu *c, unsigned cl)
{
	struct mm_remote_list *rl = &c->remote[cl];
	struct heap *h = heap_of(cl);
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

bool mem_remote_push(struct mm_cpu *c, struct heap *h, void *addr)
{
	uintptr_t a = (uintptr_t)addr;
	uint8_t *t = buddy_tag(h->b.tag_bias, a);
	uint8_t tag = *t;

	if ((tag & (BUDDY_TAG_HEAD | BUDDY_TAG_FREE)) == BUDDY_TAG_HEAD && (tag & BUDDY_TAG_ORDER) <= MM_CACHE_MAX_ORDER) {
		struct mm_remote_list *rl = &c->remote[h->cluster];

		*t = (uint8_t)(BUDDY_TAG_FREE | (tag & BUDDY_TAG_ORDER));
		*(void **)addr = rl->head;
		rl->head = addr;
		if (++rl->count >= REMOTE_BATCH)
			remote_flush(c, h->cluster);
		return true;
	}
	return false;
}

void mem_remote_drain(struct mm_cpu *c)
{
	unsigned i;

	for (i = 0; i < TOPO_MAX_CLUSTERS; i++)
		if (c->remote[i].count)
			remote_flush(c, i);
}
