"""test_run.py - tests of the QEMU runner: spec parsing and refusals, QEMU command lines, the KTAP validator,
process handling against a fake QEMU, and real boots of a stand-in kernel.

Run from the repository root:  python3 -m unittest tests/tools/test_run.py
Tests that need qemu-system-riscv64, build/fw_dynamic.bin or riscv64-unknown-elf-gcc skip without them.
"""
import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import ktap_summary as ktap  # noqa: E402
import run  # noqa: E402
import topologies as topo  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
FAKE_QEMU = HERE / "fake_qemu.py"
FAKE_KERNEL = HERE / "fake_kernel"
QEMU = shutil.which("qemu-system-riscv64")
DTC = shutil.which("dtc")
CROSS_GCC = shutil.which("riscv64-unknown-elf-gcc")
FIRMWARE = ROOT / "build/fw_dynamic.bin"
HAVE_QEMU = bool(QEMU) and FIRMWARE.exists()
QEMU_72 = str(ROOT / "build/qemu-7.2/usr/bin/qemu-system-riscv64")   # unpacked by tools/setup.sh


def run_py(*args, env=None, timeout=120):
    """tools/run.py as a process, from the repository root; returns CompletedProcess with text output."""
    full = dict(os.environ)
    full.pop("MATRIX", None)
    full.pop("TIMEOUT_SCALE", None)
    full.update(env or {})
    return subprocess.run([sys.executable, str(ROOT / "tools/run.py"), *args], cwd=ROOT, env=full,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout)


class TestSpec(unittest.TestCase):
    def test_sizes(self):
        self.assertEqual(topo.parse_size("512M"), 512 << 20)
        self.assertEqual(topo.parse_size("2g"), 2 << 30)
        self.assertEqual(topo.parse_size("65536K"), 64 << 20)
        self.assertEqual(topo.parse_size("0"), 0)
        self.assertEqual(topo.format_size(1536 << 20), "1536M")
        self.assertEqual(topo.format_size(4 << 30), "4G")

    def test_default_machine(self):
        m = topo.machine("", "")
        self.assertEqual([(n.mem, n.harts) for n in m.nodes], [(256 << 20, 2)] * 4)
        self.assertEqual(m.harts, 8)
        self.assertEqual(m.dist, [[10, 20, 20, 30], [20, 10, 30, 20], [20, 30, 10, 20], [30, 20, 20, 10]])
        self.assertEqual(topo.DEFAULT_DIST, "0-1:20 0-2:20 0-3:30 1-2:30 1-3:20 2-3:20")
        self.assertTrue(m.needs_aplic)

    def test_default_numa_with_dist_replaces_mesh(self):
        m = topo.machine("", "0-3:40")
        self.assertEqual(m.dist[0], [10, 20, 20, 40])
        self.assertEqual(m.dist[3][0], 40)

    def test_custom(self):
        m = topo.machine("512M:2 256M:3 0:2", "0-2:30 1-2:25")
        self.assertEqual(m.harts, 7)
        self.assertEqual(m.mem, 768 << 20)
        self.assertEqual([m.hart_range(i) for i in range(3)], [(0, 1), (2, 4), (5, 6)])
        self.assertEqual([m.mem_range(i) for i in range(3)],
                         [(0x80000000, 512 << 20), (0xa0000000, 256 << 20), (0xb0000000, 0)])
        self.assertEqual(m.dist, [[10, 20, 30], [20, 10, 25], [30, 25, 10]])

    def test_custom_without_dist_has_no_map(self):
        m = topo.machine("256M:2 256M:2", "")
        self.assertIsNone(m.dist)
        self.assertNotIn("dist", " ".join(topo.qemu_machine_args(m)))

    def test_aplic_rule(self):
        cases = {"128M:1": False, "256M:2 256M:2": False, "128M:1 128M:2": False, "128M:2 128M:1": True,
                 "128M:3 128M:2": True, "64M:1 64M:2 64M:3": True, "256M:32 256M:32": False}
        for numa, want in cases.items():
            with self.subTest(numa=numa):
                self.assertEqual(topo.machine(numa).needs_aplic, want)

    def test_machine_args(self):
        args = topo.qemu_machine_args(topo.machine("512M:2 256M:1 0:1", "0-1:30"))
        line = " ".join(args)
        self.assertEqual(args[:6], ["-M", "virt,aia=aplic", "-smp", "4", "-m", "768M"])
        self.assertIn("-object memory-backend-ram,id=m0,size=512M", line)
        self.assertIn("-numa node,nodeid=1,cpus=2,memdev=m1", line)
        self.assertIn("-numa node,nodeid=2,cpus=3 ", line + " ")
        self.assertNotIn("id=m2", line)
        for src, dst, val in ((0, 1, 30), (1, 0, 30), (0, 2, 20), (2, 0, 20), (1, 2, 20), (2, 1, 20)):
            self.assertIn(f"-numa dist,src={src},dst={dst},val={val}", line)

    def test_matrix_specs_are_valid(self):
        names = [t.name for t in topo.MATRIX]
        self.assertEqual(names, ["1x1", "2x2", "numa4-unequal", "memoryless-last", "withheld-first",
                                 "cross-4g", "straddle-4g", "faults", "tiny-heaps", "sleep-at-once", "128-harts",
                                 "mesh-4x4", "mesh-8x8-128", "mesh-16x16", "mesh-refused", "qemu7.2-icount",
                                 "qemu7.2-memoryless", "debug-build"])
        harts = {t.name: topo.machine(t.numa, t.dist).harts for t in topo.MATRIX}
        self.assertEqual(harts["128-harts"], 128)
        self.assertEqual(harts["mesh-8x8-128"], 128)
        for t in topo.MATRIX:     # every mesh= of the matrix is one the runner accepts for its nodes
            for w in t.bootargs.split():
                if w.startswith("mesh="):
                    topo.mesh_bootargs(w[5:], "", len(topo.machine(t.numa, t.dist).nodes))
        self.assertEqual(harts["numa4-unequal"], 8)
        self.assertEqual(topo.machine("2G:2 2G:2").mem_range(1), (0x100000000, 2 << 30))


