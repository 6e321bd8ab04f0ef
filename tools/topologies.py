"""topologies.py - NUMA topology specs for QEMU virt (10.0 and 7.2): parsing, validation, QEMU arguments, the matrix.

A spec is what `make run NUMA=... DIST=...` passes:
    NUMA  "512M:2 256M:3 0:2"        one <mem>:<harts> per node; mem with a K/M/G suffix, or 0 = memoryless
    DIST  "0-1:20 0-2:30 1-2:25"     symmetric node pairs; unnamed pairs default to 20

Everything QEMU (10.0 or 7.2, with OpenSBI 1.1) cannot run is refused here with a SpecError, before QEMU
starts: more than 4 nodes, a node without harts, more than 128 harts, a memoryless node anywhere but last,
no memory at all. Both versions refuse the same layouts; 7.2 also needs the APLIC for some (needs_aplic).
QEMU lays the node memories back to back from 0x80000000 in node order.
"""
import re
from dataclasses import dataclass, field

MAX_NODES = 4            # the kernel's 2x2 mesh; QEMU itself would take 8 sockets
MAX_HARTS = 128          # OpenSBI 1.1's hart cap
MIN_TOTAL_MEM = 16 << 20  # OpenSBI (2M) + the kernel at 0x80200000 + the DTB at the top of RAM
MEM_ALIGN = 1 << 20      # QEMU rounds -m to 8K and then refuses node sums that differ; whole MiB are safe
DRAM_BASE = 0x80000000

LOCAL_DISTANCE = 10
DEFAULT_REMOTE_DISTANCE = 20
MIN_DISTANCE = 10
MAX_DISTANCE = 255

# The default machine: 4 sockets x 2 harts, 256M each, on a 2x2 mesh (cluster c at x=c%2, y=c/2).
DEFAULT_NUMA = "256M:2 256M:2 256M:2 256M:2"


