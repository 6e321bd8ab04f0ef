#!/usr/bin/env python3
"""bench_report.py - turn Proxima's benchmark console logs into report.md, gnuplot plots and a goals check.

    python3 tools/bench_report.py LOG [LOG...] [-o DIR]        (DIR defaults to build/bench/)

Reads every line of each console log that holds "bench:" (anything may stand before it: a printk prefix,
another hart's half line; a trailing CR is dropped). Two kinds of bench lines count:
    bench: header key=value ...          free-form facts about the run (qemu=, cmdline=, lock=, harts=...)
    bench: name=<name> key=value ...     one result; values are integers, decimals or words
A header value may hold spaces: words without "=" join the value before them, and "..." quotes work in
both kinds. A result line with a token that is not key=value, an empty value, a repeated key or no name
is ignored (and listed at the end of report.md), and so is a bench line the log ends in without a line
end (a console cut off mid-line); every other console line is ignored silently.

Writes into DIR:
    report.md        logs used and their headers; one table per bench name (every key a column; unknown
                     names too), proxima-vs-newlib ratio tables for trace and contention; the Goals table
                     (MET / NOT MET / NO DATA); the plots, or why one was skipped
    NAME.dat/.gp     gnuplot data and script per plot (regenerate with: cd DIR && gnuplot NAME.gp)
    NAME.png         insn_per_pair, throughput, frag, placement (pngcairo when gnuplot has it, else png)
and prints the goals as plain text. A result line without alloc= counts as alloc=proxima. Where several
lines match one goal, the worst of them is judged. A log is ICOUNT or MTTCG by a header's flags= or else by
its file name; when an ICOUNT log is given, instruction counts (insn_*) from MTTCG logs are shown in the
tables but neither judged nor plotted.

Exit status: 0 = report written; 1 = report written, but a log was unreadable or held no bench result;
2 = bad usage.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "build/bench"
GNUPLOT_TIMEOUT = 60         # seconds per plot
MAX_IGNORED_LISTED = 20      # malformed bench lines quoted in report.md
PROXIMA, NEWLIB = "proxima", "newlib"

# The kernel issue's bench names, in report order; any other name follows in order of first appearance.
KNOWN_NAMES = ("empty_loop", "fast_pair", "buddy_pair", "lock_pair", "trace", "frag", "placement",
               "contention", "boot", "mesh_split", "prox_init", "fallback_full", "fallback_last", "placement_ring")

_BENCH_RE = re.compile(r"(?<![\w-])bench:(.*)$")
_TOKEN_RE = re.compile(r'\s*(?:([A-Za-z_][\w.-]*)=(?:"([^"]*)"|(\S*))|("[^"]*"|\S+))')
_INT_RE = re.compile(r"^[+-]?(?:\d+|0[xX][0-9a-fA-F]+)$")
_FLOAT_RE = re.compile(r"^[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?$")


# -- parsing -------------------------------------------------------------------------------------------

def number(text):
    """The value of an integer or decimal string (int or float), None for a word."""
    if text is None:
        return None
    if _INT_RE.match(text):
        return int(text, 0) if text.lower().lstrip("+-").startswith("0x") else int(text)
    if _FLOAT_RE.match(text):
        return float(text)
    return None


@dataclass
class Result:
    """One "bench: name=..." line: its keys (name excluded) with their values as printed."""
    name: str
    fields: dict
    log: str = ""
    lineno: int = 0

    def get(self, key, default=None):
        return self.fields.get(key, default)

    def num(self, key):
        return number(self.fields.get(key))

    @property
    def alloc(self):
        return self.fields.get("alloc", PROXIMA)


@dataclass
class Header:
    """One "bench: header ..." line: its (key, value) pairs in order."""
    items: list
    log: str = ""
    lineno: int = 0


@dataclass
class Ignored:
    """A bench line that could not be read, and why."""
    text: str
    reason: str
    log: str = ""
    lineno: int = 0


@dataclass
class Log:
    """What one console log held."""
    path: str
    results: list = field(default_factory=list)
    headers: list = field(default_factory=list)
    ignored: list = field(default_factory=list)
    error: str = ""              # why the file could not be read

    @property
    def kind(self):
        """"icount", "mttcg" or "": from a header's flags= (ICOUNT/MTTCG), else from the file name
        (run.py bench writes icount.log and mttcg.log)."""
        for h in self.headers:
            for key, value in h.items:
                if key == "flags":
                    for kind in ("icount", "mttcg"):
                        if kind in value.lower():
                            return kind
        name = Path(self.path).name.lower()
        return next((kind for kind in ("icount", "mttcg") if kind in name), "")


def insn_results(logs):
    """The results whose instruction counts mean something: with an ICOUNT log among them, an MTTCG log's
    counts are dropped (without -icount, instret follows the host clock, not the guest's instructions)."""
    if any(log.kind == "icount" and log.results for log in logs):
        return [r for log in logs if log.kind != "mttcg" for r in log.results]
    return [r for log in logs for r in log.results]


def _tokens(text):
    """(key, value, bare) triples: key=value tokens have bare None; other tokens have key None."""
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            break
        key, quoted, plain, bare = m.groups()
        if key is not None:
            out.append((key, quoted if quoted is not None else plain, None))
        else:
            out.append((None, None, bare.strip('"')))
        pos = m.end()
    return out


def parse_line(line):
    """Read one console line: a Header, a Result, an Ignored (a bench line that does not parse), or None
    for a line that is not a bench line."""
    m = _BENCH_RE.search(line.rstrip("\r\n"))
    if not m:
        return None
    body = m.group(1).rstrip("\r").strip()
    words = body.split(None, 1)
    if words and words[0] == "header":
        items = []
        for key, value, bare in _tokens(words[1] if len(words) > 1 else ""):
            if key is not None:
                items.append([key, value])
            elif items:
                items[-1][1] = f"{items[-1][1]} {bare}".strip()
            else:
                items.append(["text", bare])
        return Header([tuple(i) for i in items])
    if not body:
        return Ignored(body, "empty bench line")
    fields = {}
    for key, value, bare in _tokens(body):
        if key is None:
            return Ignored(body, f"'{bare}' is not key=value")
        if value == "":
            return Ignored(body, f"{key}= has no value")
        if key in fields:
            return Ignored(body, f"{key}= given twice")
        fields[key] = value
    name = fields.pop("name", None)
    if name is None:
        return Ignored(body, "no name=")
    return Result(name, fields)


def parse_text(text, log="", into=None):
    """Parse a whole console log's text into a Log (or into the Log given)."""
    out = into or Log(log)
    lines = text.splitlines()
    cut = bool(text) and not text.endswith(("\n", "\r"))     # the console stopped mid-line
    for lineno, line in enumerate(lines, 1):
        item = parse_line(line)
        if item is None:
            continue
        if cut and lineno == len(lines):
            item = Ignored(_BENCH_RE.search(line).group(1).strip(), "last line of the log has no line end (cut off)")
        item.log, item.lineno = log, lineno
        {Result: out.results, Header: out.headers, Ignored: out.ignored}[type(item)].append(item)
    return out


def read_log(path):
    log = Log(str(path))
    try:
        text = Path(path).read_bytes().decode("utf-8", errors="backslashreplace")
    except OSError as e:
        log.error = e.strerror or str(e)
        return log
    return parse_text(text, str(path), log)


def by_name(results):
    """{name: [results]} with the known names first, in KNOWN_NAMES order, then the others as they came."""
    groups = {}
    for r in results:
        groups.setdefault(r.name, []).append(r)
    order = [n for n in KNOWN_NAMES if n in groups] + [n for n in groups if n not in KNOWN_NAMES]
    return {n: groups[n] for n in order}


# -- formatting ----------------------------------------------------------------------------------------

def fmt(x, digits=2):
    """A computed number for the report: integers as such, others with a few decimals."""
    if x is None:
        return ""
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e15):
        return str(int(x))
    if abs(x) >= 1e6:
        return f"{x:.3g}"
    return f"{x:.{digits}f}"


