/* fuzz_bootargs.c - libFuzzer target: bootargs_parse(), bootargs_parse_cma() and topo_parse_mesh() against reference parsers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/bootargs.h"
#include "mm/cma.h"
#include "mm/topo.h"
#include "platform/dt.h"
#include "tests/fuzz/fuzz.h"

/*
 * Input: byte 0 sizes the STR key's buffer (1..64 bytes), byte 1 picks the key table's optional entries,
 * the rest is the command line (up to its first NUL). Seeds: tests/fuzz/corpus/bootargs; dictionary:
 * bootargs.dict.
 *
 * bootargs_parse() runs over a table with every type (FLAG, U64, STR with the input's size, two STR keys
 * whose values go on to the next parsers, a key with no destination, a key with no name) and is compared
 * with a reference written from kernel/bootargs.h: the same problem count, one warning per problem (each
 * a "bootargs: " line shorter than the message buffer), and the same destination bytes, including the
 * guard bytes after each (a bad value leaves a destination alone; the last good value wins).
 * Every word (and every "mesh=" / "cma=" value) also goes through topo_parse_mesh() and bootargs_parse_cma(),
 * compared with reference parsers of their documented grammars, a successful cma spec is printed back in
 * canonical form and must parse to the same result, and bootargs_parse_u64() reads each word from an
 * exactly sized buffer without a NUL (ASan catches a read past its length).
 */
#define GUARD 8
#define STR_MAX 64

/* ---- reference parsers ---- */

static bool ref_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0, mult = 1;
	unsigned base = 10, digits = 0;
	size_t i = 0;

	if (!len)
		return false;
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	for (; i < len; i++) {
		unsigned d;

		if (s[i] >= '0' && s[i] <= '9')
			d = (unsigned)(s[i] - '0');
		else if (base == 16 && s[i] >= 'a' && s[i] <= 'f')
			d = (unsigned)(s[i] - 'a' + 10);
		else if (base == 16 && s[i] >= 'A' && s[i] <= 'F')
			d = (unsigned)(s[i] - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
		digits++;
	}
	if (!digits)
		return false;
	if (i < len) {
		switch (s[i]) {
		case 'k': case 'K': mult = 1ull << 10; break;
		case 'm': case 'M': mult = 1ull << 20; break;
		case 'g': case 'G': mult = 1ull << 30; break;
		default: return false;
		}
		if (i + 1 < len || v > UINT64_MAX / mult)
			return false;
	}
	*out = v * mult;
	return true;
}

static bool word_is(const char *w, size_t len, const char *s)
{
	return strlen(s) == len && !memcmp(w, s, len);
}

/* FLAG values: bootargs.c also takes "y" and "n" */
static int ref_flag(const char *v, size_t len)
{
	if (word_is(v, len, "1") || word_is(v, len, "on") || word_is(v, len, "yes") || word_is(v, len, "y") ||
	    word_is(v, len, "true"))
		return 1;
	if (word_is(v, len, "0") || word_is(v, len, "off") || word_is(v, len, "no") || word_is(v, len, "n") ||
	    word_is(v, len, "false"))
		return 0;
	return -1;
}

/* "<1-4 digits>x<1-4 digits>" (x or X); 0 or > TOPO_MESH_MAX is ERR_RANGE */
static error_t ref_mesh(const char *s, unsigned *x, unsigned *y)
{
	unsigned v[2] = { 0, 0 }, k, n;

	for (k = 0; k < 2; k++) {
		for (n = 0; *s >= '0' && *s <= '9'; s++, n++)
			if (n < 4)
				v[k] = v[k] * 10 + (unsigned)(*s - '0');
		if (!n || n > 4 || (k == 0 && *s != 'x' && *s != 'X') || (k == 1 && *s))
			return ERR_INVAL;
		s++;
	}
	if (!v[0] || !v[1] || v[0] > TOPO_MESH_MAX || v[1] > TOPO_MESH_MAX)
		return ERR_RANGE;
	*x = v[0];
	*y = v[1];
	return 0;
}

static bool cma_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
	       c == '.';
}

static size_t cma_name(const char *p, char *dst)
{
	size_t n = 0;

	while (cma_char(p[n]))
		n++;
	if (!n || n >= CMA_NAME_MAX)
		return 0;
	memcpy(dst, p, n);
	dst[n] = 0;
	return n;
}

