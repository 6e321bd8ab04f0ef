/* bootargs.h - a table-driven parser for the kernel command line (portable: kernel and host tests). */
#ifndef KERNEL_BOOTARGS_H
#define KERNEL_BOOTARGS_H

#include <stddef.h>
#include <stdint.h>

#include "mm/cma.h"

enum bootarg_type {
	BOOTARG_FLAG,	/* dst: int; "key" or "key=1|on|yes|true" sets 1, "key=0|off|no|false" sets 0 */
	BOOTARG_U64,	/* dst: uint64_t; "key=N": decimal or 0x hex, optional K/M/G suffix (x 2^10/20/30) */
	BOOTARG_STR,	/* dst: char[dstlen]; "key=value" copied NUL-terminated, must fit (dstlen - 1 chars) */
};

struct bootarg_key {
	const char *key;	/* matched exactly (case-sensitive) against the text before '=' */
	const char *help;	/* one line for bootargs_help() */
	enum bootarg_type type;
	void *dst;		/* written only when the value is good; the last occurrence wins */
	size_t dstlen;		/* size of dst (checked for all types) */
};

/**
 * bootargs_parse() - apply a command line to a table of keys.
 * @cmdline: words separated by spaces/tabs/newlines: "key" or "key=value" (may be NULL or "")
 * @keys:    the accepted keys
 * @nkeys:   entries in @keys
 * @warn:    called with one line per problem (may be NULL):
 *           "bootargs: unknown key 'foo' (accepted: test mesh ...)" or
 *           "bootargs: bad value for 'x': <why>"
 *
 * Words are not copied (any length is fine; names and values are shortened in messages only). A key given
 * several times keeps its last good value. A bad value leaves dst as it was.
 *
 * Context: any hart; no locks, no allocation; about 600 bytes of stack for the message.
 * Return: the number of problems (unknown keys + bad values), 0 if all words were applied.
 */
int bootargs_parse(const char *cmdline, const struct bootarg_key *keys, unsigned nkeys,
		   void (*warn)(const char *line));

/**
 * bootargs_parse_u64() - parse one number the way BOOTARG_U64 does.
 * @s:   the text (not necessarily NUL-terminated)
 * @len: its length
 * @out: the value, written on success
 *
 * Context: any.
 * Return: 0, or a static string saying why the text is not a number ("empty", "not a number", "overflows
 * 64 bits", "junk after the number").
 */
const char *bootargs_parse_u64(const char *s, size_t len, uint64_t *out);

/**
 * bootargs_help() - print one line per key: "  key=<n>   help" through @out.
 * @keys:  the table
 * @nkeys: entries
 * @out:   line printer
 *
 * Context: any.
 */
void bootargs_help(const struct bootarg_key *keys, unsigned nkeys, void (*out)(const char *line));

/**
 * bootargs_parse_cma() - parse one bootarg value "name:size[@cluster][:dev1,dev2,...][:exclusive]".
 * @spec: e.g. "dma0:4M@1:virtio0", "fb:16M:gpu0,dsi0:exclusive", "default:8M"
 * @out: the result, written only on success
 *
 * name: 1 .. CMA_NAME_MAX - 1 of [A-Za-z0-9_.-]. size: a number as BOOTARG_U64 takes it (decimal or 0x
 * hex, an optional K/M/G suffix), non-zero, a multiple of CMA_PAGE_SIZE. cluster: decimal below
 * TOPO_MAX_CLUSTERS. devices: 1 .. CMA_MAX_DEVS distinct names, comma-separated. A last field that is
 * exactly "exclusive" is the flag, not a device.
 * Context: any.
 * Return: 0; ERR_INVAL for NULL or malformed input.
 */
error_t bootargs_parse_cma(const char *spec, struct cma_spec *out);

#endif