def ratio(a, b):
    """a / b with two decimals, "" when either is missing or b is 0."""
    return f"{a / b:.2f}" if a is not None and b else ""


def md_cell(text):
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def md_table(header, rows):
    """A Markdown table; numeric-looking columns are right-aligned."""
    def numeric(i):
        cells = [r[i] for r in rows if i < len(r) and str(r[i]) != ""]
        return bool(cells) and all(number(str(c).split()[0]) is not None for c in cells)

    align = ["---:" if numeric(i) else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |", "|" + "|".join(align) + "|"]
    for r in rows:
        r = list(r) + [""] * (len(header) - len(r))
        lines.append("| " + " | ".join(md_cell(c) for c in r) + " |")
    return "\n".join(lines)


def text_table(header, rows):
    """A plain-text table with aligned columns (for stdout)."""
    cells = [list(map(str, header))] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells)


def size_label(n):
    """16, 1K, 4K, 1M: a byte count for an axis tic."""
    for shift, unit in ((30, "G"), (20, "M"), (10, "K")):
        if n >= (1 << shift) and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


# -- comparisons and goals -----------------------------------------------------------------------------

def last_by(results, keyfn):
    """{key: result}, the last line winning where several lines share a key."""
    out = {}
    for r in results:
        out[keyfn(r)] = r
    return out


def trace_ratios(results):
    """Rows trace | proxima insn_per_op | newlib insn_per_op | newlib/proxima | the same for insn_max."""
    traces = [r for r in results if r.name == "trace" and r.get("trace") is not None]
    picked = last_by(traces, lambda r: (r.get("trace"), r.alloc))
    rows = []
    for t in dict.fromkeys(r.get("trace") for r in traces):
        p, n = picked.get((t, PROXIMA)), picked.get((t, NEWLIB))
        if not (p and n):
            continue
        row = [t]
        for key in ("insn_per_op", "insn_max"):
            pv, nv = p.num(key), n.num(key)
            row += [p.get(key, ""), n.get(key, ""), ratio(nv, pv)]
        rows.append(row)
    header = ["trace", "proxima insn_per_op", "newlib insn_per_op", "newlib/proxima",
              "proxima insn_max", "newlib insn_max", "newlib/proxima max"]
    return header, rows


FRAG_PARTS = ("class_rounding", "heap_rounding", "cached", "slab_free", "spare", "slab_tail", "other")


def frag_parts_rows(results):
    """Rows trace | footprint/live | each part of the footprint beyond the live bytes, over the live bytes."""
    lines = [r for r in results if r.name == "frag_parts" and r.get("trace") is not None]
    rows = []
    for t, r in last_by(lines, lambda r: r.get("trace")).items():
        live = r.num("live")
        rows.append([t, ratio(r.num("footprint"), live)] + [ratio(r.num(k), live) for k in FRAG_PARTS])
    return ["trace", "footprint/live"] + [f"{k}/live" for k in FRAG_PARTS], rows


def contention_ratios(results):
    """Rows harts | lock | proxima ops_per_sec | newlib ops_per_sec | proxima/newlib, per harts and lock."""
    lines = [r for r in results if r.name == "contention" and r.num("harts") is not None]
    picked = last_by(lines, lambda r: (r.num("harts"), r.get("clusters", ""), r.get("lock", ""), r.alloc))
    rows = []
    keys = sorted(dict.fromkeys((r.num("harts"), r.get("clusters", ""), r.get("lock", "")) for r in lines))
    for harts, clusters, lock in keys:
        p, n = picked.get((harts, clusters, lock, PROXIMA)), picked.get((harts, clusters, lock, NEWLIB))
        if not (p and n):
            continue
        pv, nv = p.num("ops_per_sec"), n.num("ops_per_sec")
        rows.append([fmt(harts) + (f" ({clusters} cl)" if clusters else ""), lock,
                     p.get("ops_per_sec", ""), n.get("ops_per_sec", ""),
                     ratio(pv, nv),
                     p.get("fairness", ""), n.get("fairness", "")])
    header = ["harts", "lock", "proxima ops_per_sec", "newlib ops_per_sec", "proxima/newlib",
              "proxima fairness", "newlib fairness"]
    return header, rows


