#!/usr/bin/env python3
"""run.py - the QEMU runner: boot one topology, the test matrix, the benchmarks, or dump a topology's DTB.

    run.py run     [--numa SPEC] [--dist SPEC] [--bootargs ARGS] [--icount 0|1] [--timeout S] [--gdb]
                   [--disk FILE] [--extra "QEMU ARGS"] [--log FILE] [--kernel ELF]
    run.py matrix  [--only NAME[,NAME]] [--list] [--timeout-scale F] [-v] [--kernel ELF] [--log-dir DIR]
    run.py bench   [--timeout S] [--kernel ELF] [--out-dir DIR]
    run.py dumpdtb [--numa SPEC] [--dist SPEC] [--bootargs ARGS] [--extra ARGS] -o FILE

The kernel powers off through QEMU's sifive_test device, so QEMU's exit status is the kernel's verdict
(0 = clean) and becomes run.py's; a boot that outlives its timeout is killed and reported as exit 124.
A spec QEMU cannot run is refused with exit 2 before QEMU starts (see tools/topologies.py).

Which QEMU: qemu-system-riscv64 on the PATH (QEMU 10.0 from bookworm-backports, installed by setup), or
--qemu 7.2 for Debian 12's own QEMU 7.2 that setup unpacks into build/qemu-7.2, or --qemu BINARY. The runner
reads the version (--version) and applies only the workarounds that version needs (QEMU_NEEDS below).
"""
import argparse
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ktap_summary  # noqa: E402
import mkdisk  # noqa: E402
import topologies as topo  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
KERNEL = ROOT / "build/kernel.elf"
FIRMWARE = Path(os.environ.get("PROXIMA_FIRMWARE", ROOT / "build/fw_dynamic.bin"))   # tests: a stand-in
TEST_LOGS = ROOT / "build/test-logs"
BENCH_DIR = ROOT / "build/bench"
BENCH_REPORT = ROOT / "tools/bench_report.py"
KUNIT = Path(os.environ.get("PROXIMA_KUNIT", ROOT / "build/kunit/kunit.py"))
QEMU = os.environ.get("PROXIMA_QEMU", "qemu-system-riscv64")   # tests point this at a fake
QEMU_72 = os.environ.get("PROXIMA_QEMU_72", str(ROOT / "build/qemu-7.2/usr/bin/qemu-system-riscv64"))

RUN_TIMEOUT = 120        # seconds for `run` (0 = none; --gdb and a terminal's console have none unless given)
BENCH_TIMEOUT = 900      # seconds for each bench boot (icount runs every hart on one host thread)
DUMPDTB_TIMEOUT = 60     # seconds: QEMU exits right after building the machine
KUNIT_TIMEOUT = 120      # seconds for kunit.py parse
KILL_GRACE = 5           # seconds between SIGTERM and SIGKILL for a QEMU that outlived its timeout
EXIT_TIMEOUT = 124
EXIT_NO_QEMU = 127

GDB = "riscv64-unknown-elf-gdb"
# (log name, -icount, bootargs, NUMA, DIST): NUMA "" is the default machine. mttcg-1cluster measures one
# cluster with 16 and 32 harts behind one heap lock.
BENCH_BOOTS = (("icount", True, "bench=all", "", ""), ("mttcg", False, "bench=contention", "", ""),
               ("mttcg-1cluster", False, "bench=contention", "512M:32", ""),
               ("mesh", True, "bench=mesh mesh=16x16", "128M:4 128M:4 128M:4 128M:4", topo.DEFAULT_DIST),
               ("mesh8", True, "bench=placement mesh=8x8", "256M:8 256M:8 256M:8 256M:8", topo.DEFAULT_DIST))

PROMPT = b"proxima> "     # kernel/console.h CONSOLE_PROMPT: the console waits for a line
EOT = b"\x04"             # ^D on an empty line: the console powers off as with `halt`

_SMP_RE = re.compile(r"smp: harts up=(\d+) expected=(\d+)")
_SUMMARY_RE = re.compile(r"^\s*(?:\w+:\s*)?(\d+) passed, (\d+) failed\b", re.MULTILINE)


