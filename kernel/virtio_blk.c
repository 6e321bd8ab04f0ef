/* virtio_blk.c - a polled virtio-blk driver on virtio-mmio (legacy and modern), all DMA memory from mem_alloc(). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <libfdt.h>

#include "kernel/kernel.h"
#include "kernel/lock.h"
#include "kernel/printk.h"
#include "kernel/virtio.h"
#include "mm/mem.h"
#include "platform/csr.h"

/*
 * One device, one request queue, one request in flight (the driver's lock is held from publishing a
 * request until its completion is consumed), completion by polling: the kernel runs with interrupts off,
 * so the available ring asks for no interrupts and the driver watches used->idx with a deadline on the
 * time CSR.
 *
 * Memory. Nothing the device touches comes from the kernel image or a stack: the rings are allocated at
 * probe with mem_alloc(MEM_VALID_DMA) and kept; each device request allocates its header + status block
 * and its data (bounce) buffer with mem_alloc(MEM_VALID_DMA) near the calling hart and frees them once the
 * device has completed it. Every range is checked with mem_is_dma() before its address is published and
 * recorded in a log that the tests read back (virtio_blk_dma_ranges()). Heap blocks are powers of two,
 * naturally aligned, which gives the rings their alignment:
 *   modern (MMIO version 2): descriptors, available and used ring in three blocks (need 16, 2, 4);
 *   legacy (MMIO version 1): the whole vring in one block in the legacy layout (descriptors, available
 *   ring, padding to the next page, used ring), found by the device from QueuePFN = block / 4096.
 *
 * A request is three chained descriptors: header (device reads), data (device writes for a read, reads for a
 * write), status byte (device writes). The status byte is preset to VBLK_STATUS_UNSET (0xff) so that a completion without a
 * status write shows as an error.
 *
 * A request that does not complete in time leaves buffers the device may still write: the driver resets
 * the device (which takes the queue away from it), marks it broken, and only then lets the buffers go; if
 * the reset cannot be confirmed the buffers are deliberately leaked rather than freed under a live device.
 */

#define VQ_SIZE_WANT		16u	/* descriptors in the request queue (fewer if the device offers fewer) */
#define VQ_SIZE_MIN		4u	/* one request takes 3 */
#define VQ_CHAIN		3u
#define LEGACY_PAGE		4096u	/* GuestPageSize and QueueAlign for the legacy transport */
#define HDR_BLOCK		64u	/* header (16 bytes) + status byte (at HDR_STATUS) in one block */
#define HDR_STATUS		sizeof(struct virtio_blk_req_hdr)
#define RESET_WAIT_MS		100u
#define VBLK_STATUS_UNSET	0xffu	/* no VIRTIO_BLK_S_* value: the device never wrote the byte */
#define CONFIG_TRIES		16	/* modern config space reads retried while the generation changes */

struct vblk {
	uintptr_t regs;			/* register window (0: no device) */
	unsigned version;		/* 1 legacy, 2 modern */
	unsigned qsize;
	uint64_t capacity;
	bool present;			/* set last in probe (release), read first by requests (acquire) */
	bool broken;
	bool readonly;
	uint64_t tick_hz;		/* time CSR frequency */
	uint64_t timeout_ticks;

	/* the request queue: desc/avail/used point into ring_block[] (one block legacy, three modern) */
	void *ring_block[3];
	unsigned nring_blocks;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint16_t free_head;		/* free descriptors, chained through .next */
	unsigned nfree;
	uint16_t avail_idx;		/* our copy of avail->idx */
	uint16_t used_seen;		/* used->idx value up to which completions were consumed */

	spinlock_t lock;		/* serialises requests, counters and the DMA log */
	uint64_t requests, errors;
	struct {
		uintptr_t addr;
		size_t len;
	} log[VIRTIO_BLK_DMA_LOG];
	unsigned nlog, unlogged;
	uintptr_t dma_lo, dma_hi;
};