@dataclass
class Goal:
    goal: str
    target: str
    measured: str = ""
    status: str = "NO DATA"      # MET / NOT MET / NO DATA


MET, NOT_MET, NO_DATA = "MET", "NOT MET", "NO DATA"


def _judge(ok):
    return MET if ok else NOT_MET


def _where(rows, **want):
    """Results whose keys equal the given values, numerically where both are numbers (alloc compares with
    the proxima default; "" matches a missing key)."""
    out = []
    for r in rows:
        if all((r.alloc if k == "alloc" else r.get(k, "")) == v or
               (k != "alloc" and number(r.get(k)) is not None and number(r.get(k)) == number(str(v)))
               for k, v in want.items()):
            out.append(r)
    return out


def _worst_of(rows, key, higher_is_worse=True):
    """(value, result) of the worst numeric value of key among rows, (None, None) without one."""
    vals = [(r.num(key), r) for r in rows if r.num(key) is not None]
    if not vals:
        return None, None
    return (max if higher_is_worse else min)(vals, key=lambda v: v[0])


def _of_n(rows, key):
    n = sum(1 for r in rows if r.num(key) is not None)
    return f" (worst of {n})" if n > 1 else ""


def goal_at_most(goal, target, rows, key):
    g = Goal(goal, f"<= {fmt(target)}")
    v, r = _worst_of(rows, key)
    if v is not None:
        g.measured, g.status = r.get(key) + _of_n(rows, key), _judge(v <= target)
    return g


def evaluate_goals(results, insn=None):
    """The Goals table's rows, in the kernel issue's order. insn: the results to take instruction counts
    from (goals 1-4 and 8; default all), see insn_results()."""
    goals = []
    groups, exact = by_name(results), by_name(results if insn is None else insn)
    get = lambda name: groups.get(name, [])   # noqa: E731
    get_insn = lambda name: exact.get(name, [])   # noqa: E731

    # 1. the per-hart cache's warm pair at 64 B
    goals.append(goal_at_most("64 B fast pair (fast_pair size=64, insn_per_pair)", 40,
                              _where(get_insn("fast_pair"), size=64, alloc=PROXIMA), "insn_per_pair"))

    # 2. the heap's 4 KiB pair, judged on mode=steady, splitmerge shown beside it
    heap = _where(get_insn("buddy_pair"), size=4096, alloc=PROXIMA)
    g = goal_at_most("4 KiB heap pair (buddy_pair size=4096 mode=steady, insn_per_pair)", 200,
                     _where(heap, mode="steady"), "insn_per_pair")
    split, r = _worst_of(_where(heap, mode="splitmerge"), "insn_per_pair")
    if g.measured or split is not None:
        g.measured = f"steady {g.measured or 'none'}" + \
            (f"; splitmerge {r.get('insn_per_pair')}" if split is not None else "")
    goals.append(g)

    # 3. the worst single operation on any trace
    g = Goal("worst single op on any trace (max insn_max, proxima)", "<= 1000")
    v, r = _worst_of(_where(get_insn("trace"), alloc=PROXIMA), "insn_max")
    if v is not None:
        g.measured, g.status = f"{r.get('insn_max')} (trace {r.get('trace', '?')})", _judge(v <= 1000)
    goals.append(g)

    # 4. newlib against proxima on the mixed trace
    g = Goal("newlib/proxima insn_per_op, mixed trace", ">= 3")
    traces = get_insn("trace")
    names = [r.get("trace") for r in traces if r.get("trace")]
    mixed = "mixed" if "mixed" in names else next((t for t in names if "mixed" in t), None)
    if mixed:
        p, pr = _worst_of(_where(traces, trace=mixed, alloc=PROXIMA), "insn_per_op")
        n, nr = _worst_of(_where(traces, trace=mixed, alloc=NEWLIB), "insn_per_op", higher_is_worse=False)
        if p and n is not None:
            g.measured = f"{ratio(n, p)} (newlib {nr.get('insn_per_op')} / proxima {pr.get('insn_per_op')}" + \
                         (f", trace {mixed})" if mixed != "mixed" else ")")
            g.status = _judge(n / p >= 3)
        elif p is not None or n is not None:
            g.measured = f"only {'proxima' if p is not None else 'newlib'}"
    goals.append(g)

    # 5. fragmentation on the power-law trace
    goals.append(goal_at_most("footprint_over_live, powerlaw trace (frag, proxima)", 1.25,
                              _where(get("frag"), trace="powerlaw", alloc=PROXIMA), "footprint_over_live"))

    # 6. placement: every allocation local while the local cluster has room
    g = Goal("local_pct on the has-room placement trace(s) (no \"exhaust\", proxima)", "== 100")
    room = [r for r in _where(get("placement"), alloc=PROXIMA)
            if "exhaust" not in r.get("trace", "") and r.num("local_pct") is not None]
    if room:
        v, r = _worst_of(room, "local_pct", higher_is_worse=False)
        below = sum(1 for x in room if x.num("local_pct") != 100)
        where = f"; lowest: trace {r.get('trace', '?')}" + (f" cluster {r.get('cluster')}" if r.get("cluster") else "")
        g.measured = f"min {r.get('local_pct')} over {len(room)} lines" + \
            (f", {below} below 100{where}" if below else "")
        g.status = _judge(below == 0)
    goals.append(g)

    # 7. throughput at 8 harts: the best lock of each allocator; same-lock ratios shown beside it
    g = Goal("proxima/newlib ops_per_sec at 8 harts (contention, best lock each)", ">= 4")
    cont = [r for r in get("contention") if r.num("harts") is not None and r.num("ops_per_sec") is not None]
    main, one = _machines(cont)
    at8 = _where(main, harts=8)
    best = {}
    for r in at8:
        if r.alloc not in best or r.num("ops_per_sec") > best[r.alloc].num("ops_per_sec"):
            best[r.alloc] = r
    if PROXIMA in best and NEWLIB in best and best[NEWLIB].num("ops_per_sec"):
        p, n = best[PROXIMA], best[NEWLIB]
        same = []
        for lock in dict.fromkeys(r.get("lock", "") for r in at8):
            pl, _ = _worst_of(_where(at8, lock=lock, alloc=PROXIMA), "ops_per_sec", higher_is_worse=False)
            nl, _ = _worst_of(_where(at8, lock=lock, alloc=NEWLIB), "ops_per_sec")
            if pl is not None and nl:
                same.append(f"{lock or '-'} {ratio(pl, nl)}")
        g.measured = (f"{ratio(p.num('ops_per_sec'), n.num('ops_per_sec'))} = "
                      f"proxima/{p.get('lock', '-')} {p.get('ops_per_sec')} / "
                      f"newlib/{n.get('lock', '-')} {n.get('ops_per_sec')}")
        if same:
            g.measured += "; same lock: " + ", ".join(same)
        g.status = _judge(p.num("ops_per_sec") / n.num("ops_per_sec") >= 4)
    elif best:
        g.measured = f"only {', '.join(best)} at 8 harts"
    goals.append(g)

    # 8. the MCS lock without contention
    goals.append(goal_at_most("MCS uncontended lock/unlock pair (lock_pair lock=mcs)", 20,
                              _where(get_insn("lock_pair"), lock="mcs"), "insn_per_pair"))

    # 9. a request that skips every full cluster of a 16x16 mesh stays bounded: 256 instructions a cluster
    g = goal_at_most("fallback over a full 16x16 mesh (fallback_full clusters=256, insn)", 65536,
                     _where(get_insn("fallback_full"), clusters=256), "insn")
    full = _where(get_insn("fallback_full"), clusters=256)
    if full and full[-1].num("insn") is not None:
        g.measured += f" = {fmt(full[-1].num('insn') / 256, 0)} per cluster"
    goals.append(g)

    heap_lock = next((r.get("lock") for r in main if r.alloc == "proxima-heap" and r.get("lock")), "")

    # 10. a queued lock that survives vCPU preemption: newlib behind the heaps' lock against TAS
    goals.append(goal_lock_vs_tas(main, heap_lock))

    # 11. the heap behind its lock keeps a share of its 1-hart throughput
    goals.append(goal_heap_scaling(main, one, heap_lock))

    # 12. the heaps' lock without contention, when it is not MCS
    if heap_lock and heap_lock != "mcs":
        goals.append(goal_at_most(f"heap lock ({heap_lock}) uncontended lock/unlock pair (lock_pair lock={heap_lock})",
                                  20, _where(get_insn("lock_pair"), lock=heap_lock), "insn_per_pair"))
    return goals