def rel(path):
    """A path relative to the current directory when it lies below it, else absolute (for command lines)."""
    r = os.path.relpath(os.path.abspath(path))
    return os.path.abspath(path) if r.startswith("..") else r


def say(msg, file=None):
    print(f"run: {msg}", file=file or sys.stdout, flush=True)


# -- which QEMU, and what its version needs ------------------------------------------------------------

# What a QEMU older than a version needs from the runner: (the first version without the need, the need).
# QEMU 7.2's -icount leaves a hart in START_PENDING; that one is the kernel's to handle (kernel/smp.c kicks
# the hart with IPIs), so the runner has nothing to do for it.
QEMU_NEEDS = (((8, 0), "aplic"),)   # 7.2's PLIC aborts for some layouts (topologies.Machine.needs_aplic)

_VERSION_RE = re.compile(r"QEMU emulator version (\d+)\.(\d+)(?:\.(\d+))?")
_versions = {}


def qemu_binary(choice=None):
    """The QEMU binary for a --qemu choice: None or "" = the default, "7.2" = build/qemu-7.2's, else a path."""
    if not choice:
        return QEMU
    return QEMU_72 if choice == "7.2" else choice


def qemu_version(binary):
    """(first line of --version, (major, minor, micro) or None), cached per binary; ("", None) when it
    cannot run."""
    if binary not in _versions:
        try:
            out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30,
                                 stdin=subprocess.DEVNULL).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        first = out.splitlines()[0] if out.splitlines() else ""
        m = _VERSION_RE.search(first)
        _versions[binary] = (first, tuple(int(g or 0) for g in m.groups()) if m else None)
    return _versions[binary]


def qemu_needs(version):
    """The workarounds QEMU version (a tuple, None = unknown) needs; an unknown version gets all of them."""
    return {need for fixed, need in QEMU_NEEDS if version is None or version < fixed}


# -- QEMU command lines --------------------------------------------------------------------------------

def qemu_command(m, kernel=KERNEL, bootargs="", icount=False, gdb=False, disk=None, extra="", dumpdtb=None,
                 qemu=None, legacy=False):
    """The full QEMU command line (a list) that boots kernel on machine m.

    dumpdtb: write the device tree to this file and exit instead of booting (-bios and -kernel are then
    only passed when the files exist; the caller supplies a stand-in kernel for bootargs without one).
    legacy: attach the disk on the legacy virtio-mmio transport (version 1) instead of the modern one.
    qemu: the binary (default: QEMU); its version decides the workarounds (qemu_needs).
    """
    qemu = qemu or QEMU
    margs = topo.qemu_machine_args(m, dumpdtb=dumpdtb, plic_bug="aplic" in qemu_needs(qemu_version(qemu)[1]))
    cmd = [qemu, *margs[:2]]
    if not dumpdtb or FIRMWARE.exists():
        cmd += ["-bios", rel(FIRMWARE)]
    if not dumpdtb or Path(kernel).exists():
        cmd += ["-kernel", rel(kernel)]
    cmd += ["-nographic", *margs[2:]]
    if bootargs.strip():
        cmd += ["-append", bootargs.strip()]
    if icount:
        cmd += ["-icount", "shift=0,sleep=off"]
    if gdb:
        cmd += ["-s", "-S"]
    if disk:
        cmd += ["-global", f"virtio-mmio.force-legacy={'true' if legacy else 'false'}",
                "-drive", f"file={disk},if=none,format=raw,id=hd0", "-device", "virtio-blk-device,drive=hd0"]
    cmd += shlex.split(extra or "")
    return cmd


# -- running QEMU --------------------------------------------------------------------------------------

@dataclass
class Boot:
    """What one QEMU run produced."""
    status: int = None           # exit status (128+N for a signal), None if QEMU could not start
    timed_out: bool = False
    elapsed: float = 0.0
    output: str = ""
    error: str = ""              # why QEMU could not start


class _Terminated(Exception):
    """run.py itself got SIGTERM/SIGHUP: stop QEMU, then leave."""


def _on_signal(signum, frame):
    raise _Terminated(signum)