class TestSpecErrors(unittest.TestCase):
    BAD = [
        ("64M:1 64M:1 64M:1 64M:1 64M:1", "", "at most 4"),
        ("256M:2 256M:0", "", "CPU-less"),
        ("256M:64 256M:65", "", "at most 128"),
        ("0:2 256M:2", "", "only as the last node"),
        ("256M:1 0:1 256M:1", "", "only as the last node"),
        ("0:1", "", "all nodes are memoryless"),
        ("256:2", "", "bad memory size"),
        ("256X:2", "", "bad memory size"),
        ("1.5G:2", "", "bad memory size"),
        ("-1M:2", "", "bad memory size"),
        ("1500K:1", "", "whole number of MiB"),
        ("256M", "", "not <mem>:<harts>"),
        ("256M:two", "", "not <mem>:<harts>"),
        ("8M:1", "", "at least 16M"),
        ("256M:2 256M:2", "0-2:20", "only 2 nodes"),
        ("256M:2 256M:2", "1-1:20", "to itself"),
        ("256M:2 256M:2", "0-1:9", "between 10 and 255"),
        ("256M:2 256M:2", "0-1:256", "between 10 and 255"),
        ("256M:2 256M:2", "0-1", "bad distance"),
        ("256M:2 256M:2", "0:1:20", "bad distance"),
        ("256M:2 256M:2", "0-1:20 1-0:30", "contradicts"),
        ("128M:1", "0-1:20", "only 1 nodes"),
    ]

    def test_parser_refuses(self):
        for numa, dist, msg in self.BAD:
            with self.subTest(numa=numa, dist=dist):
                with self.assertRaises(topo.SpecError) as cm:
                    topo.machine(numa, dist)
                self.assertIn(msg, str(cm.exception))

    def test_cli_refuses_with_usage_and_no_qemu(self):
        with tempfile.TemporaryDirectory() as tmp:
            argv = Path(tmp) / "argv"
            env = {"PROXIMA_QEMU": str(FAKE_QEMU), "FAKE_QEMU_ARGV": str(argv),
                   "PROXIMA_FIRMWARE": str(FAKE_QEMU)}
            for numa, dist, msg in self.BAD:
                for sub in ("run", "dumpdtb"):
                    with self.subTest(numa=numa, dist=dist, sub=sub):
                        extra = ["-o", str(Path(tmp) / "x.dtb")] if sub == "dumpdtb" else ["--kernel",
                                                                                            str(FAKE_QEMU)]
                        r = run_py(sub, f"--numa={numa}", f"--dist={dist}", *extra, env=env)
                        self.assertEqual(r.returncode, 2, r.stderr)
                        self.assertIn(msg, r.stderr)
                        self.assertIn("usage:", r.stderr)
                        self.assertFalse(argv.exists(), "QEMU was started")

    def test_cli_other_usage_errors(self):
        env = {"PROXIMA_QEMU": str(FAKE_QEMU), "PROXIMA_FIRMWARE": str(FAKE_QEMU)}
        k = ["--kernel", str(FAKE_QEMU)]
        for args, msg in ((["run", "--icount", "7", *k], "--icount"),
                          (["run", "--disk", "/nonexistent/disk.img", *k], "no such file"),
                          (["run", "--kernel", "/nonexistent/kernel.elf"], "missing: run make"),
                          (["run", "--timeout", "-1", *k], "--timeout"),
                          (["matrix", "--only", "2x2,nosuch"], "no topology 'nosuch'"),
                          (["matrix", "--timeout-scale", "0"], "--timeout-scale"),
                          (["dumpdtb"], "-o"),
                          (["frobnicate"], "invalid choice")):
            with self.subTest(args=args):
                r = run_py(*args, env=env)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertIn(msg, r.stderr)

    def test_missing_firmware(self):
        r = run_py("run", "--kernel", str(FAKE_QEMU), env={"PROXIMA_FIRMWARE": "/nonexistent/fw.bin"})
        self.assertEqual(r.returncode, 2)
        self.assertIn("setup.sh", r.stderr)