static struct vblk vblk;

/*
 * MMIO accessors with the fences of Linux's RISC-V readl()/writel(). RISC-V orders memory and device
 * (I/O) accesses only through fences naming them: "fence w,o" before a register write makes every earlier
 * memory write (descriptors, ring, buffers) visible before the device sees the write (above all
 * QueueNotify); "fence i,r" after a register read keeps later memory reads from passing it.
 */
static inline uint32_t mmio_read32(uintptr_t base, unsigned off)
{
	uint32_t v = *(volatile uint32_t *)(base + off);

	__asm__ volatile("fence i,r" ::: "memory");
	return v;
}

static inline void mmio_write32(uintptr_t base, unsigned off, uint32_t v)
{
	__asm__ volatile("fence w,o" ::: "memory");
	*(volatile uint32_t *)(base + off) = v;
}

static inline uint32_t vb_read(unsigned off)
{
	return mmio_read32(vblk.regs, off);
}

static inline void vb_write(unsigned off, uint32_t v)
{
	mmio_write32(vblk.regs, off, v);
}

static uint64_t ms_to_ticks(unsigned ms)
{
	return vblk.tick_hz * ms / 1000;
}

/* vblk_hand_over() - check that [addr, addr+len) is DMA-reachable and log it. Context: lock held (or probe). */
static error_t vblk_hand_over(const void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr;
	unsigned i;

	if (!mem_is_dma(addr, len)) {
		printk("virtio-blk: 0x%llx+0x%llx lies beyond the DMA limit 0x%llx: not handed to the device\n",
		       (unsigned long long)a, (unsigned long long)len, (unsigned long long)mem_dma_limit());
		return ERR_RANGE;
	}
	if (!vblk.dma_hi || a < vblk.dma_lo)
		vblk.dma_lo = a;
	if (a + len > vblk.dma_hi)
		vblk.dma_hi = a + len;
	for (i = 0; i < vblk.nlog; i++)
		if (vblk.log[i].addr == a && vblk.log[i].len == len)
			return 0;
	if (vblk.nlog < VIRTIO_BLK_DMA_LOG)
		vblk.log[vblk.nlog++] = (typeof(vblk.log[0])){ a, len };
	else
		vblk.unlogged++;
	return 0;
}

/* vblk_reset() - write status 0 and wait (bounded) until the device reads back 0. Return: confirmed. */
static bool vblk_reset(void)
{
	uint64_t start = rdtime();

	vb_write(VIRTIO_MMIO_STATUS, 0);
	while (vb_read(VIRTIO_MMIO_STATUS) != 0)
		if (rdtime() - start > ms_to_ticks(RESET_WAIT_MS))
			return false;
	return true;
}

static void vblk_free_rings(void)
{
	unsigned i;

	for (i = 0; i < vblk.nring_blocks; i++)
		mem_free(vblk.ring_block[i]);
	vblk.nring_blocks = 0;
	vblk.desc = NULL;
	vblk.avail = NULL;
	vblk.used = NULL;
}

/* vblk_ring_alloc() - one zeroed MEM_VALID_DMA block of @size bytes aligned to @align, kept in ring_block[]. */
static error_t vblk_ring_alloc(size_t size, uintptr_t align, void **out)
{
	void *p;
	error_t e = mem_alloc(size, NULL, MEM_VALID_DMA, &p);

	if (e)
		return e;
	vblk.ring_block[vblk.nring_blocks++] = p;
	if ((uintptr_t)p & (align - 1))
		return ERR_ALIGN;
	e = vblk_hand_over(p, size);
	if (e)
		return e;
	memset(p, 0, size);
	*out = p;
	return 0;
}

/*
 * vblk_setup_queue() - allocate and register request queue 0 with @n entries.
 * Modern: three blocks, addresses in QueueDesc/QueueDriver/QueueDevice, then QueueReady = 1.
 * Legacy: one block [desc | avail | pad to LEGACY_PAGE | used], QueueAlign = LEGACY_PAGE, QueuePFN.
 */