static size_t cma_number(const char *p, bool hex_ok, uint64_t max, uint64_t *out)
{
	size_t i = 0, n = 0;
	unsigned base = 10;
	uint64_t v = 0;

	if (hex_ok && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		i = 2;
	}
	for (;; i++, n++) {
		char c = p[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') :
			     base == 16 && c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) :
			     base == 16 && c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 99;

		if (d >= base)
			break;
		if (v > (max - d) / base)
			return 0;
		v = v * base + d;
	}
	if (!n)
		return 0;
	*out = v;
	return i;
}

/* "name:size[@cluster][:dev1,dev2,...][:exclusive]" as mm/cma.h documents it */
static error_t ref_cma(const char *p, struct cma_spec *o)
{
	uint64_t v, c;
	size_t k;
	unsigned shift = 0, i;

	memset(o, 0, sizeof(*o));
	o->cluster = -1;
	if (!(k = cma_name(p, o->name)) || p[k] != ':')
		return ERR_INVAL;
	p += k + 1;
	if (!(k = cma_number(p, true, UINT64_MAX, &v)))
		return ERR_INVAL;
	p += k;
	if (*p == 'K' || *p == 'k')
		shift = 10;
	else if (*p == 'M' || *p == 'm')
		shift = 20;
	else if (*p == 'G' || *p == 'g')
		shift = 30;
	if (shift)
		p++;
	if (!v || v > (UINT64_MAX >> shift) || ((v << shift) % CMA_PAGE_SIZE))
		return ERR_INVAL;
	o->size = v << shift;
	if (*p == '@') {
		if (!(k = cma_number(p + 1, false, TOPO_MAX_CLUSTERS - 1, &c)))
			return ERR_INVAL;
		o->cluster = (int)c;
		p += 1 + k;
	}
	if (!strcmp(p, ":exclusive")) {
		o->exclusive = true;
		return 0;
	}
	if (*p == ':') {
		do {
			p++;
			if (o->ndevs == CMA_MAX_DEVS || !(k = cma_name(p, o->devs[o->ndevs])))
				return ERR_INVAL;
			p += k;
			if (!strcmp(o->devs[o->ndevs], o->name))
				return ERR_INVAL;
			for (i = 0; i < o->ndevs; i++)
				if (!strcmp(o->devs[i], o->devs[o->ndevs]))
					return ERR_INVAL;
			o->ndevs++;
		} while (*p == ',');
		if (!strcmp(p, ":exclusive")) {
			o->exclusive = true;
			return 0;
		}
	}
	return *p ? ERR_INVAL : 0;
}

static bool spec_eq(const struct cma_spec *a, const struct cma_spec *b)
{
	unsigned i;

	if (strcmp(a->name, b->name) || a->size != b->size || a->cluster != b->cluster || a->ndevs != b->ndevs ||
	    a->exclusive != b->exclusive)
		return false;
	for (i = 0; i < a->ndevs; i++)
		if (strcmp(a->devs[i], b->devs[i]))
			return false;
	return true;
}

/* ---- the word-level parsers ---- */