def _stop(proc):
    """SIGTERM, then SIGKILL after KILL_GRACE: QEMU restores the terminal on SIGTERM."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(KILL_GRACE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class _LineEnds:
    """Turns the console's line ends (CR LF, or CR CR LF when both the kernel and OpenSBI add a CR) into LF
    for the logs, across read boundaries: kunit.py reads CR CR LF as two lines."""

    def __init__(self):
        self.held = b""          # CRs at the end of the last chunk: dropped if an LF follows

    def __call__(self, data):
        data = self.held + data
        stripped = data.rstrip(b"\r")
        self.held = data[len(stripped):]
        return re.sub(rb"\r+\n", b"\n", stripped)

    def flush(self):
        held, self.held = self.held, b""
        return held


class _Prompt:
    """Watches the console bytes for the kernel's prompt at their end (across read boundaries)."""

    def __init__(self):
        self.tail = b""
        self.seen = threading.Event()    # set when the console stops at a prompt; the feeder clears it

    def __call__(self, data):
        self.tail = (self.tail + data)[-len(PROMPT):]
        if self.tail == PROMPT:
            self.seen.set()


def _feed(proc, script, prompt):
    """Send script's lines to QEMU's stdin one at a time, each once the console shows its prompt, then ^D.

    Waiting for the prompt keeps the lines in order and whole: the UART's receive FIFO is cleared when the
    kernel sets it up, and a command's output is not mixed with the next line's echo. QEMU's stdin stays
    open until QEMU exits: QEMU's stdio backend would stop reading at EOF, before the console has read
    everything. A kernel that never prompts (bootargs test or bench=) just never gets the script.
    """
    def wait_prompt():
        while not prompt.seen.wait(0.2):
            if proc.poll() is not None:
                return False
        prompt.seen.clear()
        return True

    try:
        for line in iter(script.readline, b""):
            if not wait_prompt():
                return
            proc.stdin.write(line.rstrip(b"\r\n") + b"\n")
            proc.stdin.flush()
        if wait_prompt():
            proc.stdin.write(EOT)
            proc.stdin.flush()
    except (OSError, ValueError):
        pass                             # QEMU exited (broken pipe) or the script closed


def boot(cmd, timeout, log=None, echo=None, interactive=False, header="", script=None):
    """Run cmd with its console (stdout and stderr) captured, tee'd to log and passed to echo(bytes).

    timeout: seconds, 0 or None for none. interactive: QEMU reads the terminal (else stdin is /dev/null).
    script: a binary file whose lines go to the kernel's console prompt one by one (see _feed), then ^D.
    header: text written to the log before the console. The log and the returned output have LF line ends;
    echo gets the console's bytes as they are.
    """
    result = Boot()
    chunks = []
    ends = _LineEnds()
    prompt = _Prompt()
    logf = open(log, "wb") if log else None
    if logf and header:
        logf.write(header.encode())
    start = time.monotonic()
    old = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    stdin=subprocess.PIPE if script else None if interactive else
                                    subprocess.DEVNULL)
        except OSError as e:
            result.error = f"cannot start {cmd[0]}: {e.strerror}"
            return result
        if script:
            threading.Thread(target=_feed, args=(proc, script, prompt), daemon=True).start()

        def pump():
            fd = proc.stdout.fileno()
            while True:
                data = os.read(fd, 65536)
                if not data:
                    break
                if echo:
                    echo(data)
                if script:
                    prompt(data)
                data = ends(data)
                chunks.append(data)
                if logf:
                    logf.write(data)
                    logf.flush()
            chunks.append(ends.flush())
            if logf:
                logf.write(chunks[-1])

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            proc.wait(timeout or None)
        except subprocess.TimeoutExpired:
            result.timed_out = True
            _stop(proc)
        except (KeyboardInterrupt, _Terminated):
            _stop(proc)
            raise
        reader.join(KILL_GRACE)
        proc.stdout.close()
        if script:
            try:
                proc.stdin.close()
            except OSError:
                pass
        rc = proc.returncode
        result.status = 128 - rc if rc < 0 else rc
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        if logf:
            logf.close()
        result.elapsed = time.monotonic() - start
        result.output = b"".join(chunks).decode("utf-8", errors="backslashreplace")
    return result


def _echo_raw(data):
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


