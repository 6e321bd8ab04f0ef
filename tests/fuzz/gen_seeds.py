#!/usr/bin/env python3
"""gen_seeds.py - write the committed seed corpus of the libFuzzer targets, deterministically.

    python3 tests/fuzz/gen_seeds.py          # from the repository root; rewrites tests/fuzz/corpus/*/seed-*

The API-sequence targets decode their input as a header and a list of operations (see the comment at the
top of each tests/fuzz/fuzz_<target>.c); the encoders below follow those decoders byte for byte, so a seed
starts the fuzzer on meaningful sequences (a setup that succeeds, allocations that fit, frees of live
blocks, bad frees of every kind) instead of noise. Fixed random.Random seeds keep the output identical
from run to run. The dt corpus is QEMU's real trees (tests/host/dtb/*.dtb); bootargs gets command lines.
"""
import os
import random
import shutil
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def u8(v):
    return struct.pack("<B", v & 0xFF)


def u16(v):
    return struct.pack("<H", v & 0xFFFF)


def u32(v):
    return struct.pack("<I", v & 0xFFFFFFFF)


def u64(v):
    return struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)


def size_arg(rnd, small=0.6, maxlog=20):
    """fin_size(): k&3 = 0 small (u8 + 1), 1 u16, 2 power of two (k >> 2) nudged by (b & 15) - 8, 3 u64."""
    x = rnd.random()
    if x < small:
        return u8(0) + u8(rnd.randrange(256))
    if x < small + 0.2:
        return u8(1) + u16(rnd.randrange(1, 1 << 16))
    if x < 0.97:
        return u8(2 | (rnd.randrange(6, maxlog) << 2)) + u8(rnd.randrange(16))
    return u8(3) + u64(rnd.choice([0, 1 << 41, 0xFFFFFFFFFFFFFFFF, rnd.getrandbits(64)]))


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- buddy_ops: header u32 lo, u32 len, u8 meta_fill, u8 probes, u8 setup; ops kind % 16 ----

def buddy_seed(rnd, lo, length, setup, nops, extra=b"", meta_fill=None, probes=None):
    mf, pr = rnd.randrange(256), rnd.randrange(8)
    out = u32(lo) + u32(length) + u8(mf if meta_fill is None else meta_fill) + \
        u8(pr if probes is None else probes) + u8(setup) + extra
    for _ in range(nops):
        x = rnd.random()
        if x < 0.35:
            out += u8(rnd.randrange(0, 5)) + size_arg(rnd, maxlog=20)
        elif x < 0.45:
            out += u8(rnd.choice([5, 6])) + u8(rnd.choice([0, 6, 7, 8, 12, 16, 17, 20, 41]))
        elif x < 0.75:
            out += u8(rnd.randrange(7, 11)) + u16(rnd.randrange(1 << 16))
        elif x < 0.87:
            out += u8(rnd.choice([11, 12])) + u8(rnd.randrange(8)) + u32(rnd.getrandbits(32))
        elif x < 0.92:
            v = rnd.randrange(256)
            out += u8(13) + u8(v) + (u16(rnd.randrange(1 << 16)) if v & 1 else u32(rnd.getrandbits(32)))
        elif x < 0.97:
            out += u8(14) + u32(rnd.getrandbits(32)) + u32(rnd.getrandbits(32))
        else:
            out += u8(15) + u8(rnd.randrange(8)) + u32(rnd.getrandbits(32))
    return out


def gen_buddy():
    rnd = random.Random(0xB0DD1)
    write("buddy_ops", "seed-whole-span", buddy_seed(rnd, 0x12345, 0x1A0000 + 77, 0, 300))
    sub = u8(2) + b"".join(u32(rnd.getrandbits(32)) for _ in range(6))	# 1 + 2 % 4 = 3 ranges
    write("buddy_ops", "seed-subranges", buddy_seed(rnd, 0x40000 - 3, 0x100000, 1, 250, sub))
    write("buddy_ops", "seed-no-setup-adds", buddy_seed(rnd, 0x7FFF1, 0x90000, 2, 200))
    hole = u32(rnd.getrandbits(32)) + u16(0x400)
    write("buddy_ops", "seed-hole", buddy_seed(rnd, 0xFFFF0, 0x100020, 3, 250, hole))
    write("buddy_ops", "seed-tiny-span", buddy_seed(rnd, 0x10001, 300, 0, 60))
    # buddy_init_zeroed() (probes bit 3) over metadata filled with stale bytes
    write("buddy_ops", "seed-zeroed-meta", buddy_seed(rnd, 0x10040, 0x1C0000, 0, 300, meta_fill=0xa5, probes=8))


# ---- pools_ops: mp setup (u8 v, u8 lo, u8 hi), pp setup (u8 v, u16 lo, u16 hi, u8 slack); ops kind % 20 ----