def _machines(cont):
    """The contention lines split by machine: (the one with the most clusters, a one-cluster one if another
    machine ran too). Lines without clusters= belong to the first."""
    counts = sorted({r.num("clusters") or 0 for r in cont})
    if len(counts) < 2:
        return cont, []
    top = counts[-1]
    main = [r for r in cont if (r.num("clusters") or 0) in (0, top)]
    one = [r for r in cont if r.num("clusters") == 1] if top != 1 else []
    return main, one


def _last(rows, **want):
    rows = _where(rows, **want)
    return rows[-1] if rows else None


def goal_lock_vs_tas(rows, lock):
    """newlib behind the heaps' lock at least as fast as behind TAS, fairness <= 4, at 4 and 8 harts."""
    g = Goal(f"newlib behind the heaps' lock ({lock or '?'}) / behind tas, 4 and 8 harts; fairness", ">= 1; <= 4")
    parts, ok, seen = [], True, 0
    for harts in (4, 8):
        q = _last([r for r in rows if r.alloc == NEWLIB], harts=harts, lock=lock)
        t = _last([r for r in rows if r.alloc == NEWLIB], harts=harts, lock="tas")
        if not (q and t and t.num("ops_per_sec")):
            continue
        seen += 1
        rat = q.num("ops_per_sec") / t.num("ops_per_sec")
        fair = q.num("fairness")
        ok = ok and rat >= 1 and fair is not None and fair <= 4
        extra = ""
        m = _last([r for r in rows if r.alloc == NEWLIB], harts=harts, lock="mcs")
        if lock != "mcs" and m:
            extra = f", mcs {ratio(m.num('ops_per_sec'), t.num('ops_per_sec'))} fairness {m.get('fairness', '?')}"
        parts.append(f"{harts} harts: {ratio(q.num('ops_per_sec'), t.num('ops_per_sec'))} = "
                     f"{q.get('ops_per_sec')} / {t.get('ops_per_sec')}, fairness {q.get('fairness', '?')} "
                     f"(tas {t.get('fairness', '?')}{extra})")
    if seen:
        g.measured = "; ".join(parts)
        g.status = _judge(ok and seen == 2)
    return g


