/* virtio.h - virtio-mmio registers, split virtqueues, and the polled virtio-blk driver's interface. */
#ifndef KERNEL_VIRTIO_H
#define KERNEL_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm/err.h"

/*
 * Names and numbers from the virtio 1.1 specification (sections 2.6 split virtqueues, 4.2 virtio over
 * MMIO, 5.2 block device). Version 2 is the modern MMIO transport, version 1 the legacy one (QEMU picks
 * per -global virtio-mmio.force-legacy=true|false); offsets marked "legacy" exist only in version 1,
 * those marked "modern" only in version 2.
 */
#define VIRTIO_MMIO_MAGIC_VALUE		0x000	/* "virt" = 0x74726976 */
#define VIRTIO_MMIO_VERSION		0x004	/* 1 legacy, 2 modern */
#define VIRTIO_MMIO_DEVICE_ID		0x008	/* 0 = empty slot, 2 = block */
#define VIRTIO_MMIO_VENDOR_ID		0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES	0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL	0x014
#define VIRTIO_MMIO_DRIVER_FEATURES	0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL	0x024
#define VIRTIO_MMIO_GUEST_PAGE_SIZE	0x028	/* legacy */
#define VIRTIO_MMIO_QUEUE_SEL		0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX	0x034
#define VIRTIO_MMIO_QUEUE_NUM		0x038
#define VIRTIO_MMIO_QUEUE_ALIGN		0x03c	/* legacy */
#define VIRTIO_MMIO_QUEUE_PFN		0x040	/* legacy */
#define VIRTIO_MMIO_QUEUE_READY		0x044	/* modern */
#define VIRTIO_MMIO_QUEUE_NOTIFY	0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS	0x060
#define VIRTIO_MMIO_INTERRUPT_ACK	0x064
#define VIRTIO_MMIO_STATUS		0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW	0x080	/* modern */
#define VIRTIO_MMIO_QUEUE_DESC_HIGH	0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW	0x090	/* modern: the available ring */
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH	0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW	0x0a0	/* modern: the used ring */
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH	0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION	0x0fc	/* modern */
#define VIRTIO_MMIO_CONFIG		0x100	/* device-specific configuration space */

#define VIRTIO_MMIO_MAGIC		0x74726976u
#define VIRTIO_ID_BLOCK			2

/* device status bits (written cumulatively; 0 resets the device) */
#define VIRTIO_STATUS_ACKNOWLEDGE	1
#define VIRTIO_STATUS_DRIVER		2
#define VIRTIO_STATUS_DRIVER_OK		4
#define VIRTIO_STATUS_FEATURES_OK	8	/* modern only */
#define VIRTIO_STATUS_NEEDS_RESET	64
#define VIRTIO_STATUS_FAILED		128

/* feature bits (64-bit numbering; the registers show 32 at a time through *_FEATURES_SEL) */
#define VIRTIO_BLK_F_RO			5	/* the disk is read-only (reported, never negotiated) */
#define VIRTIO_F_VERSION_1		32	/* modern device: the only feature this driver accepts */

/* split virtqueue (section 2.6) */
#define VIRTQ_DESC_F_NEXT		1	/* the chain continues in .next */
#define VIRTQ_DESC_F_WRITE		2	/* the device writes this buffer (else it reads it) */
#define VIRTQ_AVAIL_F_NO_INTERRUPT	1	/* the driver polls: no used-buffer notifications */

struct virtq_desc {
	uint64_t addr;			/* physical address (= kernel address: no MMU) */
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;			/* where the driver puts the next entry (free-running, mod 2^16) */
	uint16_t ring[];		/* queue size entries, then used_event (unused: no EVENT_IDX) */
};

struct virtq_used_elem {
	uint32_t id;			/* head descriptor of the completed chain */
	uint32_t len;			/* bytes the device wrote into the chain */
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;			/* where the device puts the next entry (free-running, mod 2^16) */
	struct virtq_used_elem ring[];	/* queue size entries, then avail_event */
};

/* sizes of the three parts for a queue of @n entries, and their alignment (modern: 16, 2, 4) */
#define VIRTQ_DESC_SIZE(n)	(16u * (n))
#define VIRTQ_AVAIL_SIZE(n)	(6u + 2u * (n))
#define VIRTQ_USED_SIZE(n)	(6u + 8u * (n))

/* virtio-blk requests (section 5.2.6): header (device reads), data, status byte (device writes) */
#define VIRTIO_BLK_T_IN			0	/* read */
#define VIRTIO_BLK_T_OUT		1	/* write */
#define VIRTIO_BLK_S_OK			0
#define VIRTIO_BLK_S_IOERR		1
#define VIRTIO_BLK_S_UNSUPP		2
#define VIRTIO_BLK_SECTOR_SIZE		512u	/* request units, whatever the disk's block size */
#define VIRTIO_BLK_CFG_CAPACITY		0x00	/* config space: le64, in 512-byte sectors */

struct virtio_blk_req_hdr {
	uint32_t type;
	uint32_t reserved;		/* legacy: ioprio */
	uint64_t sector;
};

/* ---- the polled virtio-blk driver (kernel/virtio_blk.c) ---- */

