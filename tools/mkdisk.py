#!/usr/bin/env python3
"""mkdisk.py - write a raw disk image whose every sector says which sector it is (for the virtio-blk suite).

    mkdisk.py OUT [--sectors N]

Sector s (512 bytes) holds s as a little-endian u64 in bytes 0..7, the image's sector count N as a
little-endian u64 in bytes 8..15, and (s * 2654435761 + i) & 0xff in every byte i from 16 to 511. The image
is a pure function of N (default 8192 sectors = 4 MiB). tests/kernel/test_virtio.c checks reads against the
same formula and compares N with the capacity the device reports.
"""
import argparse
import os
import struct
import sys
from pathlib import Path

SECTOR = 512
HEADER = 16
MULT = 2654435761
DEFAULT_SECTORS = 8192
MAX_SECTORS = 1 << 24          # 8 GiB: far beyond what a test wants, and what this writer should make

# (s * MULT + i) & 0xff for i = 16..511 is the sequence 0..255 repeated, rotated by (s * MULT) & 0xff:
# one slice of a precomputed run per sector instead of 496 Python operations
_RUN = bytes(range(256)) * 3


def sector(s, n):
    """The 512 bytes of sector s of an n-sector image."""
    start = (s * MULT + HEADER) & 0xff
    return struct.pack("<QQ", s, n) + _RUN[start:start + SECTOR - HEADER]


def write_image(out, n):
    """Write the n-sector image to out (through a temporary file, so a reader never sees half an image)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as f:
        chunk = []
        for s in range(n):
            chunk.append(sector(s, n))
            if len(chunk) == 2048:
                f.write(b"".join(chunk))
                chunk = []
        f.write(b"".join(chunk))
    os.replace(tmp, out)


def main(argv=None):
    p = argparse.ArgumentParser(prog="mkdisk.py", description=__doc__.split("\n")[0])
    p.add_argument("out", metavar="OUT", help="the image to write (replaced if it exists)")
    p.add_argument("--sectors", type=int, default=DEFAULT_SECTORS, metavar="N",
                   help=f"512-byte sectors (default {DEFAULT_SECTORS} = 4 MiB)")
    args = p.parse_args(argv)
    if not 1 <= args.sectors <= MAX_SECTORS:
        p.error(f"--sectors must be 1..{MAX_SECTORS}")
    try:
        write_image(args.out, args.sectors)
    except OSError as e:
        print(f"mkdisk: {args.out}: {e.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
