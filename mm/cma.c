/* cma.c - Contiguous Memory Allocator: per-region best-fit core on two AVL trees, and the region registry. */
#include <stdio.h>
#include <string.h>

#include "kernel/lock.h"
#include "mm/cma.h"
#include "mm/env.h"
#include "mm/topo.h"

/*
 * Data structure. A region of P pages is tiled, in address order, by chunks (live allocations) and free
 * ranges; two free ranges are never adjacent (free merges them). Each piece is one node:
 *
 *	first, pages	the piece, in pages from the region base
 *	kid[T][side]	children in tree T (indices into the node pool, 0 = none), height[T] its AVL height
 *	is_free		free range or chunk
 *
 * Every node is in the ADDRESS tree, keyed by first: free looks up the chunk by its address and finds
 * its neighbours (the node before it, the node at its end) in O(log n). Free ranges are also in the SIZE
 * tree, keyed by (pages, first), which gives best fit with ties broken by the lowest address.
 *
 * Nodes are 28-byte records in the caller's metadata, addressed by 32-bit index (half the size of
 * pointers). Because the pieces tile the region, P pages never need more than P nodes, and an operation
 * never needs more than it ends with (alloc only adds nodes, free only drops them), so cma_meta_size()
 * reserves exactly P (+ index 0, "none") and the pool cannot run out. Nodes are handed out from a
 * high-water mark first and then from a free list threaded through kid[0][0], so init is O(1).
 *
 * Trees are plain AVL, recursive (depth <= 1.44 log2(P) < 48 for 2^32 pages), no parent links.
 */
#define PAGE		((uintptr_t)CMA_PAGE_SIZE)
#define T_ADDR		0
#define T_SIZE		1
#define MAX_HEIGHT	48

struct cma_node {
	uint32_t first;
	uint32_t pages;
	uint32_t kid[2][2];
	uint8_t height[2];
	uint8_t is_free;
	uint8_t live;		/* 1 while in the trees, 0 on the node free list (cma_region_check()) */
};

_Static_assert(sizeof(struct cma_node) == 28, "a node is 28 bytes");
_Static_assert((CMA_PAGE_SIZE & (CMA_PAGE_SIZE - 1)) == 0, "page size is a power of two");

static inline struct cma_node *nd(const struct cma_region *r, uint32_t i)
{
	return &r->nodes[i];
}

static inline uint64_t key_of(const struct cma_node *n, int t)
{
	return t == T_ADDR ? n->first : ((uint64_t)n->pages << 32) | n->first;
}

static inline uint64_t key(const struct cma_region *r, int t, uint32_t i)
{
	return key_of(nd(r, i), t);
}

static inline uintptr_t addr_of(const struct cma_region *r, uint32_t page)
{
	return r->base + (uintptr_t)page * PAGE;
}

static inline size_t bytes(uint64_t pages)
{
	return (size_t)pages * CMA_PAGE_SIZE;
}

/* ---- the node pool --------------------------------------------------------------------------------------- */

static uint32_t node_get(struct cma_region *r, uint32_t first, uint32_t pages, bool is_free)
{
	struct cma_node *n;
	uint32_t i;

	if (r->free_list) {
		i = r->free_list;
		r->free_list = nd(r, i)->kid[0][0];
	} else if (r->unused <= r->cap) {
		i = r->unused++;
	} else {
		MM_PANIC("region %s: node pool of %u exhausted", r->name, r->cap);
	}
	n = nd(r, i);
	memset(n, 0, sizeof(*n));
	n->first = first;
	n->pages = pages;
	n->is_free = is_free;
	n->live = 1;
	r->nnodes++;
	return i;
}

static void node_put(struct cma_region *r, uint32_t i)
{
	struct cma_node *n = nd(r, i);

	memset(n, 0, sizeof(*n));
	n->kid[0][0] = r->free_list;
	r->free_list = i;
	r->nnodes--;
}

/* ---- AVL trees (tree @t of region @r), generic over the two keys ------------------------------------------- */

static inline unsigned height(const struct cma_region *r, int t, uint32_t i)
{
	return i ? nd(r, i)->height[t] : 0;
}

static void fix_height(struct cma_region *r, int t, uint32_t i)
{
	unsigned hl = height(r, t, nd(r, i)->kid[t][0]), hr = height(r, t, nd(r, i)->kid[t][1]);

	nd(r, i)->height[t] = (uint8_t)(1 + (hl > hr ? hl : hr));
}

