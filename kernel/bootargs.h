/* bootargs.h - a table-driven parser for the kernel command line (portable: kernel and host tests). */
#ifndef KERNEL_BOOTARGS_H
#define KERNEL_BOOTARGS_H

#include <stddef.h>
#include <stdint.h>

#include "mm/cma.h"

/**
 * enum bootarg_type - how a key's value is read and stored.
 * @BOOTARG_FLAG: dst: int; "key" or "key=1|on|yes|y|true" sets 1, "key=0|off|no|n|false" sets 0
 * @BOOTARG_U64: dst: uint64_t; "key=N": decimal or 0x hex, an optional K/M/G suffix in either case
 *               (x 2^10/20/30); a bare "key" is a bad value
 * @BOOTARG_STR: dst: char[dstlen]; "key=value" copied NUL-terminated, must fit (dstlen - 1 chars; "key="
 *               stores ""); a bare "key" is a bad value
 */
enum bootarg_type {
	BOOTARG_FLAG,
	BOOTARG_U64,
	BOOTARG_STR,
};

/**
 * struct bootarg_key - one accepted key.
 * @key: matched exactly (case-sensitive) against the text before '='; NULL: an unused entry, skipped
 * @help: one line for bootargs_help() (may be NULL)
 * @type: how the value is read and stored
 * @dst: written only when the value is good; the last occurrence wins
 * @dstlen: size of @dst (checked for all types: a NULL or too small @dst makes every value bad)
 */
struct bootarg_key {
	const char *key;
	const char *help;
	enum bootarg_type type;
	void *dst;
	size_t dstlen;
};

/**
 * bootargs_parse() - apply a command line to a table of keys.
 * @cmdline: words separated by spaces, tabs, CRs or LFs: "key" or "key=value" (may be NULL or "")
 * @keys:    the accepted keys
 * @nkeys:   entries in @keys
 * @warn:    called with one line per problem (may be NULL):
 *           "bootargs: unknown key 'foo' (accepted: test mesh ...)" (the list cut with "..." when long) or
 *           "bootargs: bad value for 'x': '<value>' <why>"
 *
 * Words are applied left to right and not copied (any length is fine; keys and values are shortened to
 * 40 characters in messages only). A key given several times keeps its last good value. A bad value
 * leaves dst as it was, and the parse goes on with the next word.
 *
 * Context: any hart; no locks, no allocation; a 512-byte message buffer on the stack (plus snprintf's).
 * Return: the number of problems (unknown keys + bad values), 0 if all words were applied (or @cmdline
 * is NULL).
 */
int bootargs_parse(const char *cmdline, const struct bootarg_key *keys, unsigned nkeys,
		   void (*warn)(const char *line));

/**
 * bootargs_parse_u64() - parse one number the way BOOTARG_U64 does.
 * @s:   the text (not necessarily NUL-terminated): decimal, or hex after "0x"/"0X", then at most one
 *       suffix k/K, m/M or g/G
 * @len: its length
 * @out: the value, written only on success
 *
 * Context: any; no locks, no allocation.
 * Return: NULL on success, or a static string saying why the text is not a number: "empty" (@s NULL or
 * @len 0), "not a number" (no digit), "overflows 64 bits" (with or without the suffix), "junk after the
 * number".
 */
const char *bootargs_parse_u64(const char *s, size_t len, uint64_t *out);

/**
 * bootargs_help() - print one line per key through @out: "  key=<n>   help".
 * @keys:  the table (entries with a NULL key are skipped)
 * @nkeys: entries
 * @out:   line printer, called once per key
 *
 * The name is the key (its first 48 characters) followed by "=<n>" for BOOTARG_U64, "=<text>" for
 * BOOTARG_STR and nothing for a flag, padded to 22 columns.
 * Context: any; no locks, no allocation.
 */
void bootargs_help(const struct bootarg_key *keys, unsigned nkeys, void (*out)(const char *line));

/**
 * bootargs_parse_cma() - parse one bootarg value "name:size[@cluster][:dev1,dev2,...][:exclusive]".
 * @spec: e.g. "dma0:4M@1:virtio0", "fb:16M:gpu0,dsi0:exclusive", "default:8M"
 * @out: the result, written only on success (cluster -1 without "@cluster")
 *
 * name: 1 .. CMA_NAME_MAX - 1 of [A-Za-z0-9_.-]. size: a number as BOOTARG_U64 takes it (decimal or 0x
 * hex, an optional K/M/G suffix), non-zero, a multiple of CMA_PAGE_SIZE. cluster: decimal below
 * TOPO_MAX_CLUSTERS. devices: 1 .. CMA_MAX_DEVS distinct names, comma-separated, none equal to the
 * region's name. A last field that is exactly "exclusive" is the flag, not a device. Nothing may follow.
 *
 * Context: any; no locks, no allocation.
 * Return: 0; ERR_INVAL for a NULL @spec or @out, or malformed input.
 */
error_t bootargs_parse_cma(const char *spec, struct cma_spec *out);

#endif