class TestQemuCommand(unittest.TestCase):
    def test_order_and_options(self):
        m = topo.machine("256M:2 256M:2")
        cmd = run.qemu_command(m, run.KERNEL, bootargs=" test withhold=0 ", icount=True, gdb=True,
                               disk="d.img", extra="-d guest_errors -D 'a b.log'", qemu="qemu-system-riscv64")
        self.assertEqual(cmd[:9], ["qemu-system-riscv64", "-M", "virt", "-bios", run.rel(run.FIRMWARE),
                                   "-kernel", run.rel(run.KERNEL), "-nographic", "-smp"])
        line = " ".join(cmd)
        self.assertIn("-append", cmd)
        self.assertEqual(cmd[cmd.index("-append") + 1], "test withhold=0")
        self.assertIn("-icount shift=0,sleep=off", line)
        self.assertIn("-s -S", line)
        self.assertIn("-global virtio-mmio.force-legacy=false -drive file=d.img,if=none,format=raw,id=hd0 "
                      "-device virtio-blk-device,drive=hd0", line)
        self.assertEqual(cmd[-4:], ["-d", "guest_errors", "-D", "a b.log"])

    def test_plain(self):
        cmd = run.qemu_command(topo.machine("128M:1"), run.KERNEL, qemu="q")
        self.assertNotIn("-append", cmd)
        self.assertNotIn("-icount", cmd)
        self.assertEqual(cmd[-2:], ["-numa", "node,nodeid=0,cpus=0,memdev=m0"])

    def test_workarounds_follow_the_version(self):
        self.assertEqual(run.qemu_needs((7, 2, 22)), {"aplic"})
        self.assertEqual(run.qemu_needs((8, 0, 0)), set())
        self.assertEqual(run.qemu_needs((10, 0, 2)), set())
        self.assertEqual(run.qemu_needs(None), {"aplic"})       # unknown: every workaround
        self.assertEqual(run.qemu_binary(None), run.QEMU)
        self.assertEqual(run.qemu_binary(""), run.QEMU)
        self.assertEqual(run.qemu_binary("7.2"), run.QEMU_72)
        self.assertEqual(run.qemu_binary("/x/qemu"), "/x/qemu")
        m = topo.machine("64M:1 64M:1 64M:1")
        for version, want in (("7.2.22", "virt,aia=aplic"), ("10.0.2", "virt"), ("8.0", "virt")):
            with self.subTest(version=version), mock.patch.dict(os.environ, {"FAKE_QEMU_VERSION": version}), \
                    mock.patch.dict(run._versions, clear=True):
                self.assertEqual(run.qemu_version(str(FAKE_QEMU))[0], f"QEMU emulator version {version} (fake)")
                self.assertEqual(run.qemu_command(m, qemu=str(FAKE_QEMU))[2], want)
        self.assertEqual(run.qemu_version("/nonexistent/qemu"), ("", None))
        self.assertEqual(run.qemu_command(m, qemu="/nonexistent/qemu")[2], "virt,aia=aplic")