/* Lift the child of @i on @side into @i's place; returns the new subtree root. */
static uint32_t rotate(struct cma_region *r, int t, uint32_t i, int side)
{
	uint32_t c = nd(r, i)->kid[t][side];

	nd(r, i)->kid[t][side] = nd(r, c)->kid[t][!side];
	nd(r, c)->kid[t][!side] = i;
	fix_height(r, t, i);
	fix_height(r, t, c);
	return c;
}

/* Restore the AVL balance at @i after one of its subtrees changed height by one; returns the new root. */
static uint32_t rebalance(struct cma_region *r, int t, uint32_t i)
{
	struct cma_node *n = nd(r, i);
	int bf = (int)height(r, t, n->kid[t][0]) - (int)height(r, t, n->kid[t][1]);
	int side = bf < 0;	/* the heavy side */
	uint32_t c = n->kid[t][side];

	fix_height(r, t, i);
	if (bf >= -1 && bf <= 1)
		return i;
	/* zig-zag: first turn the heavy child so that its own heavy side points outwards */
	if (height(r, t, nd(r, c)->kid[t][!side]) > height(r, t, nd(r, c)->kid[t][side]))
		n->kid[t][side] = rotate(r, t, c, !side);
	return rotate(r, t, i, side);
}

static uint32_t tree_insert(struct cma_region *r, int t, uint32_t root, uint32_t i)
{
	int side;

	if (!root) {
		nd(r, i)->kid[t][0] = nd(r, i)->kid[t][1] = 0;
		nd(r, i)->height[t] = 1;
		return i;
	}
	if (key(r, t, i) == key(r, t, root))
		MM_PANIC("region %s: tree %d: key %#llx inserted twice", r->name, t,
			 (unsigned long long)key(r, t, i));
	side = key(r, t, i) > key(r, t, root);
	nd(r, root)->kid[t][side] = tree_insert(r, t, nd(r, root)->kid[t][side], i);
	return rebalance(r, t, root);
}

/* Unlink the smallest node of the subtree @root into *@min; returns the new subtree root. */
static uint32_t tree_remove_min(struct cma_region *r, int t, uint32_t root, uint32_t *min)
{
	struct cma_node *n = nd(r, root);

	if (!n->kid[t][0]) {
		*min = root;
		return n->kid[t][1];
	}
	n->kid[t][0] = tree_remove_min(r, t, n->kid[t][0], min);
	return rebalance(r, t, root);
}

static uint32_t tree_remove(struct cma_region *r, int t, uint32_t root, uint64_t k)
{
	struct cma_node *n;
	uint32_t m;

	if (!root)
		MM_PANIC("region %s: tree %d: key %#llx not found", r->name, t, (unsigned long long)k);
	n = nd(r, root);
	if (k != key(r, t, root)) {
		int side = k > key(r, t, root);

		n->kid[t][side] = tree_remove(r, t, n->kid[t][side], k);
		return rebalance(r, t, root);
	}
	if (!n->kid[t][0] || !n->kid[t][1])
		return n->kid[t][!n->kid[t][0]];
	n->kid[t][1] = tree_remove_min(r, t, n->kid[t][1], &m);
	nd(r, m)->kid[t][0] = n->kid[t][0];
	nd(r, m)->kid[t][1] = n->kid[t][1];
	return rebalance(r, t, m);
}

static inline void add(struct cma_region *r, int t, uint32_t i)
{
	r->root[t] = tree_insert(r, t, r->root[t], i);
}

static inline void del(struct cma_region *r, int t, uint32_t i)
{
	r->root[t] = tree_remove(r, t, r->root[t], key(r, t, i));
}

/* The node whose key is @k in tree @t, 0 if none. */
static uint32_t tree_find(const struct cma_region *r, int t, uint64_t k)
{
	uint32_t i = r->root[t];

	while (i && key(r, t, i) != k)
		i = nd(r, i)->kid[t][k > key(r, t, i)];
	return i;
}

/* The node with the smallest key >= @k (@below false) or the largest key < @k (@below true); 0 if none. */
static uint32_t tree_bound(const struct cma_region *r, int t, uint64_t k, bool below)
{
	uint32_t i = r->root[t], best = 0;

	while (i) {
		bool go_right = key(r, t, i) < k;

		if (go_right == below)	/* a key >= @k is a ceiling candidate, a key < @k a floor candidate */
			best = i;
		i = nd(r, i)->kid[t][go_right];
	}
	return best;
}

