/* test_range.c - range_subtract(): RAM minus reserved ranges, against a byte-map model. */
#include <string.h>

#include "mm/err.h"
#include "mm/range.h"
#include "tests/test.h"

static void range_subtract_basic(struct test *t)
{
	struct topo_range r = { 0x1000, 0x9000 }, out[8];
	struct topo_range cut[] = { { 0x0, 0x1800 }, { 0x4000, 0x1000 }, { 0x4800, 0x1000 }, { 0x9000, 0x4000 } };
	unsigned n = range_subtract(r, cut, 4, out, 8);

	ASSERT_EQ(t, n, 2);
	EXPECT_EQ(t, out[0].base, 0x1800);
	EXPECT_EQ(t, out[0].size, 0x2800);
	EXPECT_EQ(t, out[1].base, 0x5800);
	EXPECT_EQ(t, out[1].size, 0x3800);
}

static void range_subtract_random(struct test *t)
{
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	int iter;

	for (iter = 0; iter < 3000; iter++) {
		unsigned char map[256];
		struct topo_range cut[6], out[8], r;
		unsigned ncut, n, i, j;

#define RND() (s ^= s << 13, s ^= s >> 7, s ^= s << 17, s)
		r.base = RND() % 128;
		r.size = RND() % 128;
		ncut = RND() % 6;
		memset(map, 0, sizeof(map));
		for (j = r.base; j < r.base + r.size; j++)
			map[j] = 1;
		for (i = 0; i < ncut; i++) {
			cut[i].base = RND() % 250;
			cut[i].size = RND() % 40;
			for (j = cut[i].base; j < cut[i].base + cut[i].size && j < 256; j++)
				map[j] = 0;
		}
		n = range_subtract(r, cut, ncut, out, 8);
		EXPECT_LE(t, n, ncut + 1);	/* what range.h promises callers size @max for */
		for (i = 0; i < n; i++) {
			EXPECT_GT(t, out[i].size, 0);
			/* in order, and a cut byte between two parts: touching parts would be one */
			if (i)
				EXPECT_GT(t, out[i].base, out[i - 1].base + out[i - 1].size);
			for (j = out[i].base; j < out[i].base + out[i].size; j++) {
				EXPECT_EQ(t, map[j], 1);
				map[j] = 2;
			}
		}
		for (j = 0; j < 256; j++)
			EXPECT_NE(t, map[j], 1);
		if (t->failures)
			return;
	}
}

TEST_SUITE(host_range, TEST_CASE(range_subtract_basic), TEST_CASE(range_subtract_random));