/* What the driver knows about the device it drives (virtio_blk_get_info()). */
struct virtio_blk_info {
	uint64_t mmio_base;		/* the device's register window */
	unsigned version;		/* virtio-mmio transport version: 1 legacy, 2 modern */
	unsigned queue_size;		/* descriptors in the request queue */
	uint64_t capacity;		/* 512-byte sectors */
	bool readonly;			/* the device offers VIRTIO_BLK_F_RO: writes are refused */
	bool broken;			/* a request timed out or went wrong: the device was reset, I/O fails */
	uint64_t requests;		/* device requests completed */
	uint64_t errors;		/* requests that ended with a non-zero status byte */
	uintptr_t dma_lo, dma_hi;	/* lowest address and highest end ever handed to the device */
	unsigned dma_logged;		/* distinct ranges in the log (virtio_blk_dma_ranges()) */
	unsigned dma_unlogged;		/* handed-over ranges the full log could not keep (only in dma_lo/hi) */
};

/**
 * virtio_blk_probe() - find and set up the first virtio-blk device on virtio-mmio in the device tree.
 * @fdt: the DTB (as OpenSBI passed it to kmain)
 *
 * Scans the "virtio,mmio" nodes (reg = register window) for one whose magic is "virt" and whose device id
 * is 2, resets it, does the status handshake (ACKNOWLEDGE, DRIVER, FEATURES_OK on modern, DRIVER_OK),
 * accepts no optional feature (only VIRTIO_F_VERSION_1 on the modern transport), sets up one request queue
 * in MEM_VALID_DMA memory (legacy: one page-aligned block in the legacy layout; modern: three blocks) and
 * reads the capacity. Prints one line describing the device (or why there is none). Only the first call
 * with a valid DTB probes; later calls return its result again, silently.
 *
 * Context: one hart at a time, after mem_init() (the rings come from mem_alloc()); no lock held.
 * Return: 0; ERR_INVAL (@fdt NULL or not a DTB); ERR_NODEV (no virtio-blk device, or one this driver
 * cannot drive: no VERSION_1 on modern, queue too small); ERR_IO (the device refused FEATURES_OK or set
 * FAILED/NEEDS_RESET); ERR_RANGE (memory mem_alloc() gave is not DMA-reachable); ERR_ALIGN; ERR_NOMEM.
 * On failure the device is left reset and nothing stays allocated.
 */
error_t virtio_blk_probe(const void *fdt);

/**
 * virtio_blk_present() - whether virtio_blk_probe() set up a device.
 *
 * Context: any hart, no lock. Return: true if a device is ready.
 */
bool virtio_blk_present(void);

/**
 * virtio_blk_capacity() - the disk's size in 512-byte sectors.
 *
 * Context: any hart, no lock. Return: the size, 0 without a device.
 */
uint64_t virtio_blk_capacity(void);

/**
 * virtio_blk_read() - read @nsectors 512-byte sectors starting at @sector into @buf.
 * @sector:   first sector
 * @buf:      destination, any kernel memory (the device writes a DMA bounce buffer that is copied here)
 * @nsectors: sectors to read (0 reads nothing)
 *
 * Every request gets its header, status byte and data buffer from mem_alloc(MEM_VALID_DMA) near the
 * calling hart, and frees them when the device is done; requests above VIRTIO_BLK_MAX_REQ bytes are split.
 * Completion is polled (bounded by VIRTIO_BLK_TIMEOUT_MS per request).
 *
 * Context: any hart after virtio_blk_probe(); takes the driver's lock (one request in flight at a time).
 * Return: 0; ERR_NODEV (no device); ERR_INVAL (@buf NULL); ERR_RANGE (beyond the capacity, or memory that is
 * not DMA-reachable); ERR_NOMEM; ERR_IO (non-zero status byte, a device that went bad, or a device
 * reset after an earlier timeout); ERR_TIMEOUT (no completion in time: the device is then reset and
 * every later request fails with ERR_IO). @buf is partly written when a split request fails midway.
 */
error_t virtio_blk_read(uint64_t sector, void *buf, unsigned nsectors);

/**
 * virtio_blk_write() - write @nsectors 512-byte sectors from @buf starting at @sector.
 * @sector:   first sector
 * @buf:      source, any kernel memory (copied into a DMA bounce buffer)
 * @nsectors: sectors to write (0 writes nothing)
 *
 * Context: as virtio_blk_read().
 * Return: as virtio_blk_read(); also ERR_IO for a read-only disk.
 */
error_t virtio_blk_write(uint64_t sector, const void *buf, unsigned nsectors);

/**
 * virtio_blk_dma_ranges() - call @fn(addr, len, @arg) for each distinct memory range ever handed to the
 * device: the rings, and every request's header, data and status buffers (the log keeps the first
 * VIRTIO_BLK_DMA_LOG distinct ranges; virtio_blk_get_info() counts the rest and keeps the hull of all).
 * @fn:  called once per range
 * @arg: passed to @fn
 *
 * Context: any hart; takes the driver's lock, so @fn must not call the driver.
 */
void virtio_blk_dma_ranges(void (*fn)(uintptr_t addr, size_t len, void *arg), void *arg);

/**
 * virtio_blk_get_info() - a snapshot of the device's description and counters.
 * @info: the snapshot (zeroed without a device).
 *
 * Context: any hart; takes the driver's lock.
 */
void virtio_blk_get_info(struct virtio_blk_info *info);

#define VIRTIO_BLK_MAX_REQ	(64u << 10)	/* bytes per device request (larger reads/writes are split) */
#define VIRTIO_BLK_TIMEOUT_MS	5000u		/* per device request */
#define VIRTIO_BLK_DMA_LOG	512		/* distinct ranges virtio_blk_dma_ranges() can report */

#endif
