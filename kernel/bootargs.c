/* bootargs.c - the kernel command line: split into words, match each against a key table, store values. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "kernel/bootargs.h"
#include "mm/topo.h"

#define BOOTARGS_MSG_MAX 512
#define BOOTARGS_SHOW_MAX 40	/* longest key or value quoted in a message */

static int bootargs_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* bootargs_word_eq() - does the @len-byte word equal the NUL-terminated @s? */
static int bootargs_word_eq(const char *w, size_t len, const char *s)
{
	return strlen(s) == len && memcmp(w, s, len) == 0;
}

const char *bootargs_parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0, mult = 1;
	unsigned base = 10, digits = 0;
	size_t i = 0;

	if (!s || !len)
		return "empty";
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	for (; i < len; i++) {
		char ch = s[i];
		unsigned d;

		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (base == 16 && ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else if (base == 16 && ch >= 'A' && ch <= 'F')
			d = (unsigned)(ch - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return "overflows 64 bits";
		v = v * base + d;
		digits++;
	}
	if (!digits)
		return "not a number";
	if (i < len) {
		switch (s[i]) {
		case 'k': case 'K': mult = 1ull << 10; break;
		case 'm': case 'M': mult = 1ull << 20; break;
		case 'g': case 'G': mult = 1ull << 30; break;
		default: return "junk after the number";
		}
		if (++i < len)
			return "junk after the number";
		if (v > UINT64_MAX / mult)
			return "overflows 64 bits";
	}
	*out = v * mult;
	return NULL;
}

/* bootargs_flag() - the value of a FLAG word: 1, 0, or -1 if it is not a boolean. */
static int bootargs_flag(const char *v, size_t len)
{
	static const char *const on[] = { "1", "on", "yes", "y", "true" };
	static const char *const off[] = { "0", "off", "no", "n", "false" };
	unsigned i;

	for (i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		if (bootargs_word_eq(v, len, on[i]))
			return 1;
		if (bootargs_word_eq(v, len, off[i]))
			return 0;
	}
	return -1;
}

/* bootargs_warn_unknown() - "bootargs: unknown key 'foo' (accepted: a b c)", truncated with "..." */
static void bootargs_warn_unknown(const char *k, size_t klen, const struct bootarg_key *keys, unsigned nkeys,
				  void (*warn)(const char *line))
{
	char msg[BOOTARGS_MSG_MAX];
	size_t pos;
	unsigned i;
	int n;

	n = snprintf(msg, sizeof(msg), "bootargs: unknown key '%.*s%s' (accepted:",
		     (int)(klen > BOOTARGS_SHOW_MAX ? BOOTARGS_SHOW_MAX : klen), k,
		     klen > BOOTARGS_SHOW_MAX ? "..." : "");
	pos = n > 0 ? (size_t)n : 0;
	for (i = 0; i < nkeys; i++) {
		size_t kl = keys[i].key ? strlen(keys[i].key) : 0;

		if (!kl)
			continue;
		if (pos + 1 + kl + 5 >= sizeof(msg)) {	/* room for " key", " ...)" and the NUL */
			memcpy(msg + pos, " ...", 4);
			pos += 4;
			break;
		}
		msg[pos++] = ' ';
		memcpy(msg + pos, keys[i].key, kl);
		pos += kl;
	}
	msg[pos++] = ')';
	msg[pos] = '\0';
	warn(msg);
}

static void bootargs_warn_bad(const char *key, const char *v, size_t vlen, const char *why,
			      void (*warn)(const char *line))
{
	char msg[BOOTARGS_MSG_MAX];

	snprintf(msg, sizeof(msg), "bootargs: bad value for '%.*s': '%.*s%s' %s", BOOTARGS_SHOW_MAX, key,
		 (int)(vlen > BOOTARGS_SHOW_MAX ? BOOTARGS_SHOW_MAX : vlen), v ? v : "",
		 vlen > BOOTARGS_SHOW_MAX ? "..." : "", why);
	warn(msg);
}

/*
 * bootargs_apply() - store one value. @v is NULL for a bare "key". Return: NULL or why the value is bad
 * (dst untouched then).
 */
static const char *bootargs_apply(const struct bootarg_key *k, const char *v, size_t vlen)
{
	switch (k->type) {
	case BOOTARG_FLAG: {
		int f = v ? bootargs_flag(v, vlen) : 1;

		if (f < 0)
			return "is not a flag value (0/1, on/off, yes/no, true/false)";
		if (!k->dst || k->dstlen < sizeof(int))
			return "has no int to store into (key table bug)";
		*(int *)k->dst = f;
		return NULL;
	}
	case BOOTARG_U64: {
		uint64_t n;
		const char *why;

		if (!v)
			return "needs '=<number>'";
		why = bootargs_parse_u64(v, vlen, &n);
		if (why)
			return why;
		if (!k->dst || k->dstlen < sizeof(uint64_t))
			return "has no uint64_t to store into (key table bug)";
		*(uint64_t *)k->dst = n;
		return NULL;
	}
	case BOOTARG_STR:
		if (!v)
			return "needs '=<text>'";
		if (!k->dst || !k->dstlen)
			return "has no buffer to store into (key table bug)";
		if (vlen > k->dstlen - 1)
			return "is too long";
		memcpy(k->dst, v, vlen);
		((char *)k->dst)[vlen] = '\0';
		return NULL;
	}
	return "has an unknown key type (key table bug)";
}

int bootargs_parse(const char *cmdline, const struct bootarg_key *keys, unsigned nkeys,
		   void (*warn)(const char *line))
{
	const char *p = cmdline;
	int problems = 0;

	if (!p)
		return 0;
	for (;;) {
		const char *w, *eq, *v = NULL;
		size_t wlen, klen, vlen = 0;
		unsigned i;

		while (*p && bootargs_space(*p))
			p++;
		if (!*p)
			break;
		w = p;
		while (*p && !bootargs_space(*p))
			p++;
		wlen = (size_t)(p - w);
		eq = memchr(w, '=', wlen);
		klen = eq ? (size_t)(eq - w) : wlen;
		if (eq) {
			v = eq + 1;
			vlen = wlen - klen - 1;
		}
		for (i = 0; i < nkeys; i++)
			if (keys[i].key && bootargs_word_eq(w, klen, keys[i].key))
				break;
		if (i == nkeys) {
			problems++;
			if (warn)
				bootargs_warn_unknown(w, klen, keys, nkeys, warn);
			continue;
		}
		{
			const char *why = bootargs_apply(&keys[i], v, vlen);

			if (why) {
				problems++;
				if (warn)
					bootargs_warn_bad(keys[i].key, v, vlen, why, warn);
			}
		}
	}
	return problems;
}

void bootargs_help(const struct bootarg_key *keys, unsigned nkeys, void (*out)(const char *line))
{
	char name[64], line[200];
	unsigned i;

	for (i = 0; i < nkeys; i++) {
		const char *what = keys[i].type == BOOTARG_U64 ? "=<n>" : keys[i].type == BOOTARG_STR ? "=<text>" : "";

		if (!keys[i].key)
			continue;
		snprintf(name, sizeof(name), "%.48s%s", keys[i].key, what);
		snprintf(line, sizeof(line), "  %-22s %s", name, keys[i].help ? keys[i].help : "");
		out(line);
	}
}

/* ---- cma= values ---- */

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '-' || c == '.';
}

