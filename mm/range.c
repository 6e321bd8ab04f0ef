/* range.c - range arithmetic for carving heaps out of RAM around reserved ranges. */
#include "mm/range.h"

/*
 * Walk the cuts in address order (selection of the lowest cut start above the cursor each time: ncut is
 * tiny), emitting the gap before each cut that overlaps what is left of @r.
 */
unsigned range_subtract(struct topo_range r, const struct topo_range *cut, unsigned ncut,
			struct topo_range *out, unsigned max)
{
	uint64_t cur = r.base, end = r.base + r.size;
	unsigned n = 0;

	while (cur < end) {
		uint64_t best = end, best_end = end;
		unsigned i;

		/* the first cut that ends after cur, by start address */
		for (i = 0; i < ncut; i++) {
			uint64_t cb = cut[i].base, ce = cut[i].base + cut[i].size;

			if (!cut[i].size || ce <= cur || cb >= end)
				continue;
			if (cb < best || (cb == best && ce > best_end)) {
				best = cb;
				best_end = ce;
			}
		}
		if (best > cur && n < max)
			out[n++] = (struct topo_range){ cur, best - cur };
		if (best >= end)
			break;
		cur = best_end > cur ? best_end : cur;
	}
	return n;
}