def mesh_dist(nnodes, width=2, hop=10):
    """DIST text for clusters on a mesh of the given width: 10 per hop on top of the local 10."""
    pairs = []
    for i in range(nnodes):
        for j in range(i + 1, nnodes):
            hops = abs(i % width - j % width) + abs(i // width - j // width)
            pairs.append(f"{i}-{j}:{LOCAL_DISTANCE + hop * hops}")
    return " ".join(pairs)


DEFAULT_DIST = mesh_dist(4)  # 0-1:20 0-2:20 0-3:30 1-2:30 1-3:20 2-3:20


class SpecError(ValueError):
    """A NUMA/DIST spec that is malformed or that QEMU 7.2 cannot run."""


MESH_MAX = 16            # the kernel's largest mesh side (TOPO_MESH_MAX): up to 16x16 = 256 clusters
HOP_MAX = 8              # platform/mesh.h MESH_HOP_MAX


def mesh_bootargs(mesh, hop="", nnodes=None):
    """Bootargs for an emulated mesh: 'mesh=XxY [hop=N]' from MESH=XxY and HOP=N ('' = none).

    Refuses (SpecError) what the kernel would refuse before it boots: a malformed XxY, a side outside
    1..16, fewer cells than nodes, a hop outside 1..8. (Parts of a socket's RAM below the kernel's 2M
    minimum are the kernel's to refuse: it says so and boots without emulation.)"""
    mesh, hop = (mesh or "").strip(), (str(hop) if hop is not None else "").strip()
    if not mesh:
        if hop:
            raise SpecError("HOP= without MESH=: the hop cost only applies to an emulated mesh")
        return ""
    m = re.fullmatch(r"(\d+)[xX](\d+)", mesh)
    if not m:
        raise SpecError(f"MESH={mesh!r}: want XxY, e.g. 8x8")
    x, y = int(m.group(1)), int(m.group(2))
    if not (1 <= x <= MESH_MAX and 1 <= y <= MESH_MAX):
        raise SpecError(f"MESH={mesh}: each side must be 1..{MESH_MAX} (at most {MESH_MAX * MESH_MAX} clusters)")
    if nnodes is not None and x * y < nnodes:
        raise SpecError(f"MESH={mesh}: {x * y} cells for {nnodes} NUMA nodes (at least one cell per node)")
    words = [f"mesh={x}x{y}"]
    if hop:
        if not hop.isdigit() or not 1 <= int(hop) <= HOP_MAX:
            raise SpecError(f"HOP={hop}: a hop costs 1..{HOP_MAX}")
        words.append(f"hop={int(hop)}")
    return " ".join(words)


@dataclass
class Node:
    mem: int    # bytes; 0 = memoryless
    harts: int


@dataclass
class Machine:
    """A validated topology: nodes in order, and the full distance matrix or None (let the kernel assume)."""
    nodes: list
    dist: list = None          # dist[i][j], or None: pass no -numa dist
    default: bool = False      # built from an empty NUMA

    @property
    def harts(self):
        return sum(n.harts for n in self.nodes)

    @property
    def mem(self):
        return sum(n.mem for n in self.nodes)

    def hart_range(self, i):
        """First and last hart id of node i (QEMU numbers harts contiguously in node order)."""
        first = sum(n.harts for n in self.nodes[:i])
        return first, first + self.nodes[i].harts - 1

    def mem_range(self, i):
        """Base address and size of node i's memory (back to back from DRAM_BASE)."""
        return DRAM_BASE + sum(n.mem for n in self.nodes[:i]), self.nodes[i].mem

    @property
    def needs_aplic(self):
        """True when QEMU 7.2's default PLIC cannot be built for this layout.

        The PLIC aborts with "Property 'riscv.sifive.plic.unnamed-gpio-out[N]' not found" whenever a
        socket's first hart id exceeds its hart count (3+ sockets of equal size, or 2 sockets with
        fewer harts in the second); the brief (and this rule) take the APLIC for 3-4 nodes in any case.
        """
        if len(self.nodes) >= 3:
            return True
        return any(self.hart_range(i)[0] > n.harts for i, n in enumerate(self.nodes))

    def describe(self):
        """One line per node, as the kernel should see it."""
        out = []
        for i, n in enumerate(self.nodes):
            lo, hi = self.hart_range(i)
            base, size = self.mem_range(i)
            mem = f"0x{base:x}+0x{size:x}" if size else "none"
            dist = ",".join(str(d) for d in self.dist[i]) if self.dist else "-"
            out.append(f"node {i}: harts={lo}-{hi} mem={mem} dist={dist}")
        return out


_SIZE_RE = re.compile(r"^(\d+)([KMG])$", re.IGNORECASE)
_SHIFT = {"K": 10, "M": 20, "G": 30}


def parse_size(text):
    """Parse "512M", "2G", "65536K" or "0" into bytes; raise SpecError otherwise."""
    if text == "0":
        return 0
    m = _SIZE_RE.match(text)
    if not m:
        raise SpecError(f"bad memory size '{text}': want a number with a K, M or G suffix, or 0")
    size = int(m.group(1)) << _SHIFT[m.group(2).upper()]
    if size % MEM_ALIGN:
        raise SpecError(f"bad memory size '{text}': must be a whole number of MiB")
    return size


def format_size(size):
    """Bytes as QEMU's shortest exact suffix form: 2G, 256M, 1536M."""
    for suffix, shift in (("G", 30), ("M", 20), ("K", 10)):
        if size and size % (1 << shift) == 0:
            return f"{size >> shift}{suffix}"
    return str(size)


def parse_numa(text):
    """Parse a NUMA spec into a list of Node; raise SpecError for anything malformed or unrunnable."""
    words = text.split()
    if not words:
        raise SpecError("empty NUMA spec")
    if len(words) > MAX_NODES:
        raise SpecError(f"{len(words)} nodes: at most {MAX_NODES} are supported")
    nodes = []
    for i, word in enumerate(words):
        mem, sep, harts = word.partition(":")
        if not sep or not harts.isdigit():
            raise SpecError(f"node {i}: '{word}' is not <mem>:<harts>")
        n = Node(parse_size(mem), int(harts))
        if n.harts == 0:
            raise SpecError(f"node {i}: CPU-less nodes are refused (every node needs at least one hart)")
        nodes.append(n)
    total = sum(n.harts for n in nodes)
    if total > MAX_HARTS:
        raise SpecError(f"{total} harts: OpenSBI 1.1 supports at most {MAX_HARTS}")
    for i, n in enumerate(nodes[:-1]):
        if n.mem == 0:
            raise SpecError(f"node {i} is memoryless: QEMU accepts a memoryless node only as the last node")
    if sum(n.mem for n in nodes) == 0:
        raise SpecError("all nodes are memoryless")
    if sum(n.mem for n in nodes) < MIN_TOTAL_MEM:
        raise SpecError(f"{format_size(sum(n.mem for n in nodes))} of memory: at least "
                        f"{format_size(MIN_TOTAL_MEM)} in total (OpenSBI, the kernel, the DTB)")
    return nodes


_PAIR_RE = re.compile(r"^(\d+)-(\d+):(\d+)$")


def parse_dist(text, nnodes):
    """Parse a DIST spec into a full nnodes x nnodes matrix (missing pairs 20), or None when empty."""
    words = text.split()
    if not words:
        return None
    dist = [[LOCAL_DISTANCE if i == j else None for j in range(nnodes)] for i in range(nnodes)]
    for word in words:
        m = _PAIR_RE.match(word)
        if not m:
            raise SpecError(f"bad distance '{word}': want <i>-<j>:<distance>, e.g. 0-1:20")
        i, j, d = (int(g) for g in m.groups())
        for node in (i, j):
            if node >= nnodes:
                raise SpecError(f"distance '{word}' names node {node}, but there are only {nnodes} nodes")
        if i == j:
            raise SpecError(f"distance '{word}': a node's distance to itself is always {LOCAL_DISTANCE}")
        if not MIN_DISTANCE <= d <= MAX_DISTANCE:
            raise SpecError(f"distance '{word}': must be between {MIN_DISTANCE} and {MAX_DISTANCE}")
        if dist[i][j] is not None and dist[i][j] != d:
            raise SpecError(f"distance '{word}' contradicts {i}-{j}:{dist[i][j]}")
        dist[i][j] = dist[j][i] = d
    for i in range(nnodes):
        for j in range(nnodes):
            if dist[i][j] is None:
                dist[i][j] = DEFAULT_REMOTE_DISTANCE
    return dist


def machine(numa="", dist=""):
    """Validate a NUMA/DIST pair and return the Machine.

    An empty NUMA is the default machine (4x2 harts, 256M each) with the 2x2-mesh distances, unless a DIST
    is given, which then replaces the mesh (unnamed pairs 20). A custom NUMA with an empty DIST gets no
    distance map at all (the kernel then assumes 10 local, 20 remote).
    """
    default = not numa.split()
    nodes = parse_numa(DEFAULT_NUMA if default else numa)
    if default and not dist.split():
        dist = DEFAULT_DIST
    return Machine(nodes, parse_dist(dist, len(nodes)), default)


def qemu_machine_args(m, dumpdtb=None, plic_bug=True):
    """The QEMU arguments that build machine m: -M, -smp, -m, the memory backends, -numa node/dist.

    plic_bug: the QEMU that runs them has 7.2's PLIC bug (see Machine.needs_aplic), so layouts that hit it
    take the APLIC; QEMU 8.0 and later build the default PLIC for every layout.
    """
    opts = "virt" + (",aia=aplic" if plic_bug and m.needs_aplic else "")
    if dumpdtb:
        opts += f",dumpdtb={dumpdtb}"
    args = ["-M", opts, "-smp", str(m.harts), "-m", format_size(m.mem)]
    for i, n in enumerate(m.nodes):
        if n.mem:
            args += ["-object", f"memory-backend-ram,id=m{i},size={format_size(n.mem)}"]
    for i, n in enumerate(m.nodes):
        lo, hi = m.hart_range(i)
        cpus = f"{lo}-{hi}" if hi > lo else f"{lo}"
        args += ["-numa", f"node,nodeid={i},cpus={cpus}" + (f",memdev=m{i}" if n.mem else "")]
    if m.dist:
        for i in range(len(m.nodes)):
            for j in range(len(m.nodes)):
                if i != j:
                    args += ["-numa", f"dist,src={i},dst={j},val={m.dist[i][j]}"]
    return args


# -- the test matrix: what `make test` boots after the host tests ------------------------------------------

TIMEOUT_SMALL = 180      # seconds for up to 8 harts under TCG on a 2-core machine
TIMEOUT_128 = 600        # seconds for the 128-hart boot
TIMEOUT_BIG_MEM = 300    # seconds for the 4G cross-4G boot (more memory to initialise and test)


@dataclass
class Topology:
    name: str
    numa: str
    dist: str = ""
    bootargs: str = ""               # extra bootargs after "test"
    timeout: int = TIMEOUT_SMALL
    kernel: str = "build/kernel.elf"
    optional: bool = False           # skipped (not failed) when the kernel file is missing
    qemu: str = ""                   # "" = the default QEMU (10.0), "7.2" = build/qemu-7.2 (run.qemu_binary)
    icount: bool = False             # boot under -icount shift=0,sleep=off
    notes: str = field(default="", compare=False)


MATRIX = [
    Topology("1x1", "128M:1"),
    Topology("2x2", "256M:2 256M:2"),
    Topology("numa4-unequal", "512M:2 256M:2 128M:1 128M:3", DEFAULT_DIST, bootargs="private=c1:1M:pages/h3:512K",
             notes="cluster-private scratch in cluster 1 backed by a page_pool, cpu-private scratch for hart 3 "
                   "by a memory_pool (suite mem)"),
    Topology("memoryless-last", "256M:2 256M:2 0:2", "0-1:20 0-2:20 1-2:30"),
    Topology("withheld-first", "256M:2 256M:2 256M:2", bootargs="withhold=0 cma=scratch:2M@1;default:8M@2",
             notes="cluster 0's RAM withheld from the allocator: a memoryless cluster in first position; "
                   "large DMA requests from CMA in cluster 2 (suite cma: the receipt names it)"),
    Topology("cross-4g", "2G:2 2G:2",
             bootargs="dma_limit=0x100000000 private=c0:1M/h1:256K cma=dma0:4M@0:virtio0;default:8M",
             timeout=TIMEOUT_BIG_MEM,
             notes="devices reach cluster 0 only (below 4G): cluster 1's DMA requests fall back (suite mem)"),
    Topology("straddle-4g", "2560M:2 1536M:2", bootargs="dma_limit=0x100000000 cma=default:8M",
             timeout=TIMEOUT_BIG_MEM,
             notes="cluster 0's RAM crosses the DMA limit: its part below serves DMA requests, the CMA "
                   "region default stays small (suites mem, virtio)"),
    Topology("faults", "256M:2 256M:2 256M:2", "0-1:20 0-2:30 1-2:25",
             bootargs="heap_limit=0:0/1:1M refill_fail=100",
             notes="cluster 0's heap starts empty, cluster 1's tiny, 10% of cache refills fail (suite faults)"),
    Topology("tiny-heaps", "256M:2 256M:2", bootargs="heap_limit=0:64K/1:64K",
             notes="both heaps start at 64 KiB: cases that need more memory skip and say why (suites mem, "
                   "virtio)"),
    Topology("sleep-at-once", "", bootargs="lock_spin=0",
             notes="the default machine with lock_spin=0: every lock and SMP waiter sleeps in wfi at once, "
                   "woken only by IPIs (a lost wake-up hangs the boot)"),
    Topology("128-harts", "256M:32 256M:32 256M:32 256M:32", DEFAULT_DIST, timeout=TIMEOUT_128),
    Topology("mesh-4x4", "128M:4", bootargs="mesh=4x4",
             notes="one socket emulated as a 4x4 mesh: 16 clusters of 8M, harts in 4 of them (suite mesh)"),
    Topology("mesh-8x8-128", "128M:32 128M:32 128M:32 128M:32", DEFAULT_DIST,
             bootargs="mesh=8x8 withhold=27 filter=mesh", timeout=TIMEOUT_128,
             notes="4 sockets x 32 harts as an 8x8 mesh: 64 clusters of 2M with 2 harts each, the RAM of "
                   "cluster 27 (3,3) withheld; only the topology and mesh cases (128 harts are slow)"),
    Topology("mesh-16x16", "128M:4 128M:4 128M:4 128M:4", DEFAULT_DIST, bootargs="mesh=16x16 hop=3 withhold=119",
             notes="4 sockets as a 16x16 mesh: 256 clusters of 2M, 240 of them without harts, hop=3, "
                   "cluster 119 (7,7) in the middle withheld"),
    Topology("mesh-refused", "32M:1 32M:1", bootargs="mesh=16x16 filter=topology",
             notes="128 clusters of 256K per socket are below the 2M minimum: one line says so and the "
                   "kernel boots the 2 sockets as 2 clusters"),
    # QEMU 7.2 keeps working: the runner gives it the APLIC where its PLIC aborts, and under -icount the
    # kernel kicks the hart 7.2 leaves in START_PENDING (both are checked here, on every make test)
    Topology("qemu7.2-icount", "", qemu="7.2", icount=True,
             notes="Debian 12's QEMU 7.2 on the default machine (4 sockets: APLIC) under -icount"),
    Topology("qemu7.2-memoryless", "256M:2 256M:2 0:2", "0-1:20 0-2:20 1-2:30", qemu="7.2",
             notes="QEMU 7.2 with a memoryless last node (3 sockets: APLIC)"),
    Topology("debug-build", "", kernel="build/kernel-debug.elf", optional=True,
             notes="the DEBUG=1 kernel on the default machine; skipped until build/kernel-debug.elf exists"),
]