class _LineFilter:
    """An echo that prints only the console lines starting with the given words (e.g. "bench:")."""

    def __init__(self, *words):
        self.words = words
        self.partial = b""

    def __call__(self, data):
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            text = line.decode("utf-8", errors="backslashreplace").strip()
            if text.startswith(self.words):
                print(text, flush=True)


# -- argument handling ---------------------------------------------------------------------------------

def _flag(text, what):
    t = (text or "").strip().lower()
    if t in ("", "0", "no", "n", "off", "false"):
        return False
    if t in ("1", "yes", "y", "on", "true"):
        return True
    raise topo.SpecError(f"{what} '{text}': want 1 or 0 (or empty)")


def _machine_or_exit(parser, numa, dist):
    try:
        return topo.machine(numa or "", dist or "")
    except topo.SpecError as e:
        parser.error(str(e))


def _with_mesh(args, m):
    """The bootargs with --mesh/--hop in front (mesh=XxY hop=N), checked against the machine's nodes."""
    words = topo.mesh_bootargs(args.mesh, args.hop, len(m.nodes))
    return " ".join(w for w in (words, args.bootargs.strip()) if w)


def _need_files(parser, kernel):
    if not FIRMWARE.exists():
        parser.error(f"{rel(FIRMWARE)} missing: run tools/setup.sh (make setup)")
    if not Path(kernel).exists():
        parser.error(f"{rel(kernel)} missing: run make")


def _exit_of(b, timeout):
    """Report a finished boot and return run.py's exit status for it."""
    if b.error:
        say(b.error, sys.stderr)
        return EXIT_NO_QEMU
    if b.timed_out:
        say(f"timeout after {timeout:g} s", sys.stderr)
        return EXIT_TIMEOUT
    if b.status:
        say(f"exit {b.status} ({b.elapsed:.1f} s)", sys.stderr)
    return b.status


# -- run -----------------------------------------------------------------------------------------------

def cmd_run(args, parser):
    m = _machine_or_exit(parser, args.numa, args.dist)
    try:
        icount = _flag(args.icount, "--icount")
        args.bootargs = _with_mesh(args, m)
    except topo.SpecError as e:
        parser.error(str(e))
    if args.disk and not Path(args.disk).is_file():
        parser.error(f"--disk {args.disk}: no such file")
    if args.timeout is not None and args.timeout < 0:
        parser.error("--timeout must be >= 0")
    _need_files(parser, args.kernel)
    interactive, script = _stdin_kind()
    # someone at the console prompt, or at gdb, is not held to a timeout unless they ask for one
    timeout = args.timeout if args.timeout is not None else (0 if args.gdb or interactive else RUN_TIMEOUT)
    cmd = qemu_command(m, args.kernel, args.bootargs, icount, args.gdb, args.disk, args.extra,
                       qemu=qemu_binary(args.qemu))
    say(shlex.join(cmd))
    if args.gdb:
        gdb = GDB if shutil.which(GDB) or not shutil.which("gdb-multiarch") else "gdb-multiarch"
        say(f"QEMU waits for a debugger on :1234; attach with: {gdb} {rel(args.kernel)} "
            f"-ex 'target remote :1234'")
    if args.log:
        Path(args.log).parent.mkdir(parents=True, exist_ok=True)
    b = boot(cmd, timeout, log=args.log, echo=_echo_raw, interactive=interactive, script=script)
    return _exit_of(b, timeout)


def _stdin_kind():
    """(interactive, script): a terminal is QEMU's own stdin (Ctrl-A X quits); anything else (a pipe, a
    file, /dev/null) is a script of console lines fed at the prompt, ended by ^D (= halt)."""
    try:
        if sys.stdin is None or sys.stdin.isatty():
            return sys.stdin is not None, None
        os.fstat(sys.stdin.fileno())
    except (OSError, ValueError):
        return False, None
    return False, sys.stdin.buffer


# -- dumpdtb -------------------------------------------------------------------------------------------