static uint32_t tree_last(const struct cma_region *r, int t)
{
	uint32_t i = r->root[t];

	while (i && nd(r, i)->kid[t][1])
		i = nd(r, i)->kid[t][1];
	return i;
}

/* ---- one region ------------------------------------------------------------------------------------------ */

static bool name_ok(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strnlen(name, CMA_NAME_MAX);
	return n > 0 && n < CMA_NAME_MAX;
}

size_t cma_meta_size(size_t region_size)
{
	size_t pages = region_size / CMA_PAGE_SIZE + (region_size % CMA_PAGE_SIZE != 0);

	if (pages > UINT32_MAX - 1 || pages + 1 > SIZE_MAX / sizeof(struct cma_node))
		return 0;
	return (pages + 1) * sizeof(struct cma_node);
}

static bool overlaps(uintptr_t a, size_t alen, uintptr_t b, size_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* cma_args_ok() - everything cma_region_init() checks, without writing anything. */
static error_t cma_args_ok(const char *name, uintptr_t base, size_t size, const void *meta, size_t meta_size)
{
	size_t need;

	if (!meta || !name_ok(name))
		return ERR_INVAL;
	if ((uintptr_t)meta % _Alignof(struct cma_node))
		return ERR_INVAL;
	if (size == 0)
		return ERR_SIZE;
	if ((base | size) & (PAGE - 1))
		return ERR_ALIGN;
	if (size - 1 > UINTPTR_MAX - base)
		return ERR_SIZE;
	need = cma_meta_size(size);
	if (need == 0 || meta_size < need)
		return ERR_SIZE;
	if (overlaps((uintptr_t)meta, meta_size, base, size))
		return ERR_OVERLAP;
	return 0;
}

error_t cma_region_init(struct cma_region *r, const char *name, uintptr_t base, size_t size, void *meta,
			size_t meta_size)
{
	error_t e;
	uint32_t i;

	if (!r)
		return ERR_INVAL;
	e = cma_args_ok(name, base, size, meta, meta_size);
	if (e)
		return e;
	memset(r, 0, sizeof(*r));
	memcpy(r->name, name, strlen(name) + 1);
	r->base = base;
	r->npages = (uint32_t)(size / CMA_PAGE_SIZE);
	r->cap = r->npages;
	r->nodes = meta;
	r->unused = 1;
	i = node_get(r, 0, r->npages, true);
	add(r, T_ADDR, i);
	add(r, T_SIZE, i);
	r->free_pages = r->npages;
	r->nfree_ranges = 1;
	return 0;
}

bool cma_region_owns(const struct cma_region *r, uintptr_t addr)
{
	return r && addr >= r->base && addr - r->base < bytes(r->npages);
}

/* Pages from the start of free range @i up to its first @align-aligned address (any power of two). */
static uint64_t pad_pages(const struct cma_region *r, uint32_t i, uintptr_t align)
{
	uintptr_t a = addr_of(r, nd(r, i)->first);

	return (uint64_t)((-a) & (align - 1)) / CMA_PAGE_SIZE;
}

/*
 * Aligned best fit. The size tree is in (pages, first) order, so its in-order walk from the first range
 * of at least @need pages meets candidates smallest first, lowest address first on ties: the first one in
 * which an aligned chunk fits (pad + need <= pages, with pad the pages up to the first aligned address) is
 * by definition the best fit, and the chunk goes at that lowest aligned address.
 *
 * Cost. Finding the first candidate is one O(log n) descent, and so is each step to the next candidate
 * (a fresh descent to the first key above the last one: there are no parent links). With page alignment
 * the first candidate always fits. With a larger alignment the padding is at most align/PAGE - 1 pages,
 * so a range of at least need + align/PAGE - 1 pages (size + align - PAGE bytes) always fits and only
 * ranges of need .. need + align/PAGE - 2 pages can be rejected. The honest worst case is therefore
 * O(k log n), where k is the number of free ranges in that size window that are misaligned, up to every
 * free range of the region (e.g. many 64 KiB holes, none 1 MiB-aligned, while a 64 KiB chunk 1 MiB-aligned
 * is asked for). A sort key that knew the alignment would avoid it, but alignments vary per call; typical
 * CMA use (a few dozen chunks, alignment close to the size) keeps k tiny.
 */
static uint32_t best_fit(const struct cma_region *r, uint32_t need, uintptr_t align, uint32_t *pad)
{
	uint64_t k = (uint64_t)need << 32;
	uint32_t i;

	while ((i = tree_bound(r, T_SIZE, k, false))) {
		uint64_t p = pad_pages(r, i, align);

		if (p <= nd(r, i)->pages - need) {
			*pad = (uint32_t)p;
			return i;
		}
		k = key(r, T_SIZE, i) + 1;
	}
	return 0;
}

/*
 * carve() - turn pages [pad, pad + need) of free range @i into a chunk. The range leaves the size tree; a
 * low leftover keeps @i (its address key is unchanged), otherwise @i becomes the chunk; a high leftover is a
 * new free range. Returns the chunk's first page.
 */
static uint32_t carve(struct cma_region *r, uint32_t i, uint32_t pad, uint32_t need)
{
	struct cma_node *n = nd(r, i);
	uint32_t first = n->first + pad, hi = n->pages - pad - need, c;

	del(r, T_SIZE, i);
	if (pad) {
		n->pages = pad;
		add(r, T_SIZE, i);
		c = node_get(r, first, need, false);
		add(r, T_ADDR, c);
		r->nfree_ranges++;
	} else {
		n->pages = need;
		n->is_free = 0;
	}
	if (hi) {
		c = node_get(r, first + need, hi, true);
		add(r, T_ADDR, c);
		add(r, T_SIZE, c);
		r->nfree_ranges++;
	}
	r->nfree_ranges--;
	r->free_pages -= need;
	r->nchunks++;
	return first;
}

error_t cma_region_alloc(struct cma_region *r, size_t size, size_t align, uintptr_t *addr)
{
	uint32_t need, i, pad = 0;
	uintptr_t al = align < CMA_PAGE_SIZE ? PAGE : (uintptr_t)align;

	if (!r || !addr)
		return ERR_INVAL;
	if (size == 0 || size > bytes(r->npages)) {
		r->failures++;
		return ERR_SIZE;
	}
	if (al & (al - 1)) {
		r->failures++;
		return ERR_ALIGN;
	}
	need = (uint32_t)(size / CMA_PAGE_SIZE + (size % CMA_PAGE_SIZE != 0));
	i = best_fit(r, need, al, &pad);
	if (!i) {
		uint32_t last = tree_last(r, T_SIZE);

		r->failures++;
		mm_log("cma: %s: no room for %zu bytes aligned %lu (largest free chunk %zu bytes)", r->name,
		       bytes(need), (unsigned long)al, last ? bytes(nd(r, last)->pages) : (size_t)0);
		return ERR_EXHAUSTED;
	}
	*addr = addr_of(r, carve(r, i, pad, need));
	r->allocs++;
	return 0;
}

/*
 * Free with coalescing. The chunk's left neighbour is the address tree's last node below its first page,
 * its right neighbour the node starting at its end (the pieces tile the region). A free neighbour on the
 * left absorbs the chunk (and a free right neighbour too); otherwise the chunk's node becomes the free
 * range, absorbing a free right neighbour. Keys change only for nodes outside the size tree at that moment,
 * and no address key changes, so each case is a few O(log n) tree operations.
 */
error_t cma_region_free(struct cma_region *r, uintptr_t addr)
{
	uint32_t pg, c, lf, rt = 0;
	struct cma_node *n;

	if (!r)
		return ERR_INVAL;
	if (!cma_region_owns(r, addr) || ((addr - r->base) & (PAGE - 1)))
		goto bad;
	pg = (uint32_t)((addr - r->base) / PAGE);
	c = tree_find(r, T_ADDR, pg);
	if (!c || nd(r, c)->is_free)
		goto bad;
	n = nd(r, c);
	lf = pg ? tree_bound(r, T_ADDR, pg, true) : 0;
	if (lf && !nd(r, lf)->is_free)
		lf = 0;
	if ((uint64_t)pg + n->pages < r->npages) {
		rt = tree_find(r, T_ADDR, pg + n->pages);
		if (!rt)
			MM_PANIC("region %s: no piece at page %u after the chunk at %u", r->name, pg + n->pages, pg);
		if (!nd(r, rt)->is_free)
			rt = 0;
	}
	r->free_pages += n->pages;
	r->nchunks--;
	r->nfree_ranges++;
	if (rt) {
		uint32_t more = nd(r, rt)->pages;

		del(r, T_SIZE, rt);
		del(r, T_ADDR, rt);
		node_put(r, rt);
		n->pages += more;
		r->nfree_ranges--;
	}
	if (lf) {
		struct cma_node *l = nd(r, lf);

		del(r, T_ADDR, c);
		del(r, T_SIZE, lf);
		l->pages += n->pages;
		add(r, T_SIZE, lf);
		node_put(r, c);
		r->nfree_ranges--;
	} else {
		n->is_free = 1;
		add(r, T_SIZE, c);
	}
	r->frees++;
	return 0;
bad:
	r->bad_frees++;
	mm_log("cma: %s: free 0x%lx: no chunk starts here (-ENOENT)", r->name, (unsigned long)addr);
	return ERR_NOENT;
}

void cma_region_info(const struct cma_region *r, struct cma_info *info)
{
	uint32_t last;

	memset(info, 0, sizeof(*info));
	if (!r)
		return;
	last = tree_last(r, T_SIZE);
	memcpy(info->name, r->name, sizeof(info->name));
	info->base = r->base;
	info->total = bytes(r->npages);
	info->free = bytes(r->free_pages);
	info->largest_free = last ? bytes(nd(r, last)->pages) : 0;
	info->chunks = r->nchunks;
	info->free_ranges = r->nfree_ranges;
	info->allocs = r->allocs;
	info->frees = r->frees;
	info->failures = r->failures;
	info->bad_frees = r->bad_frees;
}

/* ---- cma_region_check() ------------------------------------------------------------------------------------ */

struct walk {
	const struct cma_region *r;
	char *why;
	size_t len;
	unsigned seen;		/* nodes visited: more than nnodes means a cycle or a shared subtree */
	bool have_prev;
	uint64_t prev_key;
	uint64_t next_page;	/* address tree: where the next piece must start */
	bool prev_free;
	uint64_t chunks, ranges, free_pages;
};

#define BAD(w, ...)                                                                                 \
	do {                                                                                        \
		if ((w)->why && (w)->len)                                                           \
			snprintf((w)->why, (w)->len, __VA_ARGS__);                                  \
		return ERR_CORRUPT;                                                                 \
	} while (0)

/*
 * In-order walk of tree @t below @i at @depth: indices inside the handed-out pool, live nodes only, keys
 * strictly increasing (the BST order), stored heights right and balanced. *@h gets the subtree height.
 */
static error_t walk(struct walk *w, int t, uint32_t i, unsigned depth, unsigned *h)
{
	const struct cma_region *r = w->r;
	const struct cma_node *n;
	unsigned hl, hr;
	error_t e;

	*h = 0;
	if (!i)
		return 0;
	if (depth > MAX_HEIGHT)
		BAD(w, "tree %d: deeper than %d", t, MAX_HEIGHT);
	if (i >= r->unused)
		BAD(w, "tree %d: node index %u outside the pool (%u handed out)", t, i, r->unused - 1);
	if (++w->seen > r->nnodes)
		BAD(w, "tree %d: more nodes than the %u in use (cycle?)", t, r->nnodes);
	n = nd(r, i);
	if (!n->live)
		BAD(w, "tree %d: node %u is on the free list", t, i);
	if ((e = walk(w, t, n->kid[t][0], depth + 1, &hl)))
		return e;
	if (w->have_prev && key_of(n, t) <= w->prev_key)
		BAD(w, "tree %d: key %#llx after %#llx", t, (unsigned long long)key_of(n, t),
		    (unsigned long long)w->prev_key);
	w->have_prev = true;
	w->prev_key = key_of(n, t);
	if (n->pages == 0 || (uint64_t)n->first + n->pages > r->npages)
		BAD(w, "node %u: pages %u+%u outside the region's %u", i, n->first, n->pages, r->npages);
	if (t == T_ADDR) {
		if (n->first != w->next_page)
			BAD(w, "piece at page %u, expected %llu (gap or overlap)", n->first,
			    (unsigned long long)w->next_page);
		if (n->is_free && w->prev_free)
			BAD(w, "free range at page %u right after another one (not merged)", n->first);
		w->next_page = (uint64_t)n->first + n->pages;
		w->prev_free = n->is_free;
		if (n->is_free) {
			w->ranges++;
			w->free_pages += n->pages;
		} else {
			w->chunks++;
		}
	} else {
		if (!n->is_free)
			BAD(w, "size tree holds the chunk at page %u", n->first);
		if (tree_find(r, T_ADDR, n->first) != i)
			BAD(w, "free range at page %u is not in the address tree", n->first);
		w->ranges++;
		w->free_pages += n->pages;
	}
	if ((e = walk(w, t, n->kid[t][1], depth + 1, &hr)))
		return e;
	*h = 1 + (hl > hr ? hl : hr);
	if (n->height[t] != *h)
		BAD(w, "tree %d: node %u has height %u, subtree says %u", t, i, n->height[t], *h);
	if (hl > hr + 1 || hr > hl + 1)
		BAD(w, "tree %d: node %u unbalanced (%u vs %u)", t, i, hl, hr);
	return 0;
}

error_t cma_region_check(const struct cma_region *r, char *why, size_t len)
{
	struct walk w;
	unsigned h, nfl = 0;
	uint32_t i;
	error_t e;

	if (!r)
		return ERR_INVAL;
	if (why && len)
		why[0] = 0;
	memset(&w, 0, sizeof(w));
	w.r = r;
	w.why = why;
	w.len = len;
	if (!r->nodes || r->npages == 0 || r->cap != r->npages || r->unused == 0 || r->unused > r->cap + 1 ||
	    r->nnodes > r->cap)
		BAD(&w, "pool: %u nodes for %u pages, %u handed out, %u in use", r->cap, r->npages,
		    r->unused - 1, r->nnodes);
	if (!name_ok(r->name))
		BAD(&w, "name not terminated or empty");
	if ((e = walk(&w, T_ADDR, r->root[T_ADDR], 0, &h)))
		return e;
	if (w.next_page != r->npages)
		BAD(&w, "pieces end at page %llu, region has %u", (unsigned long long)w.next_page, r->npages);
	if (w.seen != r->nnodes)
		BAD(&w, "address tree has %u nodes, %u in use", w.seen, r->nnodes);
	if (w.chunks != r->nchunks || w.ranges != r->nfree_ranges || w.free_pages != r->free_pages)
		BAD(&w, "counters: chunks %llu/%u free ranges %llu/%u free pages %llu/%u (tree/counter)",
		    (unsigned long long)w.chunks, r->nchunks, (unsigned long long)w.ranges, r->nfree_ranges,
		    (unsigned long long)w.free_pages, r->free_pages);
	w.seen = 0;
	w.have_prev = false;
	w.ranges = w.free_pages = 0;
	if ((e = walk(&w, T_SIZE, r->root[T_SIZE], 0, &h)))
		return e;
	if (w.ranges != r->nfree_ranges || w.free_pages != r->free_pages)
		BAD(&w, "size tree: %llu ranges of %llu pages, counters say %u of %u",
		    (unsigned long long)w.ranges, (unsigned long long)w.free_pages, r->nfree_ranges,
		    r->free_pages);
	for (i = r->free_list; i; i = nd(r, i)->kid[0][0]) {
		if (i >= r->unused)
			BAD(&w, "node free list: index %u outside the pool", i);
		if (nd(r, i)->live)
			BAD(&w, "node free list: node %u is live", i);
		if (++nfl > r->cap)
			BAD(&w, "node free list: cycle");
	}
	if (r->nnodes + nfl != r->unused - 1)
		BAD(&w, "pool: %u in use + %u on the free list != %u handed out", r->nnodes, nfl, r->unused - 1);
	return 0;
}

/* ---- the registry ------------------------------------------------------------------------------------------ */

struct cma_slot {
	struct cma_region region;
	bool exclusive;
	unsigned ndevs;
	char devs[CMA_MAX_DEVS][CMA_NAME_MAX];
	void *meta;
	size_t meta_size;
};

static struct cma_slot cma_slots[CMA_MAX_REGIONS];
static unsigned cma_nslots;

static struct cma_slot *slot_by_region(const char *name)
{
	unsigned i;

	for (i = 0; i < cma_nslots; i++)
		if (!strcmp(cma_slots[i].region.name, name))
			return &cma_slots[i];
	return NULL;
}

static struct cma_slot *slot_by_dev(const char *dev)
{
	unsigned i, d;

	for (i = 0; i < cma_nslots; i++)
		for (d = 0; d < cma_slots[i].ndevs; d++)
			if (!strcmp(cma_slots[i].devs[d], dev))
				return &cma_slots[i];
	return NULL;
}

error_t cma_declare(const char *name, uintptr_t base, size_t size, void *meta, size_t meta_size,
		    struct cma_region **out)
{
	struct cma_slot *s;
	error_t e;
	unsigned i;

	e = cma_args_ok(name, base, size, meta, meta_size);
	if (e)
		return e;
	if (slot_by_region(name) || slot_by_dev(name))
		return ERR_INVAL;
	if (cma_nslots == CMA_MAX_REGIONS)
		return ERR_NOMEM;
	for (i = 0; i < cma_nslots; i++) {
		const struct cma_slot *o = &cma_slots[i];
		size_t osize = bytes(o->region.npages);

		if (overlaps(base, size, o->region.base, osize) ||
		    overlaps((uintptr_t)meta, meta_size, o->region.base, osize) ||
		    overlaps((uintptr_t)meta, meta_size, (uintptr_t)o->meta, o->meta_size) ||
		    overlaps(base, size, (uintptr_t)o->meta, o->meta_size))
			return ERR_OVERLAP;
	}
	s = &cma_slots[cma_nslots];
	e = cma_region_init(&s->region, name, base, size, meta, meta_size);
	if (e)
		return e;
	s->exclusive = false;
	s->ndevs = 0;
	memset(s->devs, 0, sizeof(s->devs));
	s->meta = meta;
	s->meta_size = meta_size;
	cma_nslots++;
	if (out)
		*out = &s->region;
	return 0;
}

error_t cma_assign(const char *region, const char *dev)
{
	struct cma_slot *s, *o;

	if (!region || !(s = slot_by_region(region)))
		return ERR_NODEV;
	if (!name_ok(dev) || slot_by_region(dev))
		return ERR_INVAL;
	o = slot_by_dev(dev);
	if (o == s)
		return 0;
	if (o || (s->exclusive && s->ndevs > 0))
		return ERR_INVAL;
	if (s->ndevs == CMA_MAX_DEVS)
		return ERR_NOMEM;
	memcpy(s->devs[s->ndevs++], dev, strlen(dev) + 1);
	return 0;
}

error_t cma_set_exclusive(const char *region, bool exclusive)
{
	struct cma_slot *s;

	if (!region || !(s = slot_by_region(region)))
		return ERR_NODEV;
	if (exclusive && s->ndevs > 1)
		return ERR_INVAL;
	s->exclusive = exclusive;
	return 0;
}

error_t cma_find(const char *region_or_dev, struct cma_region **out)
{
	struct cma_slot *s;

	if (!region_or_dev || !out)
		return ERR_INVAL;
	s = slot_by_region(region_or_dev);
	if (!s)
		s = slot_by_dev(region_or_dev);
	if (!s)
		s = slot_by_region("default");
	if (!s)
		return ERR_NODEV;
	*out = &s->region;
	return 0;
}

/*
 * One lock serialises the registry's allocation calls: regions are few and DMA buffers are not a hot
 * path; the region core itself takes no lock.
 */
static spinlock_t cma_lock = { 0 };

error_t cma_alloc(const char *region_or_dev, size_t size, size_t align, uintptr_t *addr)
{
	struct cma_region *r;
	error_t e;

	if (!addr)
		return ERR_INVAL;
	e = cma_find(region_or_dev, &r);
	if (e)
		return e;
	spin_lock(&cma_lock);
	e = cma_region_alloc(r, size, align, addr);
	spin_unlock(&cma_lock);
	return e;
}

error_t cma_free(uintptr_t addr)
{
	unsigned i;
	error_t e;

	for (i = 0; i < cma_nslots; i++)
		if (cma_region_owns(&cma_slots[i].region, addr)) {
			spin_lock(&cma_lock);
			e = cma_region_free(&cma_slots[i].region, addr);
			spin_unlock(&cma_lock);
			return e;
		}
	mm_log("cma: -: free 0x%lx: no chunk starts here (-ENOENT)", (unsigned long)addr);
	return ERR_NOENT;
}

bool cma_owns(uintptr_t addr)
{
	unsigned i;

	for (i = 0; i < cma_nslots; i++)
		if (cma_region_owns(&cma_slots[i].region, addr))
			return true;
	return false;
}

void cma_for_each(void (*fn)(struct cma_region *r, void *arg), void *arg)
{
	unsigned i;

	for (i = 0; i < cma_nslots; i++)
		fn(&cma_slots[i].region, arg);
}

void cma_reset(void)
{
	memset(cma_slots, 0, sizeof(cma_slots));
	cma_nslots = 0;
}
