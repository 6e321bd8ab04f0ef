#!/usr/bin/env python3
"""console_check.py - replay a console session (tests/console/session.txt) on a small machine and check it.

    console_check.py [SESSION] [--log FILE] [--kernel ELF] [--timeout S]

SESSION lists console commands, one a line; a "#> regex" line under a command is a line that command's
output must contain (Python re.search on each line); {{name}} in a pattern stands for what an earlier
(?P<name>...) group matched (an address printed by alloc, say). Other '#' lines are comments. The commands
go to `tools/run.py run` through its stdin, so they reach the prompt one by one; the run must end with exit
status 0, no panic, and one prompt per command with the commands echoed in order.
Prints one PASS/FAIL line (as the matrix does) and exits 0 or 1.
"""
import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SESSION = ROOT / "tests/console/session.txt"
LOG = ROOT / "build/test-logs/console.log"
NUMA = "128M:1 128M:1"
DIST = "0-1:20"
BOOTARGS = "cma=default:1M@1"
PROMPT = "proxima> "
LINE_MAX = 127          # kernel/console_line.h: CONSOLE_LINE_MAX - 1 characters
TIMEOUT = 240


def parse_session(text):
    """[(command, [pattern, ...]), ...] from a session file's text."""
    steps = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("#>"):
            if not steps:
                raise ValueError(f"line {n}: an expectation before any command")
            steps[-1][1].append(line[2:].strip())
        elif line.strip() and not line.lstrip().startswith("#"):
            steps.append((line.strip(), []))
    return steps


def segments(console):
    """What followed each prompt: [(echoed command line, [output lines]), ...]."""
    parts = console.split(PROMPT)[1:]
    out = []
    for p in parts:
        lines = p.split("\n")
        out.append((lines[0].strip(), lines[1:]))
    return out


def check(steps, console, status):
    """The list of failures (empty: the session passed) and the number of checks made."""
    problems, checks, names = [], 0, {}
    if status != 0:
        problems.append(f"run.py exit {status}")
    panics = [ln for ln in console.splitlines() if ln.lstrip().startswith("panic:")]
    if panics:
        problems.append(panics[0].strip())
    segs = segments(console)
    if len(segs) < len(steps):
        problems.append(f"{len(segs)} prompts for {len(steps)} commands")
    for i, (cmd, pats) in enumerate(steps):
        if i >= len(segs):
            break
        echoed, lines = segs[i]
        if echoed != cmd and not (len(cmd) > LINE_MAX and echoed == cmd[:LINE_MAX]):   # too long: echo stops
            problems.append(f"command {i + 1}: echoed '{echoed}', sent '{cmd}'")
            continue
        for pat in pats:
            checks += 1
            pat = re.sub(r"\{\{(\w+)\}\}", lambda m: re.escape(names.get(m.group(1), "<unset " + m.group(1) + ">")),
                         pat)
            rx = re.compile(pat)
            hit = next((m for m in map(rx.search, lines) if m), None)
            if not hit:
                problems.append(f"'{cmd}': no line matches /{pat}/")
                continue
            names.update({k: v for k, v in hit.groupdict().items() if v is not None})
    return problems, checks


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("session", nargs="?", default=str(SESSION))
    ap.add_argument("--log", default=str(LOG), help="the console (default build/test-logs/console.log)")
    ap.add_argument("--kernel", default=str(ROOT / "build/kernel.elf"))
    ap.add_argument("--timeout", type=float, default=TIMEOUT)
    args = ap.parse_args(argv)
    text = Path(args.session).read_text()
    try:
        steps = parse_session(text)
    except ValueError as e:
        ap.error(f"{args.session}: {e}")
    Path(args.log).parent.mkdir(parents=True, exist_ok=True)
    script = "".join(cmd + "\n" for cmd, _ in steps)
    cmd = [sys.executable, str(ROOT / "tools/run.py"), "run", "--numa", NUMA, "--dist", DIST, "--bootargs", BOOTARGS,
           "--kernel", args.kernel, "--timeout", str(args.timeout), "--log", args.log]
    r = subprocess.run(cmd, input=script.encode(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       cwd=ROOT)
    console = Path(args.log).read_text(errors="backslashreplace") if Path(args.log).exists() else ""
    problems, checks = check(steps, console, r.returncode)
    name = Path(args.session).stem
    if problems:
        print(f"FAIL console {name}: {len(steps)} commands, {checks} checks (console in {args.log})")
        for p in problems:
            print(f"    {p}")
        return 1
    print(f"PASS console {name}: {len(steps)} commands, {checks} checks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