def cmd_dumpdtb(args, parser):
    m = _machine_or_exit(parser, args.numa, args.dist)
    try:
        args.bootargs = _with_mesh(args, m)
    except topo.SpecError as e:
        parser.error(str(e))
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    kernel = args.kernel
    with tempfile.TemporaryDirectory(prefix="proxima-dtb-") as tmp:
        if args.bootargs.strip() and not Path(kernel).exists():
            # QEMU takes -append only with -kernel; the DTB does not depend on what the kernel is
            kernel = Path(tmp) / "stand-in-kernel.bin"
            kernel.write_bytes(bytes.fromhex("13000000"))      # one nop: never run
        cmd = qemu_command(m, kernel, args.bootargs, dumpdtb=rel(out), extra=args.extra,
                           qemu=qemu_binary(args.qemu))
        say(shlex.join(cmd))
        b = boot(cmd, DUMPDTB_TIMEOUT)
    status = _exit_of(b, DUMPDTB_TIMEOUT)
    if status:
        sys.stderr.write(b.output)
    elif not out.exists():
        say(f"QEMU wrote no {rel(out)}", sys.stderr)
        status = 1
    else:
        say(f"device tree written to {rel(out)}")
    return status


# -- matrix --------------------------------------------------------------------------------------------

@dataclass
class Verdict:
    """How one matrix boot went."""
    passed: bool = False
    harts_up: str = "?"
    cases_passed: int = 0
    cases_failed: int = 0
    reasons: list = field(default_factory=list)


def judge(b, m, log):
    """Apply the matrix's pass rule to a finished boot of machine m whose console is in file log.

    Passes only with: exit 0, a "N passed, 0 failed" line, smp harts up == expected == m.harts, no
    "panic:" line, KTAP that parses (our validator, and kunit.py when present) and agrees with the summary.
    """
    v = Verdict()
    out = b.output
    if b.error:
        v.reasons.append(b.error)
        return v
    if b.timed_out:
        v.reasons.append("timeout")
    panics = [ln.strip() for ln in out.splitlines() if ln.lstrip().startswith("panic:")]
    if panics:
        v.reasons.append(panics[0])
    if b.status and not b.timed_out:
        v.reasons.append(f"exit {b.status}")
    smp = _SMP_RE.findall(out)
    if smp:
        up, expected = (int(x) for x in smp[-1])
        v.harts_up = str(up)
        if not up == expected == m.harts:
            extra = f" (kernel expected {expected})" if expected != m.harts else ""
            v.reasons.append(f"harts {up}/{m.harts}{extra}")
    else:
        v.reasons.append("no smp line")
    summary = _SUMMARY_RE.findall(out)
    if summary:
        v.cases_passed, v.cases_failed = (int(x) for x in summary[-1])
        if v.cases_failed:
            v.reasons.append(f"{v.cases_failed} cases failed")
    else:
        v.reasons.append("missing summary line")
    try:
        s = ktap_summary.parse(out)
        if summary and (s.passed, s.failed) != (v.cases_passed, v.cases_failed):
            v.reasons.append(f"summary {v.cases_passed}/{v.cases_failed} but KTAP has {s.passed} passed, "
                             f"{s.failed} failed")
    except ktap_summary.KtapError as e:
        v.reasons.append(f"ktap parse error: {e}")
    if KUNIT.exists() and "KTAP version" in out:
        v.reasons += kunit_check(log)
    v.passed = not v.reasons
    return v


# kunit.py's own parse handler, for a copy that does not live under tools/testing/kunit/ (kunit.py then
# exits 1 without a word: it looks for the kernel tree around itself): same parser, same verdict.
_KUNIT_PARSE = ("import sys; sys.path.insert(0, sys.argv[1]); import kunit_parser as p; "
                "t = p.parse_run_tests(open(sys.argv[2], errors='backslashreplace').read().splitlines()); "
                "sys.exit(0 if t.status == p.TestStatus.SUCCESS else 1)")


def kunit_command(log):
    """The command that runs Linux's kunit.py parser on a log (absolute: kunit.py changes directory)."""
    log = os.path.abspath(log)
    real = os.path.realpath(KUNIT)
    if "tools/testing/kunit" in real:
        return [sys.executable, str(KUNIT), "parse", log]
    return [sys.executable, "-c", _KUNIT_PARSE, os.path.dirname(real), log]