@unittest.skipUnless(HAVE_QEMU, "needs qemu-system-riscv64 and build/fw_dynamic.bin")
class TestQemuAccepts(unittest.TestCase):
    """Every command line the spec parser builds must be one QEMU 7.2 builds a machine from."""

    EXTRA = [("", ""), ("128M:1 128M:2", ""), ("128M:2 128M:1", "0-1:40"), ("64M:1 64M:1 64M:1 0:1", ""),
             ("128M:3 128M:2 0:1", "0-2:255"), ("1G:1", ""), ("256M:128", "")]

    def dump(self, numa, dist, bootargs="test"):
        out = Path(self.tmp.name) / "t.dtb"
        if out.exists():
            out.unlink()
        r = run_py("dumpdtb", "--numa", numa, "--dist", dist, "--bootargs", bootargs, "-o", str(out))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(r.stdout.startswith("run: "))
        self.assertGreater(out.stat().st_size, 1000)
        return out

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def test_matrix_topologies(self):
        for t in topo.MATRIX:
            with self.subTest(topology=t.name):
                self.dump(t.numa, t.dist, " ".join(["test", t.bootargs]).strip())

    def test_other_layouts(self):
        for numa, dist in self.EXTRA:
            with self.subTest(numa=numa, dist=dist):
                self.dump(numa, dist)

    @unittest.skipUnless(DTC, "needs dtc")
    def test_device_tree_content(self):
        dtb = self.dump("256M:2 256M:2 0:2", "0-1:20 0-2:20 1-2:30", "test withhold=0")
        dts = subprocess.run([DTC, "-I", "dtb", "-O", "dts", str(dtb)], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True).stdout
        self.assertIn('bootargs = "test withhold=0"', dts)
        self.assertEqual(dts.count("cpu@"), 6)
        self.assertIn("reg = <0x00 0x80000000 0x00 0x10000000>", dts)
        self.assertIn("reg = <0x00 0x90000000 0x00 0x10000000>", dts)
        self.assertIn("distance-matrix = <0x00 0x00 0x0a 0x00 0x01 0x14 0x00 0x02 0x14 0x01 0x00 0x14 "
                      "0x01 0x01 0x0a 0x01 0x02 0x1e 0x02 0x00 0x14 0x02 0x01 0x1e 0x02 0x02 0x0a>", dts)

    def qemu_fails(self, args, qemu=QEMU):
        cmd = [qemu, *args, "-nographic"]
        cmd[2] += f",dumpdtb={self.tmp.name}/r.dtb"
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              stdin=subprocess.DEVNULL, timeout=60)

    def test_refusals_match_qemu(self):
        """What the parser refuses, QEMU 10.0 and 7.2 really cannot build; what it routes to the APLIC on
        7.2, 7.2's PLIC really cannot build, and QEMU 10.0 builds with the default PLIC."""
        qemus = [QEMU] + ([QEMU_72] if Path(QEMU_72).exists() else [])
        memoryless_first = topo.Machine([topo.Node(0, 1), topo.Node(128 << 20, 1)])
        for q in qemus:
            with self.subTest(qemu=q):
                r = self.qemu_fails(topo.qemu_machine_args(memoryless_first), q)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn("FDT_ERR_EXISTS", r.stdout)
        for numa in ("128M:2 128M:1", "64M:1 64M:1 64M:1"):
            with self.subTest(numa=numa):
                m = topo.machine(numa)
                self.assertEqual(topo.qemu_machine_args(m)[1], "virt,aia=aplic")
                plain = topo.qemu_machine_args(m, plic_bug=False)
                self.assertEqual(plain[1], "virt")
                if (run.qemu_version(QEMU)[1] or (0,)) >= (8, 0):
                    self.assertEqual(run.qemu_command(m, qemu=QEMU)[2], "virt")
                    r = self.qemu_fails(plain)
                    self.assertEqual(r.returncode, 0, r.stdout)
                if QEMU_72 in qemus:
                    self.assertEqual(run.qemu_command(m, qemu=QEMU_72)[2], "virt,aia=aplic")
                    r = self.qemu_fails(plain, QEMU_72)
                    self.assertNotEqual(r.returncode, 0)
                    self.assertIn("unnamed-gpio-out", r.stdout)