def goal_heap_scaling(main, one, lock):
    """The heap behind its lock at 8 harts keeps >= 10 % of its 1-hart ops/s; one cluster's 16, 32 shown."""
    g = Goal(f"heap behind its lock ({lock or '?'}): 8-hart ops/s over 1-hart (proxima-heap)", ">= 10 %")
    heap = [r for r in main if r.alloc == "proxima-heap"]
    h1, h8 = _last(heap, harts=1), _last(heap, harts=8)
    if h1 and h8 and h1.num("ops_per_sec"):
        share = 100 * h8.num("ops_per_sec") / h1.num("ops_per_sec")
        g.measured = f"{share:.1f} % = {h8.get('ops_per_sec')} / {h1.get('ops_per_sec')}"
        g.status = _judge(share >= 10)
        oh = [r for r in one if r.alloc == "proxima-heap"]
        o1 = _last(oh, harts=1)
        if o1 and o1.num("ops_per_sec"):
            more = [f"{fmt(r.num('harts'), 0)} harts {100 * r.num('ops_per_sec') / o1.num('ops_per_sec'):.1f} %"
                    for r in oh if r.num("harts") >= 8]
            if more:
                g.measured += "; one cluster: " + ", ".join(more)
    return g


# -- plots ---------------------------------------------------------------------------------------------

@dataclass
class Plot:
    """One gnuplot figure: its data blocks (one per series), its script, and what became of it."""
    name: str
    title: str
    dat: str = ""
    script: str = ""
    skipped: str = ""            # why there is no data for it
    error: str = ""              # why gnuplot made no PNG


def _blocks(series):
    """gnuplot data: one block per (title, rows) series, blocks separated by two blank lines (index N)."""
    out = []
    for title, rows in series:
        out.append(f"# {title}\n" + "".join(" ".join(str(c) for c in row) + "\n" for row in rows))
    return "\n\n".join(out)


def _gp_str(s):
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _terminal_lines(name, terminal):
    # noenhanced: names like fast_pair are text, not a subscript markup
    return [f"set terminal {terminal} noenhanced size 900,560" + (" font 'sans,10'" if terminal == "pngcairo" else ""),
            f"set output {_gp_str(name + '.png')}", "set key outside right top", "set grid"]


def plot_insn_per_pair(results, terminal):
    p = Plot("insn_per_pair", "Instructions per alloc+free pair by size")
    series = {}
    for r in results:
        if r.name not in ("fast_pair", "buddy_pair") or r.num("size") is None or r.num("insn_per_pair") is None:
            continue
        title = r.name + (f" {r.get('mode')}" if r.get("mode") else "") + \
            (f" ({r.alloc})" if r.alloc != PROXIMA else "")
        series.setdefault(title, {})[r.num("size")] = r.num("insn_per_pair")
    series = {t: pts for t, pts in series.items() if any(s > 0 for s in pts)}
    if not series:
        p.skipped = "no fast_pair or buddy_pair lines with size= and insn_per_pair="
        return p
    blocks = [(t, [(s, v) for s, v in sorted(pts.items()) if s > 0]) for t, pts in series.items()]
    p.dat = "# size_bytes insn_per_pair\n" + _blocks(blocks)
    sizes = sorted({s for _, rows in blocks for s, _ in rows})
    values = [v for _, rows in blocks for _, v in rows]
    lines = _terminal_lines(p.name, terminal) + [
        f"set title {_gp_str(p.title)}", "set xlabel 'size (bytes, log2 scale)'",
        "set ylabel 'instructions per pair'", "set logscale x 2",
        "set xtics (" + ", ".join(f"{_gp_str(size_label(int(s)))} {s}" for s in sizes) + ")",
        f"set xrange [{sizes[0] / 1.5}:{sizes[-1] * 1.5}]"]
    if all(v > 0 for v in values) and max(values) / min(values) > 50:
        lines.append("set logscale y 10")
    else:
        lines.append("set yrange [0:*]")
    plots = [f"{_gp_str(p.name + '.dat')} index {i} using 1:2 with linespoints lw 2 pt {i + 5} title {_gp_str(t)}"
             for i, (t, _) in enumerate(blocks)]
    lines.append("plot " + ", \\\n     ".join(plots))
    p.script = "\n".join(lines) + "\n"
    return p


def plot_throughput(results, terminal):
    p = Plot("throughput", "Allocator throughput under contention")
    series = {}
    for r in results:
        if r.name != "contention" or r.num("harts") is None or r.num("ops_per_sec") is None:
            continue
        series.setdefault(f"{r.alloc} / {r.get('lock', '-')}", {})[r.num("harts")] = r.num("ops_per_sec")
    if not series:
        p.skipped = "no contention lines with harts= and ops_per_sec="
        return p
    order = sorted(series, key=lambda t: (not t.startswith(PROXIMA), t))          # proxima's series first
    blocks = [(t, sorted(series[t].items())) for t in order]
    p.dat = "# harts ops_per_sec\n" + _blocks(blocks)
    harts = sorted({h for _, rows in blocks for h, _ in rows})
    lines = _terminal_lines(p.name, terminal) + [
        f"set title {_gp_str(p.title)}", "set xlabel 'harts'", "set ylabel 'operations per second'",
        "set xtics (" + ", ".join(f"{_gp_str(fmt(h))} {h}" for h in harts) + ")",
        "set yrange [0:*]", "set format y '%.1s%c'"]
    if len(harts) > 2 and harts[0] > 0 and harts[-1] / harts[0] >= 16:   # 1..128 harts: log2 axis
        lines += ["set logscale x 2", f"set xrange [{harts[0] / 1.3}:{harts[-1] * 1.3}]"]
    else:
        lines.append(f"set xrange [{harts[0] - 0.5}:{harts[-1] + 0.5}]")
    plots = [f"{_gp_str(p.name + '.dat')} index {i} using 1:2 with linespoints lw 2 pt {i + 5} "
             f"{'dt 2 ' if t.startswith(NEWLIB) else ''}title {_gp_str(t)}" for i, (t, _) in enumerate(blocks)]
    lines.append("plot " + ", \\\n     ".join(plots))
    p.script = "\n".join(lines) + "\n"
    return p


