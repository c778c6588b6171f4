"""`scripts/kernel-check --all`: the full set of checks. Three machines -
qemu-2node-hotplug, the QEMU-shaped memoryless-and-cxl and a four-node
machine with a 10/21/31 SLIT - each at 2, 4 and 8 vCPUs, each with a workload
made here from the machine: every DIMM hot-added and onlined in its zone, a
burst of kmem_cache_alloc_node() from one CPU of every node with CPUs to every
node and to NUMA_NO_NODE, node offlines with live objects and after they are
freed. The CI workload (workloads/node2-hotplug.json) runs first, as is."""

import json
import os
import re
import subprocess

from .model_run import ROOT, slabsim_binary

KC = os.path.join(ROOT, "kernel-check")
MACHINES = [
    ("qemu-2node-hotplug", os.path.join(ROOT, "topologies",
                                        "qemu-2node-hotplug.json")),
    ("memoryless-and-cxl-qemu", os.path.join(KC, "topologies",
                                             "memoryless-and-cxl-qemu.json")),
    ("four-node-slit-qemu", os.path.join(KC, "topologies",
                                         "four-node-slit-qemu.json")),
]
VCPUS = (2, 4, 8)
# An odd vCPU count, where the simulator's event-task CPU once changed the
# slab geometry: on 3 vCPUs calculate_order() starts from 4 * (fls(3) + 1) = 12
# objects, on 4 from 16, so a 300-byte cache is order 0 with 13 objects on the
# kernel and was order 1 with 26 on a model that counted its event CPU (issue
# #14, item 1). (machine, vCPUs, cache_b's object size)
ODD = [("four-node-slit-qemu", 3, 300)]
# The kmalloc caches whose geometry is compared: the model boots them as
# kmem_cache_init() does (create_kmalloc_caches()), so a workload only names
# them and the size of its kmalloc()s.
KMALLOC = [("kmalloc-96", 96), ("kmalloc-256", 256), ("kmalloc-1k", 1024),
           ("kmalloc-8k", 8192)]
BURST = 64
PAGES = 256


def load_jsonc(path):
    """A topology or workload file: JSON with whole-line // comments."""
    with open(path, encoding="utf-8") as f:
        text = "".join(line for line in f
                       if not line.lstrip().startswith("//"))
    return json.loads(text)


def with_vcpus(topology, vcpus):
    """The topology with `vcpus` CPUs: spread evenly over its nodes that have
    CPUs, in node order (the first ones, one each, when there are fewer CPUs
    than such nodes); named <name>-<vcpus>cpu."""
    t = json.loads(json.dumps(topology))
    cpu_nodes = [n for n in t["nodes"] if n.get("cpus")]
    k = min(len(cpu_nodes), vcpus)
    per, extra = divmod(vcpus, k)
    cpu = 0
    for i, n in enumerate(cpu_nodes):
        count = per + (1 if i < extra else 0) if i < k else 0
        if count == 0:
            n.pop("cpus")
            continue
        n["cpus"] = f"{cpu}" if count == 1 else f"{cpu}-{cpu + count - 1}"
        cpu += count
    t["name"] = f"{t['name']}-{vcpus}cpu"
    t["description"] = f"{t['description']} ({vcpus} vCPUs: kernel-check --all)"
    return t


def _cpulist(text):
    out = []
    for part in filter(None, text.split(",")):
        lo, _, hi = part.partition("-")
        out += range(int(lo), int(hi or lo) + 1)
    return out