class TestKtap(unittest.TestCase):
    def main(self, argv):
        self.out = io.StringIO()
        with contextlib.redirect_stdout(self.out):
            return ktap.main(argv)

    def pass_log(self):
        return (DATA / "ktap-pass.log").read_text()

    def test_pass_sample(self):
        s = ktap.parse(self.pass_log())
        self.assertEqual((s.suites, s.passed, s.failed, s.skipped), (3, 6, 0, 1))
        self.assertEqual([t.name for t in s.root.subtests], ["buddy", "heap", "proximity"])
        self.assertEqual([t.name for t in s.root.subtests[1].subtests], ["heap_params", "heap_remote"])
        self.assertEqual(self.main(["-q", str(DATA / "ktap-pass.log")]), 0)

    def test_fail_sample_with_prefix(self):
        s = ktap.parse((DATA / "ktap-fail.log").read_text())
        self.assertEqual((s.suites, s.passed, s.failed, s.skipped), (2, 2, 1, 1))
        name, diags = s.failures[0]
        self.assertEqual(name, "buddy.buddy_orders")
        self.assertEqual(diags, ["# buddy.c:88: order != 3 (0x2 vs 0x3, 2 vs 3)",
                                 "# buddy.c:90: expected heap_validate(h)"])
        self.assertEqual(self.main([str(DATA / "ktap-fail.log")]), 1)
        self.assertIn("  not ok buddy.buddy_orders\n      # buddy.c:88:", self.out.getvalue())

    def test_crlf_and_empty_plan(self):
        s = ktap.parse("junk\r\nKTAP version 1\r\n1..1\r\n    KTAP version 1\r\n    # Subtest: e\r\n"
                       "    1..0\r\nok 1 e\r\n")
        self.assertEqual((s.suites, s.passed, s.failed), (1, 0, 0))

    def broken(self, old, new, msg, count=1):
        text = self.pass_log()
        self.assertIn(old, text)
        with self.assertRaises(ktap.KtapError) as cm:
            ktap.parse(text.replace(old, new, count))
        self.assertIn(msg, str(cm.exception))

    def test_rejects(self):
        cases = [
            ("    ok 2 buddy_orders\n", "    ok 3 buddy_orders\n", "numbered 3, expected 2"),
            ("ok 2 heap\n", "ok 3 heap\n", "numbered 3, expected 2"),
            ("1..3\n    KTAP", "1..4\n    KTAP", "log ends after 3 of 4"),
            ("    1..3\n", "    1..2\n", "more results than the plan"),
            ("    ok 3 buddy_exhaust # SKIP needs 2 clusters\n", "", "but only 2 results"),
            ("    ok 2 buddy_orders\n", "  ok 2 buddy_orders\n", "unexpected indentation 2"),
            ("    ok 2 buddy_orders\n", "            ok 2 buddy_orders\n", "unexpected indentation 12"),
            ("        ok 2 order_5\n", "        not ok 2 order_5\n", "'heap_params' reported ok"),
            ("ok 3 proximity\n", "ok 3 wrongname\n", "closed by a result for 'wrongname'"),
            ("KTAP version 1\n1..3\n", "KTAP version 1\nok 1 x\n", "no plan"),
            ("KTAP version 1\n1..3\n", "KTAP version 2\n1..3\n", "unsupported KTAP version 2"),
            ("ok 1 buddy\n", "", "not closed by a result"),
        ]
        for old, new, msg in cases:
            with self.subTest(msg=msg):
                self.broken(old, new, msg)

    def test_truncated_and_missing(self):
        text = self.pass_log()
        with self.assertRaises(ktap.KtapError) as cm:
            ktap.parse(text[:text.index("ok 2 heap")])
        self.assertIn("log ends", str(cm.exception))
        with self.assertRaises(ktap.KtapError):
            ktap.parse("OpenSBI v1.1\nno tests here\n")
        with tempfile.NamedTemporaryFile("w", suffix=".log") as f:
            f.write("nothing\n")
            f.flush()
            self.assertEqual(self.main([f.name]), 2)
        self.assertIn("KTAP parse error: no 'KTAP version 1' line", self.out.getvalue())

    @unittest.skipUnless(run.KUNIT.exists(), "no build/kunit/kunit.py (or $PROXIMA_KUNIT)")
    def test_kunit_agrees(self):
        for name, want in (("ktap-pass.log", 0), ("ktap-fail.log", 1)):
            with self.subTest(log=name):
                r = subprocess.run(run.kunit_command(DATA / name), stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
                self.assertEqual(r.returncode, want, r.stdout)
                self.assertIn("Testing complete", r.stdout)


class FakeQemuCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def env(self, mode):
        return {"PROXIMA_QEMU": str(FAKE_QEMU), "PROXIMA_FIRMWARE": str(FAKE_QEMU), "FAKE_QEMU_MODE": mode,
                "FAKE_QEMU_ARGV": str(self.dir / "argv"), "PROXIMA_KUNIT": "/nonexistent/kunit.py"}


class TestLineEnds(unittest.TestCase):
    def test_chunks(self):
        ends = run._LineEnds()
        pieces = [b"a\r", b"\r", b"\nb\r\n", b"c\r", b"d\r\r\r", b"\n", b"e\r"]
        out = b"".join(ends(p) for p in pieces) + ends.flush()
        self.assertEqual(out, b"a\nb\nc\rd\ne\r")


class TestRunProcess(FakeQemuCase):
    def run_fake(self, mode, *args, timeout=60):
        return run_py("run", "--kernel", str(FAKE_QEMU), *args, env=self.env(mode), timeout=timeout)

    def test_pass_prints_command_first_and_console(self):
        r = self.run_fake("pass", "--numa", "256M:2 256M:2", "--bootargs", "test x=1", "--icount", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        first = r.stdout.splitlines()[0]
        self.assertTrue(first.startswith(f"run: {FAKE_QEMU} -M virt -bios "), first)
        self.assertIn("-icount shift=0,sleep=off", first)
        self.assertIn("smp: harts up=4 expected=4", r.stdout)
        self.assertIn("3 passed, 0 failed", r.stdout)
        argv = (self.dir / "argv").read_text().split("\n")
        self.assertEqual(argv[argv.index("-append") + 1], "test x=1")

    def test_mesh_goes_in_front_of_the_bootargs(self):
        r = self.run_fake("pass", "--numa", "256M:2 256M:2", "--mesh", "8x8", "--hop", "3", "--bootargs", "test")
        self.assertEqual(r.returncode, 0, r.stderr)
        argv = (self.dir / "argv").read_text().split("\n")
        self.assertEqual(argv[argv.index("-append") + 1], "mesh=8x8 hop=3 test")

    def test_mesh_refusals(self):
        for args, msg in ((["--mesh", "17x2"], "each side must be 1..16"),
                          (["--mesh", "8"], "want XxY"),
                          (["--numa", "256M:1 256M:1 256M:1", "--mesh", "2x1"], "2 cells for 3 NUMA nodes"),
                          (["--mesh", "4x4", "--hop", "9"], "a hop costs 1..8"),
                          (["--hop", "2"], "without MESH")):
            with self.subTest(args=args):
                r = self.run_fake("pass", *args)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertIn(msg, r.stderr)
                self.assertFalse((self.dir / "argv").exists(), "QEMU was started")

    def test_exit_status_is_the_kernels(self):
        for mode, want in (("exit:3", 3), ("exit:1", 1), ("panic", 3), ("exit:0", 0)):
            with self.subTest(mode=mode):
                r = self.run_fake(mode)
                self.assertEqual(r.returncode, want, r.stderr)

    def test_timeout(self):
        t0 = time.monotonic()
        r = self.run_fake("hang", "--timeout", "2")
        self.assertLess(time.monotonic() - t0, 15)
        self.assertEqual(r.returncode, 124)
        self.assertIn("run: timeout after 2 s", r.stderr)
        self.assertIn("smp: harts up=8 expected=8", r.stdout)   # output before the hang got through

    def test_log_tee(self):
        log = self.dir / "sub" / "console.log"
        r = self.run_fake("pass", "--log", str(log))
        self.assertEqual(r.returncode, 0)
        self.assertIn("KTAP version 1", log.read_text())
        self.assertIn(log.read_text().replace("\r\n", "\n").strip(), r.stdout.replace("\r\n", "\n"))

    def test_gdb_and_disk(self):
        disk = self.dir / "disk.img"
        disk.write_bytes(bytes(4096))
        r = self.run_fake("pass", "--gdb", "--disk", str(disk), "--extra", "-d guest_errors")
        self.assertEqual(r.returncode, 0)
        self.assertIn("target remote :1234", r.stdout)
        argv = (self.dir / "argv").read_text().split("\n")
        self.assertIn("-S", argv)
        self.assertIn(f"file={disk},if=none,format=raw,id=hd0", argv)
        self.assertEqual(argv[-3:-1], ["-d", "guest_errors"])

    def test_qemu_missing(self):
        env = self.env("pass")
        env["PROXIMA_QEMU"] = "/nonexistent/qemu"
        r = run_py("run", "--kernel", str(FAKE_QEMU), env=env)
        self.assertEqual(r.returncode, 127)
        self.assertIn("cannot start", r.stderr)


class TestConsoleScript(FakeQemuCase):
    """A stdin that is not a terminal is fed to the console prompt a line at a time, then ^D."""

    def run_script(self, mode, data, *args):
        full = dict(os.environ)
        full.update(self.env(mode))
        return subprocess.run([sys.executable, str(ROOT / "tools/run.py"), "run", "--kernel", str(FAKE_QEMU), *args],
                              cwd=ROOT, env=full, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=60)

    def test_lines_in_order_then_halt(self):
        r = self.run_script("console", b"help\r\nheaps 1\n\nhalt\nnever sent\n")
        out = r.stdout.decode()
        self.assertEqual(r.returncode, 0, out + r.stderr.decode())
        ran = [ln for ln in out.splitlines() if ln.startswith("ran: ")]
        self.assertEqual(ran, ["ran: help", "ran: heaps 1", "ran: ", "ran: halt"])
        self.assertNotIn("stdin closed", out)

    def test_end_of_script_is_eot(self):
        r = self.run_script("console", b"topo\n")
        out = r.stdout.decode()
        self.assertEqual(r.returncode, 0, out)
        self.assertIn("ran: topo", out)
        self.assertIn("eot", out)

    def test_empty_stdin_halts_at_the_first_prompt(self):
        r = self.run_script("console", b"")
        self.assertEqual(r.returncode, 0)
        self.assertIn("eot", r.stdout.decode())

    def test_no_prompt_no_hang(self):
        """test/bench= bootargs: the kernel never prompts, the script is never sent, the run ends as today."""
        r = self.run_script("pass", b"help\nhalt\n", "--bootargs", "test")
        self.assertEqual(r.returncode, 0)
        self.assertIn("3 passed, 0 failed", r.stdout.decode())

    def test_prompt_detected_across_reads(self):
        p = run._Prompt()
        for piece in (b"boot\r\nprox", b"ima", b"> "):
            self.assertFalse(p.seen.is_set())
            p(piece)
        self.assertTrue(p.seen.is_set())


class TestMatrixProcess(FakeQemuCase):
    def matrix(self, mode, only="1x1,2x2", *args):
        return run_py("matrix", "--only", only, "--kernel", str(FAKE_QEMU), "--log-dir", str(self.dir / "logs"),
                      *args, env=self.env(mode), timeout=120)

    def test_pass(self):
        r = self.matrix("pass", "1x1,2x2,withheld-first")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("run: matrix: " + str(FAKE_QEMU) + ": QEMU emulator version 10.0.2 (fake)", r.stdout)
        lines = [x for x in r.stdout.splitlines() if not x.startswith("run: ")]
        self.assertRegex(lines[0], r"^PASS 1x1 +harts 1/1 +cases 3 passed, 0 failed +\d+\.\d s$")
        self.assertRegex(lines[1], r"^PASS 2x2 +harts 4/4 ")
        self.assertEqual(lines[-2:], ["matrix: 3 passed, 0 failed", "9 passed, 0 failed"])
        log = (self.dir / "logs/withheld-first.log").read_text()
        self.assertIn("bootargs: test withhold=0", log)
        self.assertIn("run: exit 0", log)
        self.assertTrue(log.startswith("run: QEMU emulator version 10.0.2 (fake)\nrun: "), log[:100])

    def test_failures_and_reasons(self):
        cases = [("fail", "1 cases failed", "2 passed, 1 failed"),
                 ("panic", "panic: hart 0: heap_free: double free; exit 3", "0 passed, 1 failed"),
                 ("harts", "harts 3/4", "3 passed, 0 failed"),
                 ("nosummary", "missing summary line", "0 passed, 1 failed"),
                 ("badktap", "ktap parse error: line", "3 passed, 0 failed"),
                 ("exit:5", "exit 5", "0 passed, 1 failed")]
        for mode, reason, cases_line in cases:
            with self.subTest(mode=mode):
                r = self.matrix(mode, "2x2")
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                line = [x for x in r.stdout.splitlines() if not x.startswith("run: ")][0]
                self.assertTrue(line.startswith("FAIL 2x2 "), line)
                self.assertIn(f"(reason: ", line)
                self.assertIn(reason, line)
                self.assertEqual(r.stdout.splitlines()[-2], "matrix: 0 passed, 1 failed")
                # a failed boot without a failing case still counts one failure in the closing line
                want = cases_line if mode in ("fail", "panic", "nosummary", "exit:5") else "3 passed, 1 failed"
                self.assertEqual(r.stdout.splitlines()[-1], want)

    def test_timeout_scaled(self):
        t0 = time.monotonic()
        r = self.matrix("hang", "1x1", "--timeout-scale", "0.01")     # 180 s -> 1.8 s
        self.assertLess(time.monotonic() - t0, 20)
        self.assertEqual(r.returncode, 1)
        self.assertIn("(reason: timeout; missing summary line", r.stdout)

    def test_list_and_skip(self):
        r = self.matrix("pass", "", "--list")
        self.assertEqual(r.returncode, 0)
        self.assertEqual(len(r.stdout.splitlines()), len(topo.MATRIX))
        self.assertIn("128-harts", r.stdout)
        r = run_py("matrix", "--only", "debug-build", "--log-dir", str(self.dir / "logs"), env=self.env("pass"))
        if not (ROOT / "build/kernel-debug.elf").exists():
            self.assertEqual(r.returncode, 0, r.stdout)
            self.assertIn("SKIP debug-build", r.stdout)
            self.assertIn("matrix: 0 passed, 0 failed, 1 skipped", r.stdout)


class TestBenchProcess(FakeQemuCase):
    @unittest.skipIf(run.BENCH_REPORT.exists(), "tools/bench_report.py exists: would run on fake logs")
    def test_bench(self):
        out = self.dir / "bench"
        r = run_py("bench", "--kernel", str(FAKE_QEMU), "--out-dir", str(out), env=self.env("bench"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([ln for ln in r.stdout.splitlines() if ln.startswith("bench:")],
                         ["bench: name=alloc_local ns=120 ops=1000", "bench: name=alloc_remote ns=300"] *
                         len(run.BENCH_BOOTS))
        cmds = [ln for ln in r.stdout.splitlines() if ln.startswith("run: ")]
        self.assertIn("-icount shift=0,sleep=off", cmds[0])
        self.assertIn("-append bench ", cmds[0] + " ")
        self.assertNotIn("-icount", cmds[1])
        self.assertIn("-append bench=contention", cmds[1])
        self.assertIn("bootargs: bench=contention", (out / "mttcg.log").read_text())
        self.assertIn("bootargs: bench", (out / "icount.log").read_text())
        self.assertIn("-append bench=mesh mesh=16x16", cmds[2])         # the emulated meshes
        self.assertIn("-append bench=placement mesh=8x8", cmds[3])


def build_fake_kernel(out, name, *defines):
    src = FAKE_KERNEL
    elf = Path(out) / f"{name}.elf"
    subprocess.run([CROSS_GCC, "-march=rv64gc", "-mabi=lp64d", "-mcmodel=medany", "-O2", "-ffreestanding",
                    "-nostdlib", "-static", "-T", str(src / "fake.ld"), "-Wl,--no-warn-rwx-segments",
                    f"-DCONSOLE_FILE=\"{DATA / 'ktap-pass.log'}\"", *defines, str(src / "entry.S"),
                    str(src / "main.c"), "-o", str(elf)], check=True)
    return elf


@unittest.skipUnless(HAVE_QEMU and CROSS_GCC, "needs qemu-system-riscv64, build/fw_dynamic.bin, riscv64 gcc")
class TestStandInKernel(unittest.TestCase):
    """Real boots through OpenSBI 1.1 of a tiny kernel that starts every hart and powers off with a code."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.ok = build_fake_kernel(cls.tmp.name, "ok", "-DEXIT_CODE=0")
        cls.bad = build_fake_kernel(cls.tmp.name, "bad", "-DEXIT_CODE=3")
        cls.hang = build_fake_kernel(cls.tmp.name, "hang", "-DEXIT_CODE=0", "-DHANG")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def boot(self, kernel, *args):
        return run_py("run", "--kernel", str(kernel), "--numa", "128M:1 128M:2", *args,
                      env={"PROXIMA_KUNIT": "/nonexistent/kunit.py"})

    def test_exit_codes(self):
        r = self.boot(self.ok)
        self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr)
        self.assertIn("smp: harts up=3 expected=3", r.stdout)
        self.assertEqual(self.boot(self.bad).returncode, 3)

    def test_hang_times_out(self):
        r = self.boot(self.hang, "--timeout", "3")
        self.assertEqual(r.returncode, 124)
        self.assertIn("6 passed, 0 failed", r.stdout)

    def test_matrix_small(self):
        with tempfile.TemporaryDirectory() as logs:
            r = run_py("matrix", "--only", "1x1,numa4-unequal,memoryless-last,cross-4g", "--kernel",
                       str(self.ok), "--log-dir", logs, timeout=600)   # with kunit.py when it is there
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("PASS numa4-unequal    harts 8/8", r.stdout)
        self.assertEqual(r.stdout.splitlines()[-1], "24 passed, 0 failed")


if __name__ == "__main__":
    unittest.main()
