/* err.c - messages for Proxima's error codes. */
#include "mm/err.h"

const char *err_str(error_t e)
{
	switch (e) {
	case ERR_OK:		return "ok";
	case ERR_NOENT:		return "ENOENT: no live chunk at this address";
	case ERR_INVAL:		return "EINVAL: invalid argument";
	case ERR_SIZE:		return "ERR_SIZE: size is zero or too large";
	case ERR_REACH:		return "ERR_REACH: invalid reachability";
	case ERR_NOMEM:		return "ERR_NOMEM: nothing reachable has room";
	case ERR_EXHAUSTED:	return "ERR_EXHAUSTED: the only allowed cluster is full";
	case ERR_NOHEAP:	return "ERR_NOHEAP: cluster has no memory";
	case ERR_RANGE:		return "ERR_RANGE: cluster outside the mesh";
	case ERR_NOTOWNED:	return "ERR_NOTOWNED: no heap owns this address";
	case ERR_INTERIOR:	return "ERR_INTERIOR: address inside a block";
	case ERR_MISALIGNED:	return "ERR_MISALIGNED: address not block-aligned";
	case ERR_DOUBLEFREE:	return "ERR_DOUBLEFREE: block already free";
	case ERR_ALIGN:		return "ERR_ALIGN: alignment not a power of two";
	case ERR_OVERLAP:	return "ERR_OVERLAP: range overlaps";
	case ERR_CORRUPT:	return "ERR_CORRUPT: invariant broken";
	case ERR_NODEV:		return "ERR_NODEV: no such device or region";
	case ERR_TIMEOUT:	return "ERR_TIMEOUT: timed out";
	case ERR_IO:		return "ERR_IO: device error";
	case ERR_FAULT:		return "ERR_FAULT: injected fault";
	default:		return "unknown error";
	}
}