static error_t vblk_setup_queue(unsigned n)
{
	unsigned i;
	error_t e;

	if (vblk.version == 2) {
		void *d, *a, *u;

		e = vblk_ring_alloc(VIRTQ_DESC_SIZE(n), 16, &d);
		if (!e)
			e = vblk_ring_alloc(VIRTQ_AVAIL_SIZE(n), 2, &a);
		if (!e)
			e = vblk_ring_alloc(VIRTQ_USED_SIZE(n), 4, &u);
		if (e)
			return e;
		vblk.desc = d;
		vblk.avail = a;
		vblk.used = u;
	} else {
		size_t used_off = (VIRTQ_DESC_SIZE(n) + VIRTQ_AVAIL_SIZE(n) + LEGACY_PAGE - 1) & ~(size_t)(LEGACY_PAGE - 1);
		uint8_t *ring;

		e = vblk_ring_alloc(used_off + VIRTQ_USED_SIZE(n), LEGACY_PAGE, (void **)&ring);
		if (e)
			return e;
		if (((uintptr_t)ring / LEGACY_PAGE) >> 32)
			return ERR_RANGE;		/* QueuePFN is 32 bits */
		vblk.desc = (struct virtq_desc *)ring;
		vblk.avail = (struct virtq_avail *)(ring + VIRTQ_DESC_SIZE(n));
		vblk.used = (struct virtq_used *)(ring + used_off);
	}
	for (i = 0; i < n; i++)
		vblk.desc[i].next = (uint16_t)(i + 1 < n ? i + 1 : 0);
	vblk.free_head = 0;
	vblk.nfree = n;
	vblk.avail_idx = 0;
	vblk.used_seen = 0;
	vblk.avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	vblk.qsize = n;

	vb_write(VIRTIO_MMIO_QUEUE_NUM, n);
	if (vblk.version == 2) {
		uint64_t d = (uintptr_t)vblk.desc, a = (uintptr_t)vblk.avail, u = (uintptr_t)vblk.used;

		vb_write(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)d);
		vb_write(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(d >> 32));
		vb_write(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)a);
		vb_write(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(a >> 32));
		vb_write(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)u);
		vb_write(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(u >> 32));
		vb_write(VIRTIO_MMIO_QUEUE_READY, 1);
		if (vb_read(VIRTIO_MMIO_QUEUE_READY) != 1)
			return ERR_IO;
	} else {
		vb_write(VIRTIO_MMIO_QUEUE_ALIGN, LEGACY_PAGE);
		vb_write(VIRTIO_MMIO_QUEUE_PFN, (uint32_t)((uintptr_t)vblk.desc / LEGACY_PAGE));
	}
	return 0;
}

/* vblk_read_capacity() - config space capacity (le64), re-read while a modern device's generation moves */
static uint64_t vblk_read_capacity(void)
{
	uint32_t lo, hi, gen = 0;
	int tries = 0;

	do {
		if (vblk.version == 2)
			gen = vb_read(VIRTIO_MMIO_CONFIG_GENERATION);
		lo = vb_read(VIRTIO_MMIO_CONFIG + VIRTIO_BLK_CFG_CAPACITY);
		hi = vb_read(VIRTIO_MMIO_CONFIG + VIRTIO_BLK_CFG_CAPACITY + 4);
	} while (vblk.version == 2 && gen != vb_read(VIRTIO_MMIO_CONFIG_GENERATION) && ++tries < CONFIG_TRIES);
	return (uint64_t)hi << 32 | lo;
}

/*
 * vblk_setup() - the initialisation sequence of virtio 1.1 section 3.1 (legacy: 3.1.2, without
 * FEATURES_OK, with GuestPageSize) on the device at @base. On failure the device is reset and the rings
 * freed. Context: probe.
 */