def pools_seed(rnd, mp_v, pp_v, nops, mp_weight=0.6, resize_bias=0.1):
    out = u8(mp_v) + u8(rnd.randrange(256)) + u8(rnd.randrange(256))
    out += u8(pp_v) + u16(rnd.randrange(4 * 4096)) + u16(rnd.randrange(4 * 4096)) + u8(rnd.randrange(16))
    for _ in range(nops):
        nofill = 0x80 if rnd.random() < 0.4 else 0
        if rnd.random() < mp_weight:
            x = rnd.random()
            if x < 0.35:
                out += u8(rnd.randrange(0, 4) | nofill) + size_arg(rnd, small=0.8, maxlog=16)
            elif x < 0.6:
                out += u8(rnd.randrange(4, 7)) + u16(rnd.randrange(1 << 16))
            elif x < 0.68:
                out += u8(7) + u8(rnd.randrange(8)) + u32(rnd.getrandbits(32))
            elif x < 0.78:
                out += u8(rnd.choice([8, 9]) | nofill) + u16(rnd.randrange(1 << 16)) + size_arg(rnd, 0.7, 16)
            elif x < 0.78 + resize_bias:
                out += u8(10) + u8(rnd.choice([1, 2, 3, 3, 3, 7])) + u8(rnd.randrange(8)) + \
                    u32(rnd.getrandbits(32))
            elif x < 0.95:
                out += u8(11) + u8(rnd.randrange(4)) + u32(rnd.getrandbits(32)) + size_arg(rnd, 0.7, 12)
            else:
                out += u8(12) + u8(rnd.randrange(256)) + u8(rnd.randrange(256)) + u8(rnd.randrange(256))
        else:
            x = rnd.random()
            if x < 0.4:
                out += u8(rnd.randrange(13, 16)) + size_arg(rnd, small=0.2, maxlog=17)
            elif x < 0.75:
                out += u8(rnd.choice([16, 17])) + u8(rnd.randrange(256)) + u8(rnd.randrange(256))
            elif x < 0.9:
                out += u8(18 | (0x80 if rnd.random() < 0.3 else 0)) + u8(rnd.randrange(6)) + \
                    u32(rnd.getrandbits(32))
            else:
                out += u8(19) + u8(rnd.randrange(256)) + u16(rnd.randrange(1 << 16)) + \
                    u16(rnd.randrange(1 << 16)) + u8(rnd.randrange(2)) + u8(rnd.randrange(32))
    return out


def gen_pools():
    rnd = random.Random(0x9001)
    write("pools_ops", "seed-desc-in-range", pools_seed(rnd, 0, 0, 300))
    write("pools_ops", "seed-desc-outside", pools_seed(rnd, 5, 8, 300))
    write("pools_ops", "seed-small-churn", pools_seed(rnd, 2, 3, 600, mp_weight=0.9, resize_bias=0.12))
    write("pools_ops", "seed-pages", pools_seed(rnd, 1, 9, 300, mp_weight=0.2))


# ---- cma_ops: u8 flags, u16 where, u16 pages; ops kind % 12 ----

def align_arg(rnd):
    """align_arg(): v % 5 = 0 none, 1 below a page (u16), 2/3 a power of two from v >> 3, 4 any u32."""
    v = rnd.randrange(256)
    if v % 5 == 1:
        return u8(v) + u16(rnd.randrange(4096))
    if v % 5 == 4:
        return u8(v) + u32(rnd.getrandbits(32))
    return u8(v)


def cma_seed(rnd, flags, where, pages, nops, registry=0.0):
    out = u8(flags) + u16(where) + u16(pages)
    for _ in range(nops):
        x = rnd.random()
        if x < registry:
            # declare: name, base, size; assign: region, device; exclusive; find: one name each
            k, n = rnd.choice([(9, 3), (10 | 16, 2), (10 | 16, 2), (10, 1), (11, 1)])	# bit 4: assign
            out += u8(k) + bytes(rnd.randrange(256) for _ in range(n))
        elif x < 0.45:
            out += u8(rnd.randrange(4)) + size_arg(rnd, small=0.0, maxlog=22) + align_arg(rnd) + \
                u8(rnd.randrange(256))
        elif x < 0.8:
            out += u8(rnd.randrange(4, 7)) + u16(rnd.randrange(1 << 16))
        else:
            out += u8(rnd.choice([7, 8])) + u8(rnd.randrange(6)) + u32(rnd.getrandbits(32))
    return out


def gen_cma():
    rnd = random.Random(0xC3A)
    write("cma_ops", "seed-region", cma_seed(rnd, 0, 0x100, 512, 300))
    write("cma_ops", "seed-registry", cma_seed(rnd, 1, 0x10, 256, 300, registry=0.25))
    write("cma_ops", "seed-top-of-space", cma_seed(rnd, 4, 0, 2047, 250))
    write("cma_ops", "seed-at-zero", cma_seed(rnd, 7, 0, 64, 150, registry=0.1))


