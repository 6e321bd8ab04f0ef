/* range.h - small helpers on [base, base+size) ranges: subtracting reserved ranges from RAM. */
#ifndef MM_RANGE_H
#define MM_RANGE_H

#include "mm/topo.h"

#define RANGE_MAX 32

/*
 * range_subtract() - the parts of @r not covered by any of @cut[0..ncut), in address order, into
 * @out (at most @max). Return: number of ranges written (ranges beyond @max are dropped; callers size
 * @max as ncut + 1, which always suffices).
 */
unsigned range_subtract(struct topo_range r, const struct topo_range *cut, unsigned ncut,
			struct topo_range *out, unsigned max);

#endif
