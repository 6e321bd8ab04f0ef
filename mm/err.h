/* err.h - Proxima's error codes: one negative code per cause, shared by mm/, kernel/ and platform/. */
#ifndef MM_ERR_H
#define MM_ERR_H

typedef int error_t;

/*
 * Every call that can fail returns 0 or one of these (negative) and writes its result through its last
 * pointer argument only on success. ERR_NOENT keeps the value of ENOENT so that cma_free() answers
 * -ENOENT as in the Linux CMA review.
 */
enum {
	ERR_OK = 0,
	ERR_NOENT = -2,		/* no live chunk/object at this address (cma_free) */
	ERR_INVAL = -22,	/* an argument is malformed (NULL out-pointer, bad flag, bad name) */
	ERR_SIZE = -100,	/* size is zero or larger than anything the allocator could ever hold */
	ERR_REACH,		/* unknown reachability value */
	ERR_NOMEM,		/* nothing the request may use has room */
	ERR_EXHAUSTED,		/* the only cluster/region the request allows is full */
	ERR_NOHEAP,		/* the cluster has no memory (memoryless node or withheld RAM) */
	ERR_RANGE,		/* cluster id or (x,y) outside the mesh */
	ERR_NOTOWNED,		/* free: no heap/pool owns this address */
	ERR_INTERIOR,		/* free: address lies inside a block, not at its start */
	ERR_MISALIGNED,		/* free: address not aligned to the allocator's granule */
	ERR_DOUBLEFREE,		/* free: the block is already free */
	ERR_ALIGN,		/* alignment is not a power of two */
	ERR_OVERLAP,		/* a range overlaps one already given or reserved */
	ERR_CORRUPT,		/* a consistency check found a broken invariant */
	ERR_NODEV,		/* no such device / region name */
	ERR_TIMEOUT,		/* a bounded wait ran out */
	ERR_IO,			/* a device reported an error */
	ERR_FAULT,		/* injected fault (fault-injection bootargs) */
	ERR_LAST_
};

/**
 * err_str() - a short human-readable name for an error code ("ERR_NOMEM: no reachable memory").
 * @e: 0, an error_t, or any other number.
 *
 * Context: any hart, no lock. Return: a static string ("unknown error" for a number out of range).
 */
const char *err_str(error_t e);

#endif
