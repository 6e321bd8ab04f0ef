/* memplan.h - the boot's memory planning, in the order kmain() runs it (see memplan.c). */
#ifndef KERNEL_MEMPLAN_H
#define KERNEL_MEMPLAN_H

#include <stddef.h>
#include <stdint.h>

#include "mm/err.h"
#include "mm/topo.h"

/**
 * memplan_reserve() - start the list of ranges no heap may get: the DT's reserved memory, this image and
 * the DTB; print it.
 * @t: the topology
 * @dtb: the device tree blob (its size read from its header)
 * @image: first byte of the kernel image
 * @image_size: its size
 *
 * Context: boot hart, once, before memplan_carve().
 */
void memplan_reserve(const struct topo *t, const void *dtb, uintptr_t image, size_t image_size);

/**
 * memplan_carve() - carve the CMA regions (cma=) and private scratch (private=) from cluster RAM, adding
 * them to the reserved list; apply the heap_limit= fault injection. A spec that does not fit is reported
 * and skipped.
 * @t: the topology
 *
 * Context: boot hart, once, after memplan_reserve().
 */
void memplan_carve(const struct topo *t);

/**
 * memplan_heaps() - build the per-cluster heaps (kernel_heap[x][y]) over RAM minus the reserved list.
 * @t: the topology
 * @withhold: clusters whose RAM no heap gets (bit c: cluster c)
 *
 * Context: boot hart, once, after memplan_carve(). Return: heap_init_all()'s (ERR_NOMEM: no cluster has
 * usable memory).
 */
error_t memplan_heaps(const struct topo *t, const struct topo_set *withhold);

/**
 * memplan_regions() - mem_alloc()'s regions and proximities over the heaps, then the private regions,
 * the refill fault injection and the CMA regions (their metadata from the heaps); print the CMA regions.
 * @t: the topology
 *
 * Context: boot hart, once, after memplan_heaps(). Return: mem_init()'s error; a private or CMA region
 * that fails is reported and left out.
 */
error_t memplan_regions(const struct topo *t);

#endif