static error_t vblk_setup(uintptr_t base, unsigned version)
{
	uint32_t status, feat_lo, feat_hi = 0;
	unsigned n, max;
	error_t e;
	const char *why;

	vblk.regs = base;
	vblk.version = version;
	if (!vblk_reset()) {
		why = "does not reset";
		e = ERR_IO;
		goto fail;
	}
	status = VIRTIO_STATUS_ACKNOWLEDGE;
	vb_write(VIRTIO_MMIO_STATUS, status);
	status |= VIRTIO_STATUS_DRIVER;
	vb_write(VIRTIO_MMIO_STATUS, status);

	/* features: none of the optional ones; VERSION_1 (bit 32) is mandatory on the modern transport */
	vb_write(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	feat_lo = vb_read(VIRTIO_MMIO_DEVICE_FEATURES);
	vblk.readonly = (feat_lo >> VIRTIO_BLK_F_RO) & 1;
	if (version == 2) {
		vb_write(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
		feat_hi = vb_read(VIRTIO_MMIO_DEVICE_FEATURES);
		if (!((feat_hi >> (VIRTIO_F_VERSION_1 - 32)) & 1)) {
			why = "modern transport without VIRTIO_F_VERSION_1";
			e = ERR_NODEV;
			goto fail;
		}
	}
	vb_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vb_write(VIRTIO_MMIO_DRIVER_FEATURES, 0);
	if (version == 2) {
		vb_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
		vb_write(VIRTIO_MMIO_DRIVER_FEATURES, 1u << (VIRTIO_F_VERSION_1 - 32));
		status |= VIRTIO_STATUS_FEATURES_OK;
		vb_write(VIRTIO_MMIO_STATUS, status);
		if (!(vb_read(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK)) {
			why = "refused FEATURES_OK";
			e = ERR_IO;
			goto fail;
		}
	} else {
		vb_write(VIRTIO_MMIO_GUEST_PAGE_SIZE, LEGACY_PAGE);
	}

	/* the request queue (queue 0): must not be in use, and must offer at least VQ_SIZE_MIN entries */
	vb_write(VIRTIO_MMIO_QUEUE_SEL, 0);
	if (vb_read(version == 2 ? VIRTIO_MMIO_QUEUE_READY : VIRTIO_MMIO_QUEUE_PFN) != 0) {
		why = "queue 0 already in use";
		e = ERR_IO;
		goto fail;
	}
	max = vb_read(VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (max < VQ_SIZE_MIN) {
		why = "request queue too small";
		e = ERR_NODEV;
		goto fail;
	}
	for (n = VQ_SIZE_WANT; n > max; n >>= 1)
		;
	e = vblk_setup_queue(n);
	if (e) {
		why = "request queue setup failed";
		goto fail;
	}
	vblk.capacity = vblk_read_capacity();

	status |= VIRTIO_STATUS_DRIVER_OK;
	vb_write(VIRTIO_MMIO_STATUS, status);
	if (vb_read(VIRTIO_MMIO_STATUS) & (VIRTIO_STATUS_FAILED | VIRTIO_STATUS_NEEDS_RESET)) {
		why = "device failed after DRIVER_OK";
		e = ERR_IO;
		goto fail;
	}
	return 0;
fail:
	printk("virtio-blk: device at 0x%llx (virtio-mmio version %u): %s: %s\n", (unsigned long long)base,
	       version, why, err_str(e));
	vb_write(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_FAILED);
	if (vblk_reset())
		vblk_free_rings();
	else
		vblk.nring_blocks = 0;		/* the device may still own the rings: leak them */
	vblk.regs = 0;
	return e;
}

/* vblk_dt_reg() - first reg entry of @node, decoded with its parent's #address-cells/#size-cells */
static error_t vblk_dt_reg(const void *fdt, int node, uint64_t *base, uint64_t *size)
{
	int parent = fdt_parent_offset(fdt, node), ac, sc, len, i;
	const fdt32_t *p;
	uint64_t v[2] = { 0, 0 };

	if (parent < 0)
		return ERR_CORRUPT;
	ac = fdt_address_cells(fdt, parent);
	sc = fdt_size_cells(fdt, parent);
	if (ac < 1 || ac > 2 || sc < 1 || sc > 2)
		return ERR_CORRUPT;
	p = fdt_getprop(fdt, node, "reg", &len);
	if (!p || len < 4 * (ac + sc))
		return ERR_CORRUPT;
	for (i = 0; i < ac + sc; i++)
		v[i >= ac] = (v[i >= ac] << 32) | fdt32_ld(p + i);
	*base = v[0];
	*size = v[1];
	return 0;
}

static bool vblk_dt_enabled(const void *fdt, int node)
{
	int len;
	const char *s = fdt_getprop(fdt, node, "status", &len);

	return !s || (len == 5 && !memcmp(s, "okay", 5)) || (len == 3 && !memcmp(s, "ok", 3));
}

/* vblk_probe() - the first virtio_blk_probe(): scan, set up, print one line */
static error_t vblk_probe(const void *fdt)
{
	int node = -1;
	error_t e;

	vblk.tick_hz = boot_topo.timebase_hz;	/* the DT parser refused a machine without one */
	vblk.timeout_ticks = ms_to_ticks(VIRTIO_BLK_TIMEOUT_MS);
	while ((node = fdt_node_offset_by_compatible(fdt, node, "virtio,mmio")) >= 0) {
		uint64_t base, size;
		uint32_t version;

		if (!vblk_dt_enabled(fdt, node) || vblk_dt_reg(fdt, node, &base, &size) || size < 0x200)
			continue;
		if (mmio_read32(base, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC ||
		    mmio_read32(base, VIRTIO_MMIO_DEVICE_ID) != VIRTIO_ID_BLOCK)
			continue;
		version = mmio_read32(base, VIRTIO_MMIO_VERSION);
		if (version != 1 && version != 2) {
			printk("virtio-blk: device at 0x%llx: unknown virtio-mmio version %u\n",
			       (unsigned long long)base, version);
			continue;
		}
		spin_init(&vblk.lock);
		e = vblk_setup((uintptr_t)base, version);
		if (e)
			return e;
		printk("virtio-blk: virtio-mmio version %u (%s) at 0x%llx: %llu sectors (%llu KiB)%s, queue %u, "
		       "rings at %p\n", version, version == 2 ? "modern" : "legacy", (unsigned long long)base,
		       (unsigned long long)vblk.capacity, (unsigned long long)(vblk.capacity / 2),
		       vblk.readonly ? ", read-only" : "", vblk.qsize, (void *)vblk.desc);
		__atomic_store_n(&vblk.present, true, __ATOMIC_RELEASE);
		return 0;
	}
	printk("virtio-blk: no device (no virtio,mmio node with device id %u)\n", VIRTIO_ID_BLOCK);
	return ERR_NODEV;
}

error_t virtio_blk_probe(const void *fdt)
{
	static bool probed;
	static error_t result;

	if (!fdt || fdt_check_header(fdt))
		return ERR_INVAL;
	if (!probed) {
		result = vblk_probe(fdt);
		probed = true;
	}
	return result;
}

bool virtio_blk_present(void)
{
	return __atomic_load_n(&vblk.present, __ATOMIC_ACQUIRE);
}

uint64_t virtio_blk_capacity(void)
{
	return virtio_blk_present() ? vblk.capacity : 0;
}

/*
 * vblk_submit() - publish one request (header+status block @hb, data @data of @len bytes) and poll for
 * its completion. *@device_owns is set when the device could not be reset after a timeout: the caller
 * must then never free or reuse the buffers. Context: vblk.lock held.
 */
static error_t vblk_submit(void *hb, void *data, uint32_t len, bool device_writes, bool *device_owns)
{
	volatile uint8_t *status = (uint8_t *)hb + HDR_STATUS;
	struct virtq_used_elem elem;
	uint16_t head, d1, d2;
	uint64_t start;
	error_t e;

	*device_owns = false;
	if (vblk.broken)
		return ERR_IO;
	e = vblk_hand_over(hb, sizeof(struct virtio_blk_req_hdr));
	if (!e)
		e = vblk_hand_over(data, len);
	if (!e)
		e = vblk_hand_over((const void *)status, 1);
	if (e)
		return e;
	if (vblk.nfree < VQ_CHAIN)
		panic("virtio_blk_submit: %u free descriptors with no request in flight", vblk.nfree);

	head = vblk.free_head;
	d1 = vblk.desc[head].next;
	d2 = vblk.desc[d1].next;
	vblk.free_head = vblk.desc[d2].next;
	vblk.nfree -= VQ_CHAIN;
	vblk.desc[head] = (struct virtq_desc){ (uintptr_t)hb, sizeof(struct virtio_blk_req_hdr), VIRTQ_DESC_F_NEXT, d1 };
	vblk.desc[d1] = (struct virtq_desc){ (uintptr_t)data, len,
					      VIRTQ_DESC_F_NEXT | (device_writes ? VIRTQ_DESC_F_WRITE : 0), d2 };
	vblk.desc[d2] = (struct virtq_desc){ (uintptr_t)status, 1, VIRTQ_DESC_F_WRITE, 0 };
	*status = VBLK_STATUS_UNSET;
	vblk.avail->ring[vblk.avail_idx % vblk.qsize] = head;
	/*
	 * Release: the descriptors, the ring slot, the header and the data (a write's) must be visible to the
	 * device before the index that publishes them (fence rw,w). QEMU's DMA is cache-coherent, so ordering
	 * is all that is needed: no cache maintenance.
	 */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vblk.avail_idx++;
	__atomic_store_n(&vblk.avail->idx, vblk.avail_idx, __ATOMIC_RELAXED);
	/* the notify is a device write: vb_write()'s "fence w,o" orders the index store before it */
	vb_write(VIRTIO_MMIO_QUEUE_NOTIFY, 0);

	start = rdtime();
	while (__atomic_load_n(&vblk.used->idx, __ATOMIC_RELAXED) == vblk.used_seen) {
		if (rdtime() - start > vblk.timeout_ticks) {
			uint32_t st = vb_read(VIRTIO_MMIO_STATUS);

			vblk.broken = true;
			*device_owns = !vblk_reset();
			printk("virtio-blk: request (sector %llu) timed out after %u ms, device status 0x%x; device %s\n",
			       (unsigned long long)((struct virtio_blk_req_hdr *)hb)->sector, VIRTIO_BLK_TIMEOUT_MS,
			       st, *device_owns ? "does not reset: its buffers are leaked" : "reset");
			return ERR_TIMEOUT;
		}
		cpu_relax();
	}
	/*
	 * Acquire: the used element, the status byte and the data the device wrote are read only after the
	 * index that covers them (fence r,rw).
	 */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	elem = vblk.used->ring[vblk.used_seen % vblk.qsize];
	vblk.used_seen++;
	if (elem.id != head) {
		vblk.broken = true;
		*device_owns = !vblk_reset();
		printk("virtio-blk: device completed descriptor %u, expected %u; device reset\n", elem.id, head);
		return ERR_IO;
	}
	vblk.desc[d2].next = vblk.free_head;
	vblk.free_head = head;
	vblk.nfree += VQ_CHAIN;
	/* no interrupt was asked for; acknowledge whatever the device raised anyway */
	{
		uint32_t isr = vb_read(VIRTIO_MMIO_INTERRUPT_STATUS);

		if (isr)
			vb_write(VIRTIO_MMIO_INTERRUPT_ACK, isr);
	}
	vblk.requests++;
	if (*status != VIRTIO_BLK_S_OK) {
		vblk.errors++;
		printk("virtio-blk: request (sector %llu) ended with status %u\n",
		       (unsigned long long)((struct virtio_blk_req_hdr *)hb)->sector, *status);
		return ERR_IO;
	}
	return 0;
}

/* vblk_rw() - read or write, split into requests of at most VIRTIO_BLK_MAX_REQ bytes */
static error_t vblk_rw(uint32_t type, uint64_t sector, void *buf, unsigned nsectors)
{
	const unsigned max = VIRTIO_BLK_MAX_REQ / VIRTIO_BLK_SECTOR_SIZE;
	uint8_t *p = buf;

	if (!virtio_blk_present())
		return ERR_NODEV;
	if (!buf)
		return ERR_INVAL;
	if (sector > vblk.capacity || nsectors > vblk.capacity - sector)
		return ERR_RANGE;
	if (type == VIRTIO_BLK_T_OUT && vblk.readonly)
		return ERR_IO;
	while (nsectors) {
		unsigned n = nsectors < max ? nsectors : max;
		size_t len = (size_t)n * VIRTIO_BLK_SECTOR_SIZE;
		struct virtio_blk_req_hdr *hdr;
		void *data, *hb;
		bool owned;
		error_t e;

		/* allocated outside the driver's lock: the heaps' locks never nest inside it */
		e = mem_alloc(len, NULL, MEM_VALID_DMA, &data);
		if (e)
			return e;
		e = mem_alloc(HDR_BLOCK, NULL, MEM_VALID_DMA, &hb);
		if (e) {
			mem_free(data);
			return e;
		}
		hdr = hb;
		hdr->type = type;
		hdr->reserved = 0;
		hdr->sector = sector;
		if (type == VIRTIO_BLK_T_OUT)
			memcpy(data, p, len);
		spin_lock(&vblk.lock);
		e = vblk_submit(hb, data, (uint32_t)len, type == VIRTIO_BLK_T_IN, &owned);
		spin_unlock(&vblk.lock);
		if (!e && type == VIRTIO_BLK_T_IN)
			memcpy(p, data, len);
		if (!owned) {
			mem_free(hb);
			mem_free(data);
		}
		if (e)
			return e;
		p += len;
		sector += n;
		nsectors -= n;
	}
	return 0;
}

error_t virtio_blk_read(uint64_t sector, void *buf, unsigned nsectors)
{
	return vblk_rw(VIRTIO_BLK_T_IN, sector, buf, nsectors);
}

error_t virtio_blk_write(uint64_t sector, const void *buf, unsigned nsectors)
{
	return vblk_rw(VIRTIO_BLK_T_OUT, sector, (void *)buf, nsectors);
}

void virtio_blk_dma_ranges(void (*fn)(uintptr_t addr, size_t len, void *arg), void *arg)
{
	unsigned i;

	if (!virtio_blk_present())
		return;
	spin_lock(&vblk.lock);
	for (i = 0; i < vblk.nlog; i++)
		fn(vblk.log[i].addr, vblk.log[i].len, arg);
	spin_unlock(&vblk.lock);
}

void virtio_blk_get_info(struct virtio_blk_info *info)
{
	memset(info, 0, sizeof(*info));
	if (!virtio_blk_present())
		return;
	spin_lock(&vblk.lock);
	info->mmio_base = vblk.regs;
	info->version = vblk.version;
	info->queue_size = vblk.qsize;
	info->capacity = vblk.capacity;
	info->readonly = vblk.readonly;
	info->broken = vblk.broken;
	info->requests = vblk.requests;
	info->errors = vblk.errors;
	info->dma_lo = vblk.dma_lo;
	info->dma_hi = vblk.dma_hi;
	info->dma_logged = vblk.nlog;
	info->dma_unlogged = vblk.unlogged;
	spin_unlock(&vblk.lock);
}