/* Copy the name at *@p (ending at any non-name character) into @dst; false if empty or too long. */
static bool take_name(const char **p, char dst[CMA_NAME_MAX])
{
	size_t n = 0;

	while (name_char((*p)[n]))
		n++;
	if (n == 0 || n >= CMA_NAME_MAX)
		return false;
	memcpy(dst, *p, n);
	dst[n] = 0;
	*p += n;
	return true;
}

/* Parse a decimal number at *@p, at least one digit, <= @max (the cluster of "@<cluster>"). */
static bool take_decimal(const char **p, uint64_t max, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int n = 0;

	while (*s >= '0' && *s <= '9') {
		uint64_t d = (uint64_t)(*s - '0');

		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
		s++;
		n++;
	}
	if (!n)
		return false;
	*p = s;
	*out = v;
	return true;
}

error_t bootargs_parse_cma(const char *spec, struct cma_spec *out)
{
	struct cma_spec s;
	const char *p = spec;
	uint64_t v, c;
	size_t len;
	unsigned i;

	if (!spec || !out)
		return ERR_INVAL;
	memset(&s, 0, sizeof(s));
	s.cluster = -1;
	if (!take_name(&p, s.name) || *p++ != ':')
		return ERR_INVAL;
	len = strcspn(p, "@:");	/* the size: what BOOTARG_U64 takes (0x hex, K/M/G) */
	if (bootargs_parse_u64(p, len, &v) || v == 0 || (v & (CMA_PAGE_SIZE - 1)))
		return ERR_INVAL;
	p += len;
	s.size = v;
	if (*p == '@') {
		p++;
		if (!take_decimal(&p, TOPO_MAX_CLUSTERS - 1, &c))
			return ERR_INVAL;
		s.cluster = (int)c;
	}
	if (*p == ':' && !strcmp(p + 1, "exclusive")) {
		s.exclusive = true;
		p += 1 + strlen("exclusive");
	} else if (*p == ':') {
		do {
			p++;
			if (s.ndevs == CMA_MAX_DEVS || !take_name(&p, s.devs[s.ndevs]))
				return ERR_INVAL;
			if (!strcmp(s.devs[s.ndevs], s.name))
				return ERR_INVAL;
			for (i = 0; i < s.ndevs; i++)
				if (!strcmp(s.devs[i], s.devs[s.ndevs]))
					return ERR_INVAL;
			s.ndevs++;
		} while (*p == ',');
		if (*p == ':') {
			if (strcmp(p + 1, "exclusive"))
				return ERR_INVAL;
			s.exclusive = true;
			p += 1 + strlen("exclusive");
		}
	}
	if (*p)
		return ERR_INVAL;
	*out = s;
	return 0;
}
