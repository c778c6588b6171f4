#!/usr/bin/python3
"""Writes the hand-made snapshots of this folder as scripts/collect-machine would collect them on
machines we do not have: qemu-2node-hotplug (a QEMU guest with a possible but not online node 2,
movable blocks online and offline, DMA32 blocks) and four-socket-slit (SLIT 10/21/31, 1 GiB
blocks). vm-1node is a real snapshot of the development VM, trimmed.

Usage: tests/topologies/snapshots/make_hand_made.py tests/topologies/snapshots
"""
import pathlib
import sys
root = pathlib.Path(sys.argv[1])

def w(base, path, text):
    p = base / path.lstrip('/')
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text + "\n")

def manifest(base, release, caches):
    w(base, "MANIFEST", f"format: slabsim-machine-snapshot 1\ndate: 20261204T120000Z\nuname-r: {release}\nuname-m: x86_64\nslabinfo: not readable (needs root on most systems); skipped\nslab: {caches} named caches")

def cache(base, name, size, align, flags):
    d = f"/sys/kernel/slab/{name}/"
    w(base, d + "object_size", str(size)); w(base, d + "align", str(align))
    for f in ["hwcache_align", "reclaim_account", "cache_dma", "destroy_by_rcu", "poison", "red_zone", "store_user", "sanity_checks", "trace"]:
        w(base, d + f, "1" if f in flags else "0")

def machine(base, possible, online, cpus_of, package_of, blocks, dist, block_size="8000000"):
    N = "/sys/devices/system/node/"; M = "/sys/devices/system/memory/"; C = "/sys/devices/system/cpu/"
    w(base, N + "possible", possible); w(base, N + "online", online)
    w(base, N + "has_cpu", ",".join(str(n) for n in cpus_of if cpus_of[n]) )
    mem_nodes = sorted({b[1] for b in blocks if b[2] == "online"})
    w(base, N + "has_memory", ",".join(map(str, mem_nodes)))
    w(base, N + "has_normal_memory", ",".join(map(str, sorted({b[1] for b in blocks if b[2] == "online" and b[3] != "Movable"}))))
    allcpus = []
    for n, cl in cpus_of.items():
        w(base, N + f"node{n}/cpulist", cl_str(cl))
        w(base, N + f"node{n}/distance", " ".join(map(str, dist[n])))
        w(base, N + f"node{n}/memory_blocks", "\n".join(f"memory{b[0]}" for b in sorted(blocks, key=lambda b: str(b[0])) if b[1] == n) if any(b[1] == n for b in blocks) else "")
        allcpus += cl
    for c in allcpus:
        w(base, C + f"cpu{c}/topology/physical_package_id", str(package_of[c]))
        w(base, C + f"cpu{c}/topology/core_id", str(c % 2)); w(base, C + f"cpu{c}/topology/die_id", "0")
    for f in ["online", "present", "possible"]:
        w(base, C + f, cl_str(sorted(allcpus)))
    w(base, M + "block_size_bytes", block_size)
    for (i, n, state, zones) in blocks:
        w(base, M + f"memory{i}/state", state); w(base, M + f"memory{i}/valid_zones", zones)
        w(base, M + f"memory{i}/phys_index", format(i, "08x"))

def cl_str(cl):
    out=[]; i=0
    while i < len(cl):
        j=i
        while j+1 < len(cl) and cl[j+1]==cl[j]+1: j+=1
        out.append(str(cl[i]) if i==j else f"{cl[i]}-{cl[j]}"); i=j+1
    return ",".join(out)

# A QEMU guest: -smp 4,sockets=2 -numa node,nodeid=0,cpus=0-1 -numa node,nodeid=1,cpus=2-3
# -numa node,nodeid=2 (no CPUs, no memory: possible, not online), 2 GiB per node, node 1 with
# 4 blocks onlined movable and 4 present but offline (movable by default).
q = root / "qemu-2node-hotplug"
blocks = [(0, 0, "online", "none"), *[(i, 0, "online", "DMA32") for i in range(1, 8)],
          *[(i, 0, "online", "Normal") for i in range(8, 16)],
          *[(i, 1, "online", "Normal") for i in range(16, 24)],
          *[(i, 1, "online", "Movable") for i in range(24, 28)],
          *[(i, 1, "offline", "Movable Normal") for i in range(28, 32)]]
machine(q, "0-2", "0-1", {0: [0, 1], 1: [2, 3]}, {0: 0, 1: 0, 2: 1, 3: 1}, blocks,
        {0: [10, 20], 1: [20, 10]})
manifest(q, "6.1.0-13-amd64", 3)
cache(q, "kmalloc-64", 64, 64, ["hwcache_align"])
cache(q, "dentry", 192, 8, ["reclaim_account", "hwcache_align"])
cache(q, "dma-kmalloc-512", 512, 512, ["cache_dma"])
(q / "sys/kernel/slab/:0000064").mkdir(parents=True)
w(q, "/sys/kernel/slab/:0000064/object_size", "64")

# Four sockets of 2 CPUs, one node each, SLIT 10/21/31 as a Xeon E7-4800 reports it.
f = root / "four-socket-slit"
slit = [[10, 21, 31, 31], [21, 10, 31, 31], [31, 31, 10, 21], [31, 31, 21, 10]]
blocks = [(i, i // 4, "online", "Normal") for i in range(16)]
machine(f, "0-3", "0-3", {n: [2 * n, 2 * n + 1] for n in range(4)}, {c: c // 2 for c in range(8)},
        blocks, {n: slit[n] for n in range(4)}, block_size="40000000")
manifest(f, "6.1.0-13-amd64", 1)
cache(f, "kmalloc-128", 128, 128, ["hwcache_align"])