def _histogram(p, terminal, cats, cols, table, ylabel, extra=(), goal=None):
    """A clustered bar chart: one group per category, one bar per column; missing cells are '?'."""
    rows = [[_gp_str(c)] + [fmt(table[(c, col)], 4) if (c, col) in table else "?" for col in cols]
            for c in cats]
    p.dat = "# " + " ".join(["category"] + [_gp_str(c) for c in cols]) + "\n" + \
        "".join(" ".join(r) + "\n" for r in rows)
    lines = _terminal_lines(p.name, terminal) + [
        f"set title {_gp_str(p.title)}", f"set ylabel {_gp_str(ylabel)}", "set datafile missing '?'",
        "set style data histogram", "set style histogram clustered gap 1", "set style fill solid 0.8 border -1",
        "set boxwidth 0.9", "set xtics nomirror rotate by -20", "set grid ytics", *extra]
    plots = [f"{_gp_str(p.name + '.dat')} using {i + 2}:xtic(1) title {_gp_str(col)}" for i, col in enumerate(cols)]
    if goal is not None:
        plots.append(f"{goal} with lines lw 2 dt 2 lc rgb 'red' title {_gp_str(f'goal {fmt(goal)}')}")
    lines.append("plot " + ", \\\n     ".join(plots))
    p.script = "\n".join(lines) + "\n"
    return p


def _rows_for(p, results, name, key):
    """The results of benchmark `name` that carry `key=`; none marks plot `p` skipped, saying so."""
    rows = [r for r in results if r.name == name and r.num(key) is not None]
    if not rows:
        p.skipped = f"no {name} lines with {key}="
    return rows


def plot_frag(results, terminal):
    p = Plot("frag", "Footprint over live bytes per trace")
    rows = _rows_for(p, results, "frag", "footprint_over_live")
    if not rows:
        return p
    cats = list(dict.fromkeys(r.get("trace", "?") for r in rows))
    cols = sorted(dict.fromkeys(r.alloc for r in rows), key=lambda a: (a != PROXIMA, a))
    table = {(r.get("trace", "?"), r.alloc): r.num("footprint_over_live") for r in rows}
    return _histogram(p, terminal, cats, cols, table, "footprint / live bytes", ["set yrange [0:*]"], goal=1.25)


def plot_placement(results, terminal):
    p = Plot("placement", "Local allocations (%)")
    rows = _rows_for(p, results, "placement", "local_pct")
    if not rows:
        return p
    per_cluster = [r for r in rows if r.get("cluster") is not None]
    if per_cluster:
        p.title += " per cluster"
        rows = per_cluster
        cat = lambda r: r.get("cluster")                          # noqa: E731
        col = lambda r: f"{r.get('trace', '?')} ({r.alloc})"      # noqa: E731
    else:
        p.title += " per trace"
        cat = lambda r: r.get("trace", "?")                       # noqa: E731
        col = lambda r: r.alloc                                   # noqa: E731
    cats = list(dict.fromkeys(cat(r) for r in rows))
    if per_cluster and all(number(c) is not None for c in cats):
        cats.sort(key=number)
    cats_label = [f"cluster {c}" for c in cats] if per_cluster else cats
    cols = list(dict.fromkeys(col(r) for r in rows))
    table = {(cats_label[cats.index(cat(r))], col(r)): r.num("local_pct") for r in rows}
    return _histogram(p, terminal, cats_label, cols, table, "local allocations (%)",
                      ["set yrange [0:110]", "set ytics 0,20,100"])


PLOTS = (plot_insn_per_pair, plot_throughput, plot_frag, plot_placement)


