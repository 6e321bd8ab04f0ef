#!/usr/bin/env python3
"""ktap_summary.py - a minimal KTAP v1 validator and summariser for Proxima's console logs.

    python3 tools/ktap_summary.py build/test-logs/*.log

Finds the first "KTAP version 1" line in a console log (everything before it, the OpenSBI banner and the
boot lines, is ignored; as many characters as stand before "KTAP" on that line are cut from every later
line, as Linux's kunit.py does with a printk prefix), then checks the structure:
  - a plan "1..N" at the top and in every subtest that has one, and exactly N results for it;
  - results "ok N name" / "not ok N name [# SKIP reason]" numbered 1, 2, 3... in order;
  - nesting by 4 spaces: a subtest ("KTAP version 1" and/or "# Subtest: name", then its plan, at the
    deeper indent) is closed by its result line at the parent's indent;
  - a parent reported "ok" has no failed subtest.
Lines without KTAP syntax (other harts' printk, "# diagnostics") are allowed anywhere. Leaf results are
counted: passed (ok), failed (not ok), skipped (# SKIP or # TODO).

Exit status: 0 = valid and nothing failed, 1 = valid with failed cases, 2 = parse error or no KTAP.
"""
import argparse
import re
import sys
from dataclasses import dataclass, field

INDENT = 4

_VERSION_RE = re.compile(r"^(KTAP|TAP) version (\d+)$")
_PLAN_RE = re.compile(r"^1\.\.(\d+)(?:\s+#.*)?$")
_RESULT_RE = re.compile(r"^(ok|not ok) (\d+)(?:\s+(.*))?$")
_SUBTEST_RE = re.compile(r"^# Subtest: (.*)$")
_VERSIONS = {"KTAP": {1}, "TAP": {13, 14}}


class KtapError(ValueError):
    """The log is not valid KTAP; lineno is 1-based in the original log."""

    def __init__(self, lineno, msg):
        super().__init__(f"line {lineno}: {msg}" if lineno else msg)
        self.lineno = lineno


@dataclass
class Test:
    name: str = ""
    number: int = 0
    ok: bool = True
    directive: str = ""          # "SKIP ..." / "TODO ..." or ""
    plan: int = None
    lineno: int = 0
    subtests: list = field(default_factory=list)
    diagnostics: list = field(default_factory=list)

    @property
    def skipped(self):
        return self.directive.upper().startswith(("SKIP", "TODO"))

    def leaves(self, path=()):
        """(path, test) for every case: a test without subtests or plan ("1..0" is an empty suite)."""
        here = path + ((self.name,) if self.name else ())
        if not self.subtests and self.plan is None:
            yield here, self
        for t in self.subtests:
            yield from t.leaves(here)


@dataclass
class Summary:
    root: Test
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list = field(default_factory=list)   # (dotted name, diagnostics)

    @property
    def suites(self):
        return len(self.root.subtests)


@dataclass
class _Line:
    lineno: int
    indent: int
    kind: str      # version, plan, result, subtest, diag, other
    text: str
    match: object = None


def _classify(lineno, raw):
    body = raw.lstrip(" ")
    indent = len(raw) - len(body)
    body = body.rstrip()
    for kind, rx in (("version", _VERSION_RE), ("plan", _PLAN_RE), ("result", _RESULT_RE),
                     ("subtest", _SUBTEST_RE)):
        m = rx.match(body)
        if m:
            return _Line(lineno, indent, kind, body, m)
    if body.startswith("#"):
        return _Line(lineno, indent, "diag", body)
    return _Line(lineno, indent, "other", body)