static void check_value_parsers(const char *w, size_t len)
{
	char *s = malloc(len + 1), *exact = malloc(len ? len : 1);
	struct cma_spec got, ref;
	unsigned x = 0, y = 0, rx = 0, ry = 0;
	uint64_t n = 0, rn = 0;
	const char *why;
	error_t e, re;

	if (!s || !exact)
		abort();
	memcpy(s, w, len);
	s[len] = 0;
	memcpy(exact, w, len);

	fuzz_op("topo_parse_mesh", len, 0, 0);
	e = topo_parse_mesh(s, &x, &y);
	re = ref_mesh(s, &rx, &ry);
	FUZZ_CHECK(e == re && (e || (x == rx && y == ry)), "topo_parse_mesh(\"%s\") = %d %ux%u, reference %d %ux%u",
		   s, e, x, y, re, rx, ry);

	fuzz_op("bootargs_parse_cma", len, 0, 0);
	memset(&got, 0x5a, sizeof(got));
	e = bootargs_parse_cma(s, &got);
	re = ref_cma(s, &ref);
	FUZZ_CHECK(e == re, "bootargs_parse_cma(\"%s\") = %d, reference %d", s, e, re);
	if (!e) {
		char canon[160];
		struct cma_spec again;
		int k = snprintf(canon, sizeof(canon), "%s:%llu", got.name, (unsigned long long)got.size);
		unsigned i;

		FUZZ_CHECK(spec_eq(&got, &ref), "bootargs_parse_cma(\"%s\"): fields differ from the reference", s);
		if (got.cluster >= 0)
			k += snprintf(canon + k, sizeof(canon) - (size_t)k, "@%d", got.cluster);
		for (i = 0; i < got.ndevs; i++)
			k += snprintf(canon + k, sizeof(canon) - (size_t)k, "%c%s", i ? ',' : ':', got.devs[i]);
		if (got.exclusive)
			snprintf(canon + k, sizeof(canon) - (size_t)k, ":exclusive");
		EXPECT_OK(FT, bootargs_parse_cma(canon, &again));
		FUZZ_CHECK(spec_eq(&got, &again), "\"%s\" printed as \"%s\" parses differently", s, canon);
	} else {
		FUZZ_CHECK(got.size == 0x5a5a5a5a5a5a5a5aull, "a refused cma spec wrote its result");
	}

	fuzz_op("bootargs_parse_u64", len, 0, 0);
	why = bootargs_parse_u64(exact, len, &n);
	FUZZ_CHECK(!why == ref_u64(exact, len, &rn) && (why || n == rn),
		   "bootargs_parse_u64(\"%s\") = %s %llu, reference %llu", s, why ? why : "ok", (unsigned long long)n,
		   (unsigned long long)rn);
	free(exact);
	free(s);
}

/* ---- bootargs_parse() ---- */

static int flag_a, flag_b;
static uint64_t num_a, num_b;
static char str_a[STR_MAX + GUARD], mesh_v[16 + GUARD], cma_v[80 + GUARD];
static unsigned nwarn;

static void warn(const char *line)
{
	size_t n = strlen(line);

	nwarn++;
	FUZZ_CHECK(n > 10 && n < 512 && !strncmp(line, "bootargs: ", 10), "warning line \"%s\"", line);
}

/* the reference's view of one destination */
struct ref_dst {
	enum bootarg_type type;
	uint8_t bytes[80 + GUARD];
	size_t len;
};

