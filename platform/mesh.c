/* mesh.c - an emulated manycore mesh over the DT's sockets (the rules are in platform/mesh.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "platform/dt.h"
#include "platform/mesh.h"

static error_t mesh_fail(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static error_t mesh_fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why && len) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return ERR_RANGE;
}

/* the socket grid: SX = ceil(sqrt(n)) columns, SY = ceil(n / SX) rows */
static void grid_of(unsigned n, unsigned *sx, unsigned *sy)
{
	unsigned g = 1;

	while (g * g < n)
		g++;
	*sx = g;
	*sy = (n + g - 1) / g;
}

/* socket @s's block of an @x by @y mesh: columns [*x0, *x1), rows [*y0, *y1) */
static void block_of(unsigned n, unsigned s, unsigned x, unsigned y, unsigned *x0, unsigned *x1, unsigned *y0,
		     unsigned *y1)
{
	unsigned sx, sy, r, i, m;

	grid_of(n, &sx, &sy);
	r = s / sx;
	i = s % sx;
	m = r == sy - 1 ? n - sx * (sy - 1) : sx;	/* sockets in this row band */
	*x0 = x * i / m;
	*x1 = x * (i + 1) / m;
	*y0 = y * r / sy;
	*y1 = y * (r + 1) / sy;
}

/*
 * The RAM part of the @j-th of @k clusters of a socket [base, base + size): offsets in 2 MiB units from
 * the first 2 MiB boundary, p units each, the first @extra of them one more; the head before that
 * boundary joins part 0, the tail after the last whole unit joins part k-1.
 */
struct split {
	uint64_t head, unit_base, p, extra, end;
};

static void split_plan(uint64_t base, uint64_t size, unsigned k, struct split *sp)
{
	uint64_t first = (base + MESH_ALIGN - 1) & ~(MESH_ALIGN - 1), units;

	if (first - base > size)
		first = base + size;
	units = (base + size - first) / MESH_ALIGN;
	sp->unit_base = first;
	sp->head = first - base;
	sp->p = units / k;
	sp->extra = units % k;
	sp->end = base + size;
}

static struct topo_range split_part(const struct split *sp, uint64_t base, unsigned j, unsigned k)
{
	uint64_t lo = sp->unit_base + MESH_ALIGN * (j * sp->p + (j < sp->extra ? j : sp->extra));
	uint64_t hi = lo + MESH_ALIGN * (sp->p + (j < sp->extra));

	if (j == 0)
		lo = base;
	if (j == k - 1)
		hi = sp->end;
	return (struct topo_range){ lo, hi - lo };
}

/* the smallest part of the plan: p units (the head and tail only make parts larger) */
static uint64_t split_min(const struct split *sp, unsigned k)
{
	return k == 1 ? sp->end - sp->unit_base + sp->head : MESH_ALIGN * sp->p;
}

/* the socket distance, symmetric: the larger of the DT's two directions */
static unsigned socket_dist(const struct topo *t, unsigned s, unsigned u)
{
	unsigned a, b;

	if (s == u)
		return 10;
	a = t->socket[s].dist[u];
	b = t->socket[u].dist[s];
	return a > b ? a : b;
}

unsigned mesh_distance(const struct topo *t, unsigned a, unsigned b)
{
	const struct topo_cluster *ca, *cb;
	unsigned h, d;

	if (!t || a >= t->nclusters || b >= t->nclusters)
		return 0;
	ca = &t->cluster[a];
	cb = &t->cluster[b];
	h = (ca->x > cb->x ? ca->x - cb->x : cb->x - ca->x) + (ca->y > cb->y ? ca->y - cb->y : cb->y - ca->y);
	d = socket_dist(t, ca->socket, cb->socket) + t->hop * h;
	return d > 255 ? 255 : d;
}

static char *size_str(char *buf, size_t len, uint64_t b)
{
	if (b >= (1ULL << 20))
		snprintf(buf, len, "%lluM", (unsigned long long)(b >> 20));
	else
		snprintf(buf, len, "%lluK", (unsigned long long)(b >> 10));
	return buf;
}

