#!/usr/bin/env python3
"""fake_qemu.py - a stand-in for qemu-system-riscv64 in tests of tools/run.py (PROXIMA_QEMU points here).

FAKE_QEMU_MODE picks the behaviour; FAKE_QEMU_ARGV, when set, is a file that receives the arguments, one a
line. The console text comes from the harts in -smp and the -append bootargs, like a real kernel's would.
    pass      smp line, a KTAP log with all cases passing, "N passed, 0 failed", exit 0
    fail      as pass with one failing case, exit 1
    panic     smp line, then "panic: hart 0: ...", exit 3
    hang      smp line, then sleeps forever (for timeouts)
    harts     smp line with one hart missing, KTAP passing, exit 0
    nosummary KTAP without the summary line, exit 0
    badktap   a result numbered out of order, summary, exit 0
    exit:N    no output, exit N
    bench     two bench: lines among other console lines, exit 0
    --version answers "QEMU emulator version $FAKE_QEMU_VERSION (fake)" (default 10.0.2) in every mode
    console   a prompt ("proxima> "); echoes each line read from stdin and answers "ran: <line>"; exits 0
              at "halt" or ^D (saying "halt" or "eot"), 5 at EOF of stdin (the runner must not close it)
"""
import os
import sys
import time

KTAP = """KTAP version 1
1..2
    KTAP version 1
    # Subtest: alpha
    1..2
    ok 1 alpha_one
    {second}
    # alpha: pass:1 fail:0 skip:0 total:2
{alpha} 1 alpha
    KTAP version 1
    # Subtest: beta
    1..1
    ok 1 beta_one
ok 2 beta
"""


def console(out):
    line = b""
    out.write("proxima> ")
    out.flush()
    while True:
        c = os.read(0, 1)
        if not c:
            out.write("\r\nstdin closed\r\n")
            return 5
        if c == b"\x04" and not line:
            out.write("eot\r\n")
            return 0
        if c != b"\n":
            line += c
            continue
        text = line.decode()
        line = b""
        out.write(f"{text}\r\nran: {text}\r\n")
        if text == "halt":
            out.write("halt\r\n")
            return 0
        out.write("proxima> ")
        out.flush()


def main():
    args = sys.argv[1:]
    if args == ["--version"]:
        print(f"QEMU emulator version {os.environ.get('FAKE_QEMU_VERSION', '10.0.2')} (fake)")
        return 0
    if os.environ.get("FAKE_QEMU_ARGV"):
        with open(os.environ["FAKE_QEMU_ARGV"], "w") as f:
            f.write("\n".join(args) + "\n")
    mode = os.environ.get("FAKE_QEMU_MODE", "pass")
    if mode.startswith("exit:"):
        return int(mode[5:])
    harts = int(args[args.index("-smp") + 1]) if "-smp" in args else 1
    bootargs = args[args.index("-append") + 1] if "-append" in args else ""
    out = sys.stdout
    out.write("OpenSBI v1.1 (fake)\r\n")
    out.write(f"bootargs: {bootargs}\r\n")
    up = harts - 1 if mode == "harts" else harts
    out.write(f"smp: harts up={up} expected={harts}\r\n")
    if mode == "harts":
        out.write(f"smp: hart {harts - 1} never arrived (HSM status 1)\r\n")
    out.flush()
    if mode == "hang":
        while True:
            time.sleep(1)
    if mode == "panic":
        out.write("panic: hart 0: heap_free: double free\r\n")
        return 3
    if mode == "console":
        return console(out)
    if mode == "bench":
        out.write("bench: name=alloc_local ns=120 ops=1000\r\nnoise\r\nbench: name=alloc_remote ns=300\r\n")
        return 0
    failing = mode == "fail"
    ktap = KTAP.format(second="not ok 2 alpha_two" if failing else "ok 2 alpha_two",
                       alpha="not ok" if failing else "ok")
    if mode == "badktap":
        ktap = ktap.replace("ok 1 beta_one", "ok 2 beta_one")
    out.write(ktap.replace("\n", "\r\n"))
    if mode != "nosummary":
        out.write(f"{2 if failing else 3} passed, {1 if failing else 0} failed\r\n")
    out.flush()
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