# ---- mem_ops: u8 f, u8 g, u8 sz0, u8 sz2, 6 distances, reserved, CMA, faults; ops kind % 10 ----

def mem_seed(rnd, f, g, nops, dists=None, faults=b""):
    out = u8(f) + u8(g) + u8(rnd.randrange(256)) + u8(rnd.randrange(256))
    out += bytes(dists if dists else [rnd.randrange(40) for _ in range(6)])
    for _ in range((g & 3) % 3):
        out += u8(rnd.randrange(2)) + u32(rnd.getrandbits(32)) + u32(rnd.randrange(1 << 16))
    if g & 0x40:
        out += u8(rnd.randrange(48))
    out += faults
    for _ in range(nops):
        x = rnd.random()
        if x < 0.45:
            pv = rnd.randrange(5) | (rnd.randrange(3) << 3)
            vv = rnd.randrange(4) if rnd.random() < 0.9 else rnd.choice([0x0C, 0x1C, 0x2C, 0xF0])
            out += u8(rnd.randrange(4)) + u8(pv) + u8(vv) + size_arg(rnd, small=0.5, maxlog=18)
        elif x < 0.8:
            out += u8(rnd.randrange(4, 7)) + u16(rnd.randrange(1 << 16))
        elif x < 0.9:
            out += u8(7 | (0x80 if rnd.random() < 0.3 else 0)) + u8(rnd.randrange(8)) + u32(rnd.getrandbits(32))
        elif x < 0.95:
            out += u8(8) + u16(rnd.randrange(1 << 16))
        elif rnd.random() < 0.5:
            out += u8(9 | 0x80) + u8(rnd.randrange(4))	# switch hart
        else:
            out += u8(9)	# mem_drain
    return out


def gen_mem():
    rnd = random.Random(0x3E3)
    write("mem_ops", "seed-plain", mem_seed(rnd, 0x00, 0x00, 300, dists=[10, 20, 0, 15, 5, 25]))
    write("mem_ops", "seed-private", mem_seed(rnd, 0x0C, 0x3D, 300))
    write("mem_ops", "seed-dma-cma", mem_seed(rnd, 0x10, 0x41, 300))
    write("mem_ops", "seed-withhold-faults", mem_seed(rnd, 0x43 | 0x20, 0x2E, 300,
                                                      faults=bytes([0xFF, 0xFF, 3, 50])))
    write("mem_ops", "seed-ties", mem_seed(rnd, 0x24, 0x6C, 300, dists=[5] * 6))


# ---- bootargs: u8 str buffer size, u8 table options, the command line ----

BOOTARGS = [
    "test num=0x10K str=hello mesh=2x2 cma=dma0:4M@1:virtio0,gpu0:exclusive",
    "test=off num=18446744073709551615 dma_limit=4G mesh=16X16 cma=default:8M",
    "num=18446744073709551616 num=0x num=12Q test=maybe mesh=0x3 mesh=17x1 cma=fb:16M:gpu0,dsi0:exclusive",
    "str= str=a-rather-long-value-that-does-not-fit-a-small-buffer-at-all nodst=1 nameless short=1",
    "\ttest\n num=1g\r mesh=00004x0004 cma=a.b_c-d:0x1000@15 cma=x:4096:exclusive,y cma=x:4K:y:",
    "unknown-key-with-a-name-longer-than-forty-characters-to-be-shortened=1 = == =x test==1",
    "cma=n:1K cma=n:0 cma=n:4K@16 cma=n:4K:n cma=n:4K:a,a cma=n:4K:a,b,c,d,e cma=abcdefghijklmnop:4K",
    "mesh=1x1 mesh=4x 1x4 x4 mesh=99999x1 dma_limit=0X7fffffffK q=yes",
]


def gen_bootargs():
    for i, line in enumerate(BOOTARGS):
        write("bootargs", "seed-%d" % i, bytes([7 + 9 * i, i * 37 & 0xFF]) + line.encode())


def gen_dt():
    src = os.path.join(ROOT, "tests", "host", "dtb")
    for name in sorted(os.listdir(src)):
        if name.endswith(".dtb"):
            d = os.path.join(CORPUS, "dt")
            os.makedirs(d, exist_ok=True)
            shutil.copyfile(os.path.join(src, name), os.path.join(d, name))


def main():
    for target in ("buddy_ops", "pools_ops", "cma_ops", "mem_ops", "bootargs"):
        d = os.path.join(CORPUS, target)
        if os.path.isdir(d):
            for name in os.listdir(d):
                if name.startswith("seed-"):
                    os.remove(os.path.join(d, name))
    gen_buddy()
    gen_pools()
    gen_cma()
    gen_mem()
    gen_bootargs()
    gen_dt()
    return 0


if __name__ == "__main__":
    sys.exit(main())