error_t mesh_split(struct topo *t, unsigned x, unsigned y, unsigned hop, char *why, size_t whylen)
{
	unsigned n, s, sx, sy, i, j, c;

	if (why && whylen)
		why[0] = '\0';
	if (!t || t->emulated)
		return ERR_INVAL;
	n = t->nsockets;
	if (!x || !y || x > TOPO_MESH_MAX || y > TOPO_MESH_MAX)
		return mesh_fail(why, whylen, "mesh=%ux%u: each side must be 1..%u", x, y, TOPO_MESH_MAX);
	if (x * y > TOPO_MAX_CLUSTERS)
		return mesh_fail(why, whylen, "mesh=%ux%u: %u clusters, more than %u", x, y, x * y,
				 TOPO_MAX_CLUSTERS);
	if (x * y < n)
		return mesh_fail(why, whylen, "mesh=%ux%u: %u cells for %u NUMA nodes (at least one cell per node)",
				 x, y, x * y, n);
	if (x * y == n)
		return mesh_fail(why, whylen, "mesh=%ux%u: as many cells as NUMA nodes: nothing to split", x, y);
	if (hop < 1 || hop > MESH_HOP_MAX)
		return mesh_fail(why, whylen, "hop=%u: a hop costs 1..%u", hop, MESH_HOP_MAX);
	grid_of(n, &sx, &sy);
	if (x < (sy == 1 ? n : sx) || y < sy)
		return mesh_fail(why, whylen, "mesh=%ux%u: %u sockets tile the mesh as a %ux%u grid of blocks: need at "
				 "least %ux%u cells", x, y, n, sx, sy, sy == 1 ? n : sx, sy);
	/* pass 1: every socket's parts are large enough (nothing is written before all pass) */
	for (s = 0; s < n; s++) {
		const struct topo_socket *so = &t->socket[s];
		unsigned x0, x1, y0, y1, k;
		struct split sp;
		char a[16], b[16], m[16];

		block_of(n, s, x, y, &x0, &x1, &y0, &y1);
		k = (x1 - x0) * (y1 - y0);
		if (!so->mem.size)
			continue;
		split_plan(so->mem.base, so->mem.size, k, &sp);
		if (split_min(&sp, k) < MESH_MIN_MEM)
			return mesh_fail(why, whylen,
					 "mesh=%ux%u: socket %u has %s for %u clusters: %s each, below the %s minimum",
					 x, y, s, size_str(a, sizeof(a), so->mem.size), k,
					 size_str(b, sizeof(b), so->mem.size / k), size_str(m, sizeof(m), MESH_MIN_MEM));
	}
	/* pass 2: the clusters, cell by cell */
	t->nclusters = x * y;
	t->mesh_x = x;
	t->mesh_y = y;
	t->hop = hop;
	t->emulated = 1;
	for (c = 0; c < x * y; c++) {
		struct topo_cluster *cl = &t->cluster[c];

		memset(cl, 0, sizeof(*cl));
		cl->id = c;
		cl->x = c % x;
		cl->y = c / x;
	}
	for (s = 0; s < n; s++) {
		struct topo_socket *so = &t->socket[s];
		unsigned x0, x1, y0, y1, k, nh = 0, hi = 0;
		struct split sp;

		block_of(n, s, x, y, &x0, &x1, &y0, &y1);
		so->x0 = x0, so->x1 = x1, so->y0 = y0, so->y1 = y1;
		k = (x1 - x0) * (y1 - y0);
		split_plan(so->mem.base, so->mem.size, k, &sp);
		for (j = 0; j < k; j++) {
			struct topo_cluster *cl = &t->cluster[(y0 + j / (x1 - x0)) * x + x0 + j % (x1 - x0)];

			cl->socket = s;
			cl->mem = so->mem.size ? split_part(&sp, so->mem.base, j, k) :
						 (struct topo_range){ so->mem.base, 0 };
		}
		/* its harts, in hart-id order (t->hart[] is sorted): hart i of nh to cluster i * k / nh */
		for (i = 0; i < t->nharts; i++)
			nh += t->hart[i].cluster == s;
		for (i = 0; i < t->nharts; i++) {
			struct topo_cluster *cl;

			if (t->hart[i].cluster != s)
				continue;
			j = hi++ * k / nh;
			c = (y0 + j / (x1 - x0)) * x + x0 + j % (x1 - x0);
			cl = &t->cluster[c];
			t->hart[i].cluster = TOPO_MAX_CLUSTERS + c;	/* moved: not a socket id any more */
			if (!cl->nharts)
				cl->hart_lo = t->hart[i].hartid;
			cl->hart_hi = t->hart[i].hartid;
			cl->nharts++;
		}
	}
	for (i = 0; i < t->nharts; i++)
		t->hart[i].cluster -= TOPO_MAX_CLUSTERS;
	/* the distance map: one triangle computed, mirrored; the socket distances looked up once */
	{
		uint8_t sd[TOPO_MAX_NODES][TOPO_MAX_NODES];

		for (s = 0; s < n; s++)
			for (i = 0; i < n; i++)
				sd[s][i] = (uint8_t)socket_dist(t, s, i);
		for (i = 0; i < x * y; i++) {
			struct topo_cluster *a = &t->cluster[i];

			a->dist[i] = 10;
			for (j = i + 1; j < x * y; j++) {
				struct topo_cluster *b = &t->cluster[j];
				unsigned h = (a->x > b->x ? a->x - b->x : b->x - a->x) + (b->y - a->y);	/* b->y >= a->y */
				unsigned d = sd[a->socket][b->socket] + hop * h;

				a->dist[j] = b->dist[i] = (uint8_t)(d > 255 ? 255 : d);
			}
		}
	}
	return 0;
}

error_t mesh_apply(struct topo *t, unsigned x, unsigned y, unsigned hop, char *why, size_t whylen)
{
	if (why && whylen)
		why[0] = '\0';
	if (!t || t->emulated)
		return ERR_INVAL;
	if (x && y && x <= TOPO_MESH_MAX && y <= TOPO_MESH_MAX && x * y == t->nsockets) {
		error_t e = topo_set_mesh(t, x, y);

		if (e)
			mesh_fail(why, whylen, "mesh=%ux%u does not fit %u clusters", x, y, t->nclusters);
		return e;
	}
	return mesh_split(t, x, y, hop, why, whylen);
}
