/* fuzz_common.c - the fuzz side of tests/test.h (a failed check aborts), the op trace, guarded arenas. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/fuzz/fuzz.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_ASAN 1
#endif
#ifdef FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#endif

struct test fuzz_t = { "fuzz", 0, 0, 0, NULL, 0 };

static struct {
	const char *what;
	uint64_t a, b, c;
	unsigned long n;
} trace[FUZZ_TRACE_LEN];
static unsigned long nops;

void fuzz_op(const char *what, uint64_t a, uint64_t b, uint64_t c)
{
	unsigned i = (unsigned)(nops % FUZZ_TRACE_LEN);

	trace[i].what = what;
	trace[i].a = a;
	trace[i].b = b;
	trace[i].c = c;
	trace[i].n = nops++;
}

void fuzz_begin(void)
{
	fuzz_t.checks = 0;	/* per input: an int summed over a long run overflows (UBSan found it at 1.3 M inputs) */
	nops = 0;
	memset(trace, 0, sizeof(trace));
}

/*
 * test_fail() - tests/test.h's failure hook. A fuzzer has no case to continue: print the check and the
 * operations that led to it, then abort() so that libFuzzer reports a crash and writes the input out.
 */
void test_fail(struct test *t, const char *file, int line, const char *fmt, ...)
{
	const char *base = strrchr(file, '/');
	unsigned long i, from = nops > FUZZ_TRACE_LEN ? nops - FUZZ_TRACE_LEN : 0;
	va_list ap;

	t->failures++;
	fprintf(stderr, "fuzz: check failed at %s:%d: ", base ? base + 1 : file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (nops)
		fprintf(stderr, "fuzz: last operations (of %lu):\n", nops);
	for (i = from; i < nops; i++) {
		unsigned k = (unsigned)(i % FUZZ_TRACE_LEN);

		fprintf(stderr, "fuzz:   #%lu %s 0x%llx 0x%llx 0x%llx\n", trace[k].n, trace[k].what,
			(unsigned long long)trace[k].a, (unsigned long long)trace[k].b,
			(unsigned long long)trace[k].c);
	}
	abort();
}

void test_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void *fuzz_arena(size_t size, size_t align, size_t skew)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t span = ((skew + size + page - 1) & ~(page - 1)) + align + 2 * page;
	uint8_t *m = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uintptr_t start, lo, hi;

	if (m == MAP_FAILED) {
		perror("fuzz_arena: mmap");
		abort();
	}
	/* the aligned start, one guard page below; the pages holding [start + skew, + size) become RW */
	start = ((uintptr_t)m + page + align - 1) & ~(uintptr_t)(align - 1);
	lo = (start + skew) & ~(uintptr_t)(page - 1);
	hi = (start + skew + size + page - 1) & ~(uintptr_t)(page - 1);
	if (mprotect((void *)lo, hi - lo, PROT_READ | PROT_WRITE)) {
		perror("fuzz_arena: mprotect");
		abort();
	}
	return (void *)(start + skew);
}

void fuzz_poison(const void *p, size_t n)
{
#ifdef FUZZ_ASAN
	ASAN_POISON_MEMORY_REGION(p, n);
#else
	(void)p;
	(void)n;
#endif
}

void fuzz_unpoison(const void *p, size_t n)
{
#ifdef FUZZ_ASAN
	ASAN_UNPOISON_MEMORY_REGION(p, n);
#else
	(void)p;
	(void)n;
#endif
}

/*
 * The pattern: byte i of a block is byte i % 8 (little-endian) of a hash of (seed, i / 8), so it is made and
 * checked a word at a time. Blocks above 4 KiB get it only in their first and last 256 bytes and in 16 bytes
 * at every 4 KiB, which keeps a 1 MiB block cheap while still catching an allocator that writes anywhere
 * near a block boundary or a page start.
 */
#define FILL_ALL 4096u

static inline uint64_t pat(uint64_t seed, size_t word)
{
	uint64_t x = (seed ^ word) * 0x9e3779b97f4a7c15ull;

	return x ^ (x >> 29);
}

/*
 * Write (or, with @check, compare) the pattern over bytes [lo, hi) of the block at @b: the bytes before
 * the first word boundary of the block's offsets and after the last one singly, the rest a word at a time
 * (8-byte loads and stores that the compiler inlines, checked by ASan inline: a block that overlaps memory
 * the harness poisoned still faults). No memcpy()/memcmp() call: ASan's interceptors of those cost more
 * than the copy. The pattern's bytes are those of little-endian words (the host is little-endian).
 * Built without coverage instrumentation: its loop counts would only add features to libFuzzer's tables.
 */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fuzz_common.c: the word-at-a-time pattern assumes a little-endian host"
#endif

__attribute__((no_sanitize("coverage")))
static bool pat_seg(uint8_t *b, size_t lo, size_t hi, uint64_t seed, bool check)
{
	size_t i = lo;

	for (; i < hi && (i & 7); i++) {
		uint8_t v = (uint8_t)(pat(seed, i >> 3) >> 8 * (i & 7));

		if (!check)
			b[i] = v;
		else if (b[i] != v)
			return false;
	}
	if (check) {
		for (; i + 8 <= hi; i += 8) {
			uint64_t w;

			memcpy(&w, b + i, 8);	/* an inlined 8-byte load, any alignment */
			if (w != pat(seed, i >> 3))
				return false;
		}
	} else {
		for (; i + 8 <= hi; i += 8) {
			uint64_t w = pat(seed, i >> 3);

			memcpy(b + i, &w, 8);
		}
	}
	for (; i < hi; i++) {
		uint8_t v = (uint8_t)(pat(seed, i >> 3) >> 8 * (i & 7));

		if (!check)
			b[i] = v;
		else if (b[i] != v)
			return false;
	}
	return true;
}

/* the marked bytes of a block of @n bytes, in its first @upto bytes */
__attribute__((no_sanitize("coverage")))
static bool pat_block(uint8_t *b, size_t n, size_t upto, uint64_t seed, bool check)
{
	size_t m, head = n <= FILL_ALL ? n : 256;

	if (upto > n)
		upto = n;
	if (!pat_seg(b, 0, head < upto ? head : upto, seed, check))
		return false;
	if (n <= FILL_ALL)
		return true;
	for (m = 4096; m + 16 <= n - 256 && m < upto; m += 4096)
		if (!pat_seg(b, m, m + 16 < upto ? m + 16 : upto, seed, check))
			return false;
	return n - 256 >= upto || pat_seg(b, n - 256, upto, seed, check);
}

void fuzz_fill(void *p, size_t n, uint64_t seed)
{
	pat_block(p, n, n, seed, false);
}

bool fuzz_fill_check(const void *p, size_t n, size_t upto, uint64_t seed)
{
	return pat_block((uint8_t *)p, n, upto, seed, true);
}