def extract(text):
    """The KTAP lines of a console log as _Line objects, prefix stripped; raise KtapError if none."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for start, raw in enumerate(lines):
        m = re.search(r"\b(K?TAP) version \d+\s*$", raw)
        if m:
            prefix = m.start()
            break
    else:
        raise KtapError(0, "no 'KTAP version 1' line")
    out = []
    for i in range(start, len(lines)):
        raw = lines[i]
        out.append(_classify(i + 1, raw[prefix:]))
    return out


class _Parser:
    def __init__(self, lines):
        self.lines = lines
        self.pos = 0
        self.pending_diag = []

    def peek(self):
        """The next line with KTAP syntax; diagnostic and other lines are collected on the way."""
        while self.pos < len(self.lines):
            ln = self.lines[self.pos]
            if ln.kind in ("version", "plan", "result", "subtest"):
                return ln
            if ln.kind == "diag":
                self.pending_diag.append(ln.text)
            self.pos += 1
        return None

    def take(self):
        ln = self.peek()
        self.pos += 1
        return ln

    def last_lineno(self):
        return self.lines[-1].lineno if self.lines else 0

    def header(self, test, indent, top):
        """Version, '# Subtest:' and plan lines opening a test at this indent, in any order."""
        seen_version = False
        while True:
            ln = self.peek()
            if ln is None or ln.indent != indent:
                break
            if ln.kind == "version":
                if seen_version:
                    raise KtapError(ln.lineno, "a second version line in one test header")
                kind, ver = ln.match.group(1), int(ln.match.group(2))
                if ver not in _VERSIONS[kind]:
                    raise KtapError(ln.lineno, f"unsupported {kind} version {ver}")
                seen_version = True
            elif ln.kind == "subtest":
                test.name = ln.match.group(1).strip()
            elif ln.kind == "plan":
                test.plan = int(ln.match.group(1))
                self.take()
                break
            else:
                break
            self.take()
        if top and test.plan is None:
            raise KtapError(self.lines[0].lineno, "no plan '1..N' after the top-level version line")

    def body(self, test, indent, top=False):
        """Parse a test's header and its results at this indent into test.subtests."""
        self.header(test, indent, top)
        self.pending_diag = []
        expected = 1
        while test.plan is None or expected <= test.plan:
            ln = self.peek()
            if ln is None:
                if test.plan is None:
                    return
                raise KtapError(self.last_lineno(), f"log ends after {expected - 1} of {test.plan} results"
                                + (f" of '{test.name}'" if test.name else ""))
            if ln.indent % INDENT:
                raise KtapError(ln.lineno, f"unexpected indentation {ln.indent} (not a multiple of {INDENT}): "
                                f"'{ln.text}'")
            if ln.indent < indent:
                if test.plan is None:
                    return
                raise KtapError(ln.lineno, f"plan 1..{test.plan} of '{test.name or 'top level'}' but only "
                                f"{expected - 1} results")
            if ln.indent == indent + INDENT and ln.kind in ("version", "subtest", "plan", "result"):
                sub = Test()
                self.body(sub, indent + INDENT)
                res = self.peek()
                if res is None or res.kind != "result" or res.indent != indent:
                    where = res.lineno if res else self.last_lineno()
                    raise KtapError(where, f"subtest '{sub.name}' is not closed by a result line at indent "
                                    f"{indent}")
                self.result(sub, expected)
                test.subtests.append(sub)
                expected += 1
                continue
            if ln.indent != indent:
                raise KtapError(ln.lineno, f"unexpected indentation {ln.indent} (want {indent} or "
                                f"{indent + INDENT}): '{ln.text}'")
            if ln.kind == "result":
                sub = Test()
                self.result(sub, expected)
                test.subtests.append(sub)
                expected += 1
                continue
            raise KtapError(ln.lineno, f"unexpected '{ln.text}' among the results")
        if test.plan is not None:
            ln = self.peek()
            if ln is not None and ln.indent == indent and ln.kind == "result":
                raise KtapError(ln.lineno, f"more results than the plan 1..{test.plan}")

    def result(self, test, expected):
        """Consume the result line closing test, which must carry number expected."""
        ln = self.take()
        status, number, rest = ln.match.group(1), int(ln.match.group(2)), ln.match.group(3) or ""
        if number != expected:
            raise KtapError(ln.lineno, f"result numbered {number}, expected {expected}: '{ln.text}'")
        name, _, directive = rest.partition(" # ")
        if rest.startswith("# "):
            name, directive = "", rest[2:]
        name = name.strip()
        if name.startswith("- "):
            name = name[2:]
        if test.name and name and test.name != name:
            raise KtapError(ln.lineno, f"subtest '{test.name}' closed by a result for '{name}'")
        test.name = test.name or name
        test.number = number
        test.ok = status == "ok"
        test.directive = directive.strip()
        test.lineno = ln.lineno
        test.diagnostics, self.pending_diag = self.pending_diag, []
        if test.ok and any(not t.ok and not t.skipped for t in test.subtests):
            raise KtapError(ln.lineno, f"'{test.name}' reported ok but a subtest failed")


def parse(text):
    """Validate the KTAP in a console log; return a Summary or raise KtapError."""
    root = Test()
    _Parser(extract(text)).body(root, 0, top=True)
    s = Summary(root)
    for path, t in root.leaves():
        if t.skipped:
            s.skipped += 1
        elif t.ok:
            s.passed += 1
        else:
            s.failed += 1
            s.failures.append((".".join(path), t.diagnostics))
    return s


def parse_file(path):
    with open(path, "r", errors="backslashreplace") as f:
        return parse(f.read())


def main(argv=None):
    ap = argparse.ArgumentParser(prog="ktap_summary.py", description=__doc__.split("\n")[0])
    ap.add_argument("logs", nargs="+", metavar="LOG", help="console logs with KTAP output")
    ap.add_argument("-q", "--quiet", action="store_true", help="no failure details")
    args = ap.parse_args(argv)
    status = 0
    for path in args.logs:
        try:
            s = parse_file(path)
        except OSError as e:
            print(f"{path}: {e.strerror}")
            status = 2
            continue
        except KtapError as e:
            print(f"{path}: KTAP parse error: {e}")
            status = 2
            continue
        print(f"{path}: {s.suites} suites, {s.passed} passed, {s.failed} failed, {s.skipped} skipped")
        if not args.quiet:
            for name, diags in s.failures:
                print(f"  not ok {name}")
                for d in diags:
                    print(f"      {d}")
        if s.failed and status == 0:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