static int ref_parse(const char *p, const struct bootarg_key *keys, unsigned nkeys, struct ref_dst *dst)
{
	int problems = 0;

	for (;;) {
		const char *w, *eq, *v = NULL;
		size_t wlen, klen, vlen = 0;
		unsigned i;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (!*p)
			return problems;
		w = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			p++;
		wlen = (size_t)(p - w);
		eq = memchr(w, '=', wlen);
		klen = eq ? (size_t)(eq - w) : wlen;
		if (eq) {
			v = eq + 1;
			vlen = wlen - klen - 1;
		}
		for (i = 0; i < nkeys && !(keys[i].key && word_is(w, klen, keys[i].key)); i++)
			;
		if (i == nkeys) {
			problems++;
			continue;
		}
		switch (keys[i].type) {
		case BOOTARG_FLAG: {
			int f = v ? ref_flag(v, vlen) : 1;

			if (f < 0 || !keys[i].dst || keys[i].dstlen < sizeof(int))
				problems++;
			else
				memcpy(dst[i].bytes, &f, sizeof(f));
			break;
		}
		case BOOTARG_U64: {
			uint64_t n;

			if (!v || !ref_u64(v, vlen, &n) || !keys[i].dst || keys[i].dstlen < sizeof(n))
				problems++;
			else
				memcpy(dst[i].bytes, &n, sizeof(n));
			break;
		}
		default:
			if (!v || !keys[i].dst || !keys[i].dstlen || vlen > keys[i].dstlen - 1) {
				problems++;
			} else {
				memcpy(dst[i].bytes, v, vlen);
				dst[i].bytes[vlen] = 0;
			}
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	size_t strlen_a = 1 + fin_u8(&in) % STR_MAX;
	uint8_t opt = fin_u8(&in);
	char *cmd = malloc(in.n + 1);
	struct bootarg_key keys[] = {
		{ "test", "a flag", BOOTARG_FLAG, &flag_a, sizeof(flag_a) },
		{ "num", "a number", BOOTARG_U64, &num_a, sizeof(num_a) },
		{ "str", "a string", BOOTARG_STR, str_a, strlen_a },
		{ "mesh", "XxY", BOOTARG_STR, mesh_v, 16 },
		{ "cma", "name:size[@cluster][:devs][:exclusive]", BOOTARG_STR, cma_v, 80 },
		{ "dma_limit", "a second number", BOOTARG_U64, &num_b, sizeof(num_b) },
		/* optional entries: a key without a destination, a nameless one, a short one, a duplicate */
		{ (opt & 1) ? "nodst" : "q", "no dst", (enum bootarg_type)((opt >> 1) % 3), NULL, 0 },
		{ (opt & 8) ? NULL : "nameless", "", BOOTARG_FLAG, &flag_b, sizeof(flag_b) },
		{ "short", "dstlen too small", (opt & 16) ? BOOTARG_U64 : BOOTARG_FLAG, &flag_b, 1 },
		{ "test", "shadowed duplicate", BOOTARG_FLAG, &flag_b, sizeof(flag_b) },
	};
	unsigned nkeys = sizeof(keys) / sizeof(keys[0]), i;
	struct ref_dst ref[sizeof(keys) / sizeof(keys[0])];
	const char *p;
	int problems, want;

	if (!cmd)
		abort();
	fuzz_begin();
	memcpy(cmd, in.p, in.n);
	cmd[in.n] = 0;

	/* destinations and the reference's copies start with the same bytes */
	flag_a = flag_b = 0x5a5a5a5a;
	num_a = num_b = 0xa5a5a5a5a5a5a5a5ull;
	memset(str_a, 0x77, sizeof(str_a));
	memset(mesh_v, 0x77, sizeof(mesh_v));
	memset(cma_v, 0x77, sizeof(cma_v));
	for (i = 0; i < nkeys; i++) {
		ref[i].type = keys[i].type;
		ref[i].len = keys[i].dst ? (keys[i].dst == (void *)str_a ? sizeof(str_a) :
					    keys[i].dst == (void *)mesh_v ? sizeof(mesh_v) :
					    keys[i].dst == (void *)cma_v ? sizeof(cma_v) :
					    keys[i].dst == (void *)&num_a || keys[i].dst == (void *)&num_b ? 8 : 4) : 0;
		memcpy(ref[i].bytes, keys[i].dst ? keys[i].dst : (void *)"", ref[i].len);
	}
	/* flag_b sits behind three keys, but only "nameless" can store into it (too short / shadowed) */
	want = ref_parse(cmd, keys, nkeys, ref);

	nwarn = 0;
	fuzz_op("bootargs_parse", in.n, opt, strlen_a);
	problems = bootargs_parse(cmd, keys, nkeys, warn);
	FUZZ_CHECK(problems == want, "bootargs_parse: %d problems, reference %d", problems, want);
	FUZZ_CHECK((unsigned)problems == nwarn, "%d problems but %u warnings", problems, nwarn);
	FUZZ_CHECK(!memcmp(&flag_a, ref[0].bytes, 4) && !memcmp(&num_a, ref[1].bytes, 8) &&
			   !memcmp(str_a, ref[2].bytes, sizeof(str_a)) && !memcmp(mesh_v, ref[3].bytes, sizeof(mesh_v)) &&
			   !memcmp(cma_v, ref[4].bytes, sizeof(cma_v)) && !memcmp(&num_b, ref[5].bytes, 8) &&
			   !memcmp(&flag_b, ref[7].bytes, 4),
		   "bootargs_parse stored other values than the reference");
	EXPECT_EQ(FT, bootargs_parse(cmd, keys, nkeys, NULL), problems);
	EXPECT_EQ(FT, bootargs_parse(NULL, keys, nkeys, warn), 0);

	/* the values the kernel hands on, and every word on its own */
	if (memchr(mesh_v, 0, 16))
		check_value_parsers(mesh_v, strlen(mesh_v));
	if (memchr(cma_v, 0, 80))
		check_value_parsers(cma_v, strlen(cma_v));
	for (p = cmd; *p;) {
		size_t n = strcspn(p, " \t\n\r");

		if (n)
			check_value_parsers(p, n);
		p += n;
		p += strspn(p, " \t\n\r");
	}
	free(cmd);
	return 0;
}