def kunit_check(log):
    """Run Linux's kunit.py parse on a log; its output goes to LOG.kunit. Return failure reasons."""
    try:
        r = subprocess.run(kunit_command(log), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=KUNIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        return ["kunit.py parse timed out"]
    Path(str(log) + ".kunit").write_bytes(r.stdout)
    return [f"kunit.py parse exit {r.returncode} (see {rel(str(log) + '.kunit')})"] if r.returncode else []


def matrix_line(verdict, name, harts, elapsed):
    word = "PASS" if verdict.passed else "FAIL"
    line = (f"{word} {name:<16} {f'harts {verdict.harts_up}/{harts}':<14}"
            f"cases {verdict.cases_passed} passed, {verdict.cases_failed} failed   {elapsed:.1f} s")
    if not verdict.passed:
        line += f"   (reason: {'; '.join(verdict.reasons)})"
    return line


def _select(parser, only):
    names = [n.strip() for n in (only or "").split(",") if n.strip()]
    known = {t.name: t for t in topo.MATRIX}
    for n in names:
        if n not in known:
            parser.error(f"no topology '{n}' in the matrix (have: {', '.join(known)})")
    return [t for t in topo.MATRIX if not names or t.name in names]


# Every matrix boot gets a fresh virtio-blk disk (tools/mkdisk.py) as <log-dir>/<name>.img, on the modern
# virtio-mmio transport except for these topologies, which get the legacy one (both stay covered).
LEGACY_DISK = {"2x2"}


def cmd_matrix(args, parser):
    chosen = _select(parser, args.only)
    if args.timeout_scale <= 0:
        parser.error("--timeout-scale must be > 0")
    if args.list:
        for t in chosen:
            m = topo.machine(t.numa, t.dist)
            print(f"{t.name:<16} qemu {args.qemu or t.qemu or 'default'}{' icount' if t.icount else ''} "
                  f"numa \"{t.numa or topo.DEFAULT_NUMA}\" dist \"{t.dist}\" "
                  f"bootargs \"{' '.join(['test', t.bootargs]).strip()}\" harts {m.harts} "
                  f"timeout {t.timeout * args.timeout_scale:g} s kernel {t.kernel} "
                  f"disk {'legacy' if t.name in LEGACY_DISK else 'modern'}")
        return 0
    if not FIRMWARE.exists():
        parser.error(f"{rel(FIRMWARE)} missing: run tools/setup.sh (make setup)")
    logs = Path(args.log_dir)
    logs.mkdir(parents=True, exist_ok=True)
    say(f"matrix: {len(chosen)} topologies, consoles in {rel(logs)}/")
    for q in dict.fromkeys(qemu_binary(args.qemu or t.qemu) for t in chosen):
        say(f"matrix: {q}: {qemu_version(q)[0] or 'no version (cannot run it?)'}")
    npass = nfail = nskip = cases_passed = cases_failed = 0
    for t in chosen:
        m = topo.machine(t.numa, t.dist)
        kernel = Path(args.kernel) if args.kernel and not t.optional else ROOT / t.kernel
        if not kernel.exists():
            if t.optional:
                print(f"SKIP {t.name:<16} ({t.kernel} not built)", flush=True)
                nskip += 1
                continue
            v = Verdict(reasons=[f"{rel(kernel)} missing"])
            print(matrix_line(v, t.name, m.harts, 0.0), flush=True)
            nfail += 1
            cases_failed += 1
            continue
        timeout = t.timeout * args.timeout_scale
        bootargs = " ".join(["test", t.bootargs, expect_bootargs(m)]).strip()
        log = logs / f"{t.name}.log"
        disk = logs / f"{t.name}.img"
        try:
            mkdisk.write_image(disk, mkdisk.DEFAULT_SECTORS)      # fresh: the virtio suite writes to it
        except OSError as e:
            v = Verdict(reasons=[f"cannot write {rel(disk)}: {e.strerror}"])
            print(matrix_line(v, t.name, m.harts, 0.0), flush=True)
            nfail += 1
            cases_failed += 1
            continue
        qemu = qemu_binary(args.qemu or t.qemu)
        cmd = qemu_command(m, kernel, bootargs, icount=t.icount, disk=rel(disk), legacy=t.name in LEGACY_DISK,
                           qemu=qemu)
        if args.verbose:
            say(shlex.join(cmd))
        b = boot(cmd, timeout, log=log, echo=_echo_raw if args.verbose else None,
                 header=f"run: {qemu_version(qemu)[0] or qemu + ': no version'}\nrun: {shlex.join(cmd)}\n")
        with open(log, "a") as f:
            f.write("\nrun: " + (f"timeout after {timeout:g} s" if b.timed_out else f"exit {b.status}")
                    + f" ({b.elapsed:.1f} s)\n")
        v = judge(b, m, log)
        print(matrix_line(v, t.name, m.harts, b.elapsed), flush=True)
        cases_passed += v.cases_passed
        cases_failed += v.cases_failed
        if v.passed:
            npass += 1
        else:
            nfail += 1
            cases_failed += 0 if v.cases_failed else 1   # a failed boot never reads as "0 failed"
    print(f"matrix: {npass} passed, {nfail} failed" + (f", {nskip} skipped" if nskip else ""))
    print(f"{cases_passed} passed, {cases_failed} failed", flush=True)
    return 1 if nfail else 0


def expect_bootargs(m):
    """Tell the kernel what QEMU was asked for, so its topology suite can compare the device tree to it:
    expect=<mem>:<harts>/... and, when a distance map is passed, expect_dist=i-j:d/... (every pair)."""
    words = ["expect=" + "/".join(f"{topo.format_size(n.mem) if n.mem else 0}:{n.harts}" for n in m.nodes)]
    if m.dist:
        pairs = [f"{i}-{j}:{m.dist[i][j]}" for i in range(len(m.nodes)) for j in range(i + 1, len(m.nodes))]
        if pairs:
            words.append("expect_dist=" + "/".join(pairs))
    return " ".join(words)


# -- bench ---------------------------------------------------------------------------------------------

def cmd_bench(args, parser):
    _need_files(parser, args.kernel)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    status = 0
    for name, icount, bootargs, numa, dist in BENCH_BOOTS:
        m = topo.machine(numa, dist)
        cmd = qemu_command(m, args.kernel, bootargs, icount=icount, qemu=qemu_binary(args.qemu))
        say(shlex.join(cmd))
        log = out / f"{name}.log"
        qver = qemu_version(cmd[0])[0]
        header = (f"run: {shlex.join(cmd)}\n"
                  f"bench: header qemu=\"{qver or '?'}\" host_cores={os.cpu_count()} "
                  f"host_load={os.getloadavg()[0]:.1f}\n"
                  f"bench: header qemu_cmd=\"{shlex.join(cmd)}\"\n")
        b = boot(cmd, args.timeout, log=log, echo=_LineFilter("bench:", "panic:"), header=header)
        s = _exit_of(b, args.timeout)
        if s:
            say(f"bench {name} failed: console in {rel(log)}", sys.stderr)
            status = status or s
    if BENCH_REPORT.exists():
        logs = sorted(str(rel(p)) for p in out.glob("*.log"))
        cmd = [sys.executable, rel(BENCH_REPORT), *logs, "-o", rel(out) + "/"]
        say(shlex.join(cmd))
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL)
        status = status or r.returncode
    else:
        say(f"no {rel(BENCH_REPORT)}: consoles in {rel(out)}/")
    return status