def workload_for(machine, name, cache_b_size=700):
    """The check workload of a machine document (`slabsim topology qemu
    --json`)."""
    caches = [{"name": n, "object_size": s} for n, s in KMALLOC]
    caches += [{"name": "cache_a", "object_size": 256,
                "flags": ["hwcache_align"], "at_boot": False},
               {"name": "cache_b", "object_size": cache_b_size,
                "at_boot": False}]
    events = []

    def at(event):
        events.append({"at": f"{len(events) + 1}ms", **event})

    dimm_nodes = sorted({d["node"] for d in machine["hotplug_dimms"]})
    # Offlining takes a node's online blocks in block-id order, boot memory
    # first: only nodes whose memory is all DIMMs are offlined.
    offline_nodes = [n["node"] for n in machine["nodes"]
                     if n["node"] in dimm_nodes and not n["boot_memory_bytes"]]
    cpu_nodes = [(n["node"], _cpulist(n["cpus"])[0])
                 for n in machine["nodes"] if n["cpus"]]
    for node in dimm_nodes:
        at({"memory_add": {"node": node}})
    for d in machine["hotplug_dimms"]:
        at({"memory_online": {"node": d["node"],
                              "blocks": len(_cpulist(d["model_blocks"])),
                              "zone": d["zone"]}})
    at({"cache_create": {"cache": "cache_a"}})
    at({"cache_create": {"cache": "cache_b"}})
    targets = [n["node"] for n in machine["nodes"]] + [-1]
    for _, cpu in cpu_nodes:
        for node in targets:
            at({"alloc_burst": {"cache": "cache_a", "node": node, "cpu": cpu,
                                "count": BURST}})
    at({"alloc_burst": {"cache": "cache_b", "node": targets[-2],
                        "cpu": cpu_nodes[0][1], "count": 30}})
    # The probe keeps at most 4096 pages: free them after each CPU's round.
    for _, cpu in cpu_nodes:
        for node in targets:
            at({"page_burst": {"node": node, "cpu": cpu, "count": PAGES}})
        at({"page_free": {}})
    for node in offline_nodes:
        at({"memory_offline": {"node": node}})
    at({"free_burst": {"cache": "cache_a", "cpu": cpu_nodes[0][1]}})
    at({"free_burst": {"cache": "cache_b", "cpu": cpu_nodes[0][1]}})
    at({"shrink": {"cache": "cache_a"}})
    at({"cache_destroy": {"cache": "cache_a"}})
    at({"cache_destroy": {"cache": "cache_b"}})
    for node in offline_nodes:
        at({"memory_offline": {"node": node}})
    # Unplug, last in first out, the DIMMs of nodes whose memory is all
    # movable DIMMs: nothing unmovable can keep those blocks online.
    for node in offline_nodes:
        mine = [d for d in machine["hotplug_dimms"] if d["node"] == node]
        if all(d["zone"] == "movable" for d in mine):
            for d in reversed(mine):
                at({"memory_remove": {"node": node,
                                      "blocks": len(_cpulist(d["model_blocks"]))}})
    return {"name": name,
            "description": "kernel-check --all: every DIMM onlined, a burst "
                           "from each CPU node to every node, offlines with "
                           "live objects and after freeing them",
            "duration": "5s", "event_tasks": 1, "seed": 1,
            "caches": caches, "events": events}


def machine_of(topology_path):
    out = subprocess.run([slabsim_binary(), "topology", "qemu", topology_path,
                          "--json"], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)


# The control: the CI workload under v5.12's model (strategy slab_nodes)
# against the 6.1 kernel must differ (struct kmem_cache's size, cpu_partial
# counted in objects, v6.1's deactivate_slab()): a check that finds nothing
# there could not tell one kernel version from another.
CONTROL = ("control-v5.12", "slab_nodes")


def cache_b_size(name):
    """cache_b's object size in the check called `name`."""
    for machine, vcpus, size in ODD:
        if name == f"{machine}-{vcpus}cpu":
            return size
    return 700


def checks():
    """(name, topology or None, workload path or None, strategy, control):
    the CI workload first, then every machine at every vCPU count and the odd
    ones, then the control."""
    ci = os.path.join(KC, "workloads", "node2-hotplug.json")
    yield ("node2-hotplug", None, ci, "v6.1", False)
    yield ("cxl-fallback", None,
           os.path.join(KC, "workloads", "cxl-fallback.json"), "v6.1", False)
    for name, path in MACHINES:
        base = load_jsonc(path)
        for vcpus in VCPUS:
            t = with_vcpus(base, vcpus)
            yield (t["name"], t, None, "v6.1", False)
    for name, vcpus, _ in ODD:
        t = with_vcpus(load_jsonc(dict(MACHINES)[name]), vcpus)
        yield (t["name"], t, None, "v6.1", False)
    yield (CONTROL[0], None, ci, CONTROL[1], True)


def check_name_ok(name):
    return re.fullmatch(r"[a-z0-9][a-z0-9.-]*", name) is not None