def gnuplot_terminal(gnuplot):
    """pngcairo when this gnuplot has it, else png."""
    try:
        r = subprocess.run([gnuplot, "-e", "set terminal"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=GNUPLOT_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return "png"
    return "pngcairo" if re.search(r"^\s*pngcairo\s", r.stdout, re.MULTILINE) else "png"


def make_plots(results, out, gnuplot, insn=None):
    """Write every plot's .dat and .gp into out and run gnuplot on each (when gnuplot is given).
    insn: the results to plot instruction counts from (default all), see insn_results()."""
    terminal = gnuplot_terminal(gnuplot) if gnuplot else "pngcairo"
    plots = []
    for make in PLOTS:
        p = make(insn if make is plot_insn_per_pair and insn is not None else results, terminal)
        plots.append(p)
        png = out / f"{p.name}.png"
        if p.skipped:
            for suffix in (".png", ".dat", ".gp"):      # no stale plot from an earlier run
                (out / f"{p.name}{suffix}").unlink(missing_ok=True)
            continue
        (out / f"{p.name}.dat").write_text(p.dat)
        (out / f"{p.name}.gp").write_text(f"# {p.name}.gp - {p.title}; run in this directory: gnuplot "
                                          f"{p.name}.gp\n" + p.script)
        png.unlink(missing_ok=True)
        if not gnuplot:
            p.error = "gnuplot not found (install gnuplot-nox)"
            continue
        try:
            r = subprocess.run([gnuplot, f"{p.name}.gp"], cwd=out, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=GNUPLOT_TIMEOUT)
            if r.returncode or not png.exists() or png.stat().st_size == 0:
                msg = r.stdout.strip().splitlines()
                p.error = f"gnuplot exit {r.returncode}" + (f": {msg[-1].strip()}" if msg else "")
        except (OSError, subprocess.TimeoutExpired) as e:
            p.error = f"gnuplot failed: {e}"
    return plots


# -- the report ----------------------------------------------------------------------------------------

def columns(rows):
    """Every key of these results, in order of first appearance."""
    return list(dict.fromkeys(k for r in rows for k in r.fields))


# -- the size-class issue's goals -----------------------------------------------------------------------

TRACES_12 = ("uniform", "powerlaw", "mixed")


def _per_trace(rows, key, traces=TRACES_12):
    """{trace: (proxima value, newlib value)} of key over the frag or trace rows."""
    out = {}
    for t in traces:
        p, _ = _worst_of(_where(rows, trace=t, alloc=PROXIMA), key)
        n, _ = _worst_of(_where(rows, trace=t, alloc=NEWLIB), key)
        if p is not None or n is not None:
            out[t] = (p, n)
    return out


def _trace_goal(goal, target, per, ok, newlib=True):
    g = Goal(goal, target)
    if per:
        g.measured = "; ".join(f"{t} {fmt(p) if p is not None else '-'}" +
                               (f" (newlib {fmt(n) if n is not None else '-'})" if newlib else "")
                               for t, (p, n) in per.items())
        judged = [ok(p, n) for p, n in per.values() if p is not None]
        g.status = _judge(all(judged) and len(judged) == len(TRACES_12)) if judged else NO_DATA
    return g


def evaluate_slab_goals(results, insn=None):
    """The goals of the size-class issue (12), each judged on every trace (the worst one decides)."""
    exact = by_name(results if insn is None else insn)
    groups = by_name(results)
    trace, frag = exact.get("trace", []), groups.get("frag", [])
    goals = [
        _trace_goal("footprint_over_live on every trace, and below newlib's", "<= 1.15, < newlib",
                    _per_trace(frag, "footprint_over_live"),
                    lambda p, n: p <= 1.15 and (n is None or p < n)),
        _trace_goal("insn_p99 on every trace (proxima)", "<= 100", _per_trace(trace, "insn_p99"),
                    lambda p, n: p <= 100),
        _trace_goal("worst single op on every trace (insn_max, proxima)", "<= 400", _per_trace(trace, "insn_max"),
                    lambda p, n: p <= 400),
        _trace_goal("insn_per_op on every trace (proxima)", "<= 30", _per_trace(trace, "insn_per_op"),
                    lambda p, n: p <= 30),
    ]
    g = Goal("newlib/proxima insn_per_op, mixed trace", ">= 4")
    per = _per_trace(trace, "insn_per_op", ("mixed",))
    if "mixed" in per and per["mixed"][0] and per["mixed"][1] is not None:
        p, n = per["mixed"]
        g.measured, g.status = f"{ratio(n, p)} (newlib {fmt(n)} / proxima {fmt(p)})", _judge(n / p >= 4)
    goals.append(g)
    rows = [r for r in _where(exact.get("fast_pair", []), size=64, alloc=PROXIMA) if not r.get("const")]
    goals.append(goal_at_most("64 B fast pair, runtime size (fast_pair size=64, insn_per_pair)", 36, rows,
                              "insn_per_pair"))
    remote = _where(exact.get("remote", []), alloc=PROXIMA)
    goals.append(goal_at_most("instructions per remote free (remote, insn_per_free)", 30, remote, "insn_per_free"))
    goals.append(goal_at_most("atomics per 8 remote frees (remote, atomics_per_8_frees)", 1, remote,
                              "atomics_per_8_frees"))
    g = Goal("footprint after a burst and its frees (burst, footprint_after), below newlib's", "< newlib")
    p, _ = _worst_of(_where(groups.get("burst", []), alloc=PROXIMA), "footprint_after")
    n, _ = _worst_of(_where(groups.get("burst", []), alloc=NEWLIB), "footprint_after")
    if p is not None:
        g.measured = f"{fmt(p)} bytes" + (f" (newlib {fmt(n)})" if n is not None else "")
        g.status = _judge(n is None or p < n)
    goals.append(g)
    return goals



def header_value(log, key):
    """The value of key in log's header lines (the last one that names it), or None."""
    found = None
    for h in log.headers:
        for k, v in h.items:
            if k == key:
                found = v
    return found


def _qemu_short(text):
    """"QEMU emulator version 10.0.2 (Debian ...)" -> "10.0.2"; "?" when the header does not say."""
    m = re.search(r"version (\S+)", text or "")
    return m.group(1) if m else "?"


def _log_status(log):
    if log.error:
        return f"unreadable: {log.error}"
    if not log.results:
        return "no bench result"
    up, dt = header_value(log, "harts"), header_value(log, "harts_dt")
    if up and dt and up.isdigit() and dt.isdigit() and int(up) < int(dt):
        return f"ok, but {int(dt) - int(up)} hart(s) never came up"
    return "ok"


def render_report(logs, goals, plots, out, slab_goals=None):
    results = [r for log in logs for r in log.results]
    exact = insn_results(logs)
    dropped = [log.path for log in logs if log.kind == "mttcg" and
               any(k.startswith("insn") for r in log.results for k in r.fields)]
    dropped = dropped if len(exact) < len(results) else []
    multi = len({log.path for log in logs if log.results}) > 1
    md = ["# Proxima benchmark report", "",
          "Made by `tools/bench_report.py` from the console logs below. Instruction counts come from the "
          "ICOUNT boot (exact and repeatable); ops_per_sec from the MTTCG boot (real parallel harts, varies "
          "from run to run). A line without `alloc=` counts as proxima.", "", "## Logs", ""]
    md.append(md_table(["log", "kind", "qemu", "harts up / in DT", "results", "header lines",
                        "ignored bench lines", "status"],
                       [[log.path, log.kind or "?", _qemu_short(header_value(log, "qemu")),
                         f"{header_value(log, 'harts') or '?'} / {header_value(log, 'harts_dt') or '?'}",
                         len(log.results), len(log.headers), len(log.ignored), _log_status(log)]
                        for log in logs]))
    if dropped:
        md += ["", f"Instruction counts are taken from the ICOUNT log(s) only: those in {', '.join(dropped)} "
               "(no -icount: instret follows the host clock) are listed below but judged and plotted nowhere."]
    md += ["", "## Headers", ""]
    for log in logs:
        md.append(f"### {log.path}")
        md.append("")
        if log.headers:
            md.append(md_table(["key", "value"], [[k, v] for h in log.headers for k, v in h.items]))
        else:
            md.append("No header line.")
        md.append("")

    md += ["## Results", ""]
    groups = by_name(results)
    if not groups:
        md += ["No bench result line in these logs.", ""]
    for name, rows in groups.items():
        cols = columns(rows)
        header = cols + (["log"] if multi and len({r.log for r in rows}) > 1 else [])
        md += [f"### {name}" + ("" if name in KNOWN_NAMES else " (not in the kernel issue's list)"), ""]
        md.append(md_table(header, [[r.get(c, "") for c in cols] + ([f"{Path(r.log).name}:{r.lineno}"]
                                                                     if len(header) > len(cols) else [])
                                    for r in rows]))
        md.append("")
        compare = {"trace": trace_ratios, "contention": contention_ratios}.get(name)
        if compare:
            h, rr = compare(exact if name == "trace" else results)
            what = "trace" if name == "trace" else "harts and lock"
            md += [f"#### {name}: proxima against newlib, per {what}", ""]
            if rr:
                md.append(md_table(h, rr))
            else:
                md.append("No " + what + " with both a proxima and a newlib line.")
            md.append("")

    md += goals_section("Goals", "Where several lines match a goal, the worst of them is judged. Throughput "
                        "compares the best lock of each allocator at 8 harts; the same-lock ratios follow it.", goals)
    if slab_goals:
        md += goals_section("Goals of the size classes (issue 12)", "Each trace goal is judged on the uniform, "
                            "powerlaw and mixed traces; the worst one decides.", slab_goals)
    h, rr = frag_parts_rows(exact)
    if rr:
        md += ["### Where Proxima's footprint goes (frag_parts, at its peak)", "",
               "Each part over the live requested bytes at the moment the footprint peaked: rounding up to "
               "the size class (requests up to 4 KiB) and to the heap's power of two (larger ones), blocks "
               "parked in the per-hart caches, free blocks of the current and partial slabs (never-carved "
               "ones included), empty spare slabs, the unused ends of the current and partial slabs, and "
               "the rest (full slabs' ends, remote batches).", ""]
        md += [md_table(h, rr), ""]

    md += ["## Plots", "", f"Data and scripts sit beside the images; regenerate one with "
           f"`cd {out} && gnuplot NAME.gp`.", ""]
    for p in plots:
        md.append(f"### {p.title}")
        md.append("")
        if p.skipped:
            md.append(f"Skipped `{p.name}.png`: {p.skipped}.")
        elif p.error:
            md.append(f"No `{p.name}.png` ({p.error}); data in `{p.name}.dat`, script in `{p.name}.gp`.")
        else:
            md.append(f"![{p.name}]({p.name}.png)")
        md.append("")

    ignored = [i for log in logs for i in log.ignored]
    if ignored:
        md += ["## Ignored bench lines", ""]
        md.append(md_table(["where", "why", "line"],
                           [[f"{Path(i.log).name}:{i.lineno}", i.reason, f"bench: {i.text}"]
                            for i in ignored[:MAX_IGNORED_LISTED]]))
        if len(ignored) > MAX_IGNORED_LISTED:
            md += ["", f"... and {len(ignored) - MAX_IGNORED_LISTED} more."]
        md.append("")
    return "\n".join(md)


def goals_section(title, intro, goals):
    """A report section: its heading, a sentence, the goals table and the count of each result."""
    md = [f"## {title}", "", intro, ""]
    md.append(md_table(["goal", "target", "measured", "result"],
                       [[g.goal, g.target, g.measured or "-", f"**{g.status}**" if g.status != MET else g.status]
                        for g in goals]))
    counts = {s: sum(1 for g in goals if g.status == s) for s in (MET, NOT_MET, NO_DATA)}
    return md + ["", f"{counts[MET]} met, {counts[NOT_MET]} not met, {counts[NO_DATA]} without data.", ""]


def summary(goals, report, plots):
    """The short stdout summary: the goals as plain text, where the report went, which plots exist."""
    lines = ["bench_report: goals", text_table(["goal", "target", "measured", "result"],
                                              [[g.goal, g.target, g.measured or "-", g.status] for g in goals])]
    made = [f"{p.name}.png" for p in plots if not p.skipped and not p.error]
    missing = [f"{p.name} ({p.skipped or p.error})" for p in plots if p.skipped or p.error]
    lines.append(f"bench_report: report in {report}; plots: {', '.join(made) or 'none'}")
    if missing:
        lines.append(f"bench_report: no plot for: {'; '.join(missing)}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bench_report.py", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Exit: 0 = report written, 1 = a log unreadable or without any "
                                            "bench result, 2 = bad usage.")
    parser.add_argument("logs", nargs="+", metavar="LOG", help="console logs (e.g. build/bench/*.log)")
    parser.add_argument("-o", "--out-dir", default=os.path.relpath(OUT_DIR), metavar="DIR",
                        help="where report.md and the plots go (default build/bench/)")
    parser.add_argument("--gnuplot", default=None, help=argparse.SUPPRESS)   # tests: another or no gnuplot
    args = parser.parse_args(argv)

    out = Path(args.out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        parser.error(f"cannot create {args.out_dir}: {e.strerror}")
    logs = [read_log(p) for p in args.logs]
    status = 0
    for log in logs:
        if log.error:
            print(f"bench_report: cannot read {log.path}: {log.error}", file=sys.stderr)
            status = 1
        elif not log.results:
            print(f"bench_report: no bench result line in {log.path}", file=sys.stderr)
            status = 1
    results = [r for log in logs for r in log.results]
    gnuplot = shutil.which(args.gnuplot if args.gnuplot is not None else "gnuplot")
    insn = insn_results(logs)
    goals = evaluate_goals(results, insn)
    plots = make_plots(results, out, gnuplot, insn)
    report = out / "report.md"
    report.write_text(render_report(logs, goals, plots, out.as_posix().rstrip("/") or ".",
                                    evaluate_slab_goals(results, insn)))
    print(summary(goals, report.as_posix(), plots), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