# -- main ----------------------------------------------------------------------------------------------

def build_parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--qemu", default=None, metavar="7.2|BINARY",
                        help="7.2 = Debian 12's QEMU 7.2 unpacked by setup in build/qemu-7.2; or a binary "
                             "(default: qemu-system-riscv64 on the PATH, QEMU 10.0; make's QEMU=)")

    spec = argparse.ArgumentParser(add_help=False)
    spec.add_argument("--numa", default="", metavar="SPEC",
                      help='one <mem>:<harts> per node, e.g. "512M:2 256M:3 0:2" (0 = memoryless, last '
                           'only); empty = 4 x 2 harts, 256M each, 2x2-mesh distances')
    spec.add_argument("--dist", default="", metavar="SPEC",
                      help='symmetric distances, e.g. "0-1:20 0-2:30" (unnamed pairs 20); empty with a '
                           'custom NUMA = no distance map')
    spec.add_argument("--bootargs", default="", metavar="ARGS", help="kernel command line (-append)")
    spec.add_argument("--mesh", default="", metavar="XxY",
                      help="emulate an XxY mesh of clusters over the nodes (bootarg mesh=, up to 16x16)")
    spec.add_argument("--hop", default="", metavar="N", help="with --mesh: the distance a hop adds (1..8)")
    spec.add_argument("--kernel", default=str(rel(KERNEL)), metavar="ELF", help="default build/kernel.elf")
    spec.add_argument("--extra", default="", metavar="ARGS", help="raw extra QEMU arguments")

    p = argparse.ArgumentParser(prog="run.py", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Exit: the kernel's (QEMU's) status; 2 = bad usage or spec; 124 = "
                                       "timeout; 127 = QEMU not found.")
    sub = p.add_subparsers(dest="command", required=True, metavar="{run,matrix,bench,dumpdtb}")

    r = sub.add_parser("run", parents=[common, spec], help="boot one topology")
    r.add_argument("--icount", default="", metavar="0|1", help="1 = deterministic -icount shift=0,sleep=off")
    r.add_argument("--timeout", type=float, default=None, metavar="S",
                   help=f"kill QEMU after S seconds, exit 124 (default {RUN_TIMEOUT}; none with --gdb or when "
                        "stdin is a terminal; 0 = none)")
    r.add_argument("--gdb", action="store_true", help="-s -S: halt at reset, gdb stub on :1234")
    r.add_argument("--disk", metavar="FILE", help="a raw disk image as virtio-blk on virtio-mmio")
    r.add_argument("--log", metavar="FILE", help="tee the console to FILE")

    mx = sub.add_parser("matrix", parents=[common], help="boot every topology of the matrix with 'test'")
    mx.add_argument("--only", default=os.environ.get("MATRIX", ""), metavar="NAME[,NAME]",
                    help="a subset (default: $MATRIX, else all)")
    mx.add_argument("--list", action="store_true", help="list the topologies and exit")
    mx.add_argument("--timeout-scale", type=float, default=float(os.environ.get("TIMEOUT_SCALE") or 1),
                    metavar="F", help="multiply every timeout (default: $TIMEOUT_SCALE, else 1)")
    mx.add_argument("-v", "--verbose", action="store_true", help="echo the consoles and command lines")
    mx.add_argument("--kernel", metavar="ELF", help="boot ELF instead of build/kernel.elf (not debug-build)")
    mx.add_argument("--log-dir", default=str(rel(TEST_LOGS)), metavar="DIR",
                    help="where the consoles go (default build/test-logs)")

    b = sub.add_parser("bench", parents=[common], help="benchmarks: icount boot, then MTTCG contention boot")
    b.add_argument("--timeout", type=float, default=BENCH_TIMEOUT, metavar="S",
                   help=f"per boot (default {BENCH_TIMEOUT})")
    b.add_argument("--kernel", default=str(rel(KERNEL)), metavar="ELF", help="default build/kernel.elf")
    b.add_argument("--out-dir", default=str(rel(BENCH_DIR)), metavar="DIR",
                   help="consoles (icount.log, mttcg.log) and the report (default build/bench)")

    d = sub.add_parser("dumpdtb", parents=[common, spec], help="write the topology's device tree and exit")
    d.add_argument("-o", "--output", required=True, metavar="FILE", help="the .dtb to write")
    return p, {"run": r, "matrix": mx, "bench": b, "dumpdtb": d}


def main(argv=None):
    parser, subs = build_parser()
    args = parser.parse_args(argv)
    handler = {"run": cmd_run, "matrix": cmd_matrix, "bench": cmd_bench, "dumpdtb": cmd_dumpdtb}[args.command]
    try:
        return handler(args, subs[args.command])
    except KeyboardInterrupt:
        say("interrupted", sys.stderr)
        return 130
    except _Terminated as e:
        say(f"terminated by signal {e.args[0]}", sys.stderr)
        return 128 + e.args[0]


if __name__ == "__main__":
    sys.exit(main())
