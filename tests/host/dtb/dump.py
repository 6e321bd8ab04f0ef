#!/usr/bin/env python3
# dump.py - regenerate the DTBs in this folder: boot QEMU virt + OpenSBI with a one-instruction kernel and save
# the device tree the kernel receives in a1 (after OpenSBI's fixups), not QEMU's raw -M dumpdtb output.
#
# usage (from the repo root): python3 tests/host/dtb/dump.py [name ...]     (default: all)
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FW = os.path.join(HERE, '..', '..', '..', 'build', 'fw_dynamic.bin')


def numa(sizes, cpus, mem_mb_total, dist=()):
    """-numa options: node i gets cpus[i] ('0-1') and sizes[i] MiB (None: memoryless)."""
    a = ['-m', '%dM' % mem_mb_total]
    for i, sz in enumerate(sizes):
        if sz is not None:
            a += ['-object', 'memory-backend-ram,id=m%d,size=%dM' % (i, sz)]
    for i, sz in enumerate(sizes):
        a += ['-numa', 'node,nodeid=%d,cpus=%s' % (i, cpus[i]) + (',memdev=m%d' % i if sz is not None else '')]
    for s, d, v in dist:
        a += ['-numa', 'dist,src=%d,dst=%d,val=%d' % (s, d, v)]
    return a


# QEMU 7.2 aborts with the default PLIC and more than 2 NUMA sockets ("unnamed-gpio-out[N] not found"),
# so the 4-node machines use aia=aplic.
CONFIGS = {
    'plain': ['-M', 'virt', '-m', '256M', '-smp', '1'],
    'numa2': ['-M', 'virt', '-smp', '4'] + numa([256, 256], ['0-1', '2-3'], 512),
    'numa4': ['-M', 'virt,aia=aplic', '-smp', '8', '-append', 'test=dt mesh=2x2 console=uart'] +
             numa([512, 256, 128, 128], ['0-1', '2-3', '4-5', '6-7'], 1024,
                  [(0, 1, 20), (0, 2, 30), (0, 3, 40), (1, 2, 20), (1, 3, 30), (2, 3, 20)]),
    'memless': ['-M', 'virt,aia=aplic', '-smp', '8'] +
               numa([256, 256, 256, None], ['0-1', '2-3', '4-5', '6-7'], 768),
    'high': ['-M', 'virt', '-smp', '4'] + numa([2048, 2048], ['0-1', '2-3'], 4096),
    'big128': ['-M', 'virt,aia=aplic', '-smp', '128'] +
              numa([512] * 4, ['0-31', '32-63', '64-95', '96-127'], 2048),
}


def dump(name, args):
    d = tempfile.mkdtemp()
    kernel = os.path.join(d, 'k.bin')
    with open(kernel, 'wb') as f:
        f.write(b'\x6f\x00\x00\x00')  # j .
    serial, mon = os.path.join(d, 'serial.txt'), os.path.join(d, 'mon')
    p = subprocess.Popen(['qemu-system-riscv64', '-nographic', '-serial', 'file:' + serial,
                          '-monitor', 'unix:%s,server,nowait' % mon, '-bios', FW, '-kernel', kernel] + args)
    try:
        fdt = None
        for _ in range(60):
            time.sleep(0.5)
            m = re.search(r'Next Arg1\s*:\s*(0x[0-9a-f]+)', open(serial, errors='replace').read())
            if m:
                fdt = int(m.group(1), 16)
                break
        if fdt is None:
            sys.exit('%s: OpenSBI did not print "Next Arg1" (see %s)' % (name, serial))
        time.sleep(1)  # the kernel spins; OpenSBI is done with the tree
        raw = os.path.join(d, 'raw.bin')
        s = socket.socket(socket.AF_UNIX)
        s.connect(mon)
        s.sendall(b'pmemsave 0x%x 262144 "%s"\n' % (fdt, raw.encode()))
        for _ in range(40):
            time.sleep(0.25)
            if os.path.exists(raw) and os.path.getsize(raw) == 262144:
                break
        s.sendall(b'quit\n')
        p.wait(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
    b = open(raw, 'rb').read()
    shutil.rmtree(d)
    magic, total = struct.unpack('>II', b[:8])
    if magic != 0xd00dfeed:
        sys.exit('%s: no DTB at 0x%x' % (name, fdt))
    out = os.path.join(HERE, name + '.dtb')
    with open(out, 'wb') as f:
        f.write(b[:total])
    print('%s: %d bytes (from 0x%x)' % (out, total, fdt))


if __name__ == '__main__':
    for n in sys.argv[1:] or CONFIGS:
        dump(n, CONFIGS[n])
