"""The comparison: slabsim's document against what the booted kernel showed
after the same steps, observable by observable. Deterministic observables
must be equal; counts the rest of the guest disturbs are compared by what
does not depend on it (which nodes have slabs), and the rest is listed as not
compared with the reason. A difference is "explained" only by a rule of
explanations.py, which names the kernel source that makes it expected."""

import re

from .explanations import explain
from .protocol import parse_dump

REPORT_FORMAT = "slabsim-kernel-check-report/1"

NODE_MASKS = ("possible", "online", "has_memory", "has_normal_memory",
              "has_cpu")
GEOMETRY = ("order", "objs_per_slab", "min_partial", "cpu_partial",
            "object_size", "slab_size", "align", "hwcache_align",
            "reclaim_account")
SLABINFO_GEOMETRY = ("objsize", "objperslab", "pagesperslab")
# Counted per node: for caches the guest's own kernel also uses, only the set
# of nodes that have slabs is compared.
NODE_COUNTS = ("slabs", "total_objects")

# numastat counts the guest's own allocations between the two reads as well.
NUMASTAT_SLACK = 32

# The observables, in report order, with what is compared and why.
OBSERVABLES = {
    "hotplug result": "each block's online/offline write and each DIMM's "
                      "hot-add and unplug: 0 or -errno",
    "node masks": "/sys/devices/system/node/{possible,online,has_memory,"
                  "has_normal_memory,has_cpu}",
    "node topology": "nodeN/cpulist and nodeN/distance of the online nodes",
    "memory blocks": "block_size_bytes; each block's state, node, "
                     "phys_index, removable",
    "valid_zones": "memoryN/valid_zones",
    "slab geometry": "order, objs_per_slab, min_partial, cpu_partial, "
                     "object_size, slab_size, align, flags; /proc/slabinfo "
                     "objsize, objperslab, pagesperslab; whether the cache "
                     "exists",
    "slab counts": "the probe's caches: every /sys/kernel/slab counter per "
                   "node and the /proc/slabinfo counts, exactly (nothing "
                   "else allocates from them)",
    "slab nodes": "caches the guest's kernel shares (kmem_cache_node, "
                  "kmem_cache, kmalloc-*): the nodes with slabs (slabs, "
                  "total_objects N<n> > 0); their counts include every other "
                  "cache's and task's allocations (boot, udev-less init, "
                  "kworkers), so the values are not compared",
    "placement": "each alloc burst: objects per node (page_to_nid()) and the "
                 "runs in allocation order; each page burst: pages per node",
    "probe result": "the return of kmem_cache_create()/destroy, the number "
                    "of objects allocated and freed",
    "imported machine": "scripts/collect-machine run in the booted guest and "
                        "`slabsim topology import` of its snapshot (the path "
                        "users take) against the topology slabsim ran: nodes, "
                        "each node's CPUs, SLIT row, online memory and boot "
                        "node states; the block size; object size and "
                        "alignment of the caches observed at boot",
    "numastat": "each page burst: the change of every node's six numastat "
                "counters over the burst, read just before and after it in "
                "one guest command that forks nothing; the guest's own "
                "activity in that interval (the kworker running the burst, "
                "timers, RCU) counts too, so the kernel's change may exceed "
                f"the model's by up to {NUMASTAT_SLACK} allocations",
}

NOT_COMPARED = {
    "meminfo": "the model keeps no per-node page statistics of the guest's "
               "own kernel",
    "numastat outside page bursts": "every fork in the guest counts",
    "node size (numactl's size, MemTotal)": "the kernel's managed pages, less "
                                            "than the node's online blocks by "
                                            "the memmap and reservations; the "
                                            "online blocks are compared",
    "kernel log": "shown side by side: the model logs failures only, the "
                  "kernel also its zonelist rebuilds",
    "auto_online_blocks, has_high_memory": "constant for the machine "
                                           "(memhp_default_state=offline; "
                                           "x86_64 has no highmem)",
    "other slab counters of shared caches": "see 'slab nodes'",
}


def _classify(path, probe_caches):
    """The observable a sysfs path belongs to, or None when it is not
    compared."""
    base = path.rsplit("/", 1)[-1]
    if path.startswith("/sys/devices/system/node/"):
        if base in NODE_MASKS:
            return "node masks"
        if base in ("cpulist", "distance"):
            return "node topology"
        return None
    if path.startswith("/sys/devices/system/memory/"):
        if base == "valid_zones":
            return "valid_zones"
        if base in ("state", "node", "phys_index", "removable",
                    "block_size_bytes"):
            return "memory blocks"
        return None
    m = re.match(r"/sys/kernel/slab/([^/]+)/", path)
    if m:
        if base in GEOMETRY:
            return "slab geometry"
        if m.group(1) in probe_caches:
            return "slab counts"
        return "slab nodes" if base in NODE_COUNTS else None
    return None


def _nodes_with(value):
    if not isinstance(value, dict):
        return value
    return sorted(k for k, v in value.items() if k != "total" and v)


def _slab_item_rows(item, model_section, guest_section, probe_caches):
    """Rows for one slab:<cache> dump (sysfs files, slabinfo, exists)."""
    cache = item[5:]
    rows = [("slab geometry", f"{item} exists", model_section.get("exists"),
             guest_section.get("exists"))]
    for path, mv in model_section.items():
        if path == "exists":
            continue
        if path == "/proc/slabinfo":
            gv = guest_section.get(path, {})
            for col, v in (mv or {}).items():
                if col in SLABINFO_GEOMETRY:
                    rows.append(("slab geometry", f"/proc/slabinfo {cache} {col}",
                                 v, gv.get(col) if isinstance(gv, dict) else None))
                elif cache in probe_caches:
                    rows.append(("slab counts", f"/proc/slabinfo {cache} {col}",
                                 v, gv.get(col) if isinstance(gv, dict) else None))
            continue
        observable = _classify(path, probe_caches)
        if observable is None:
            continue
        gv = guest_section.get(path)
        if observable == "slab nodes":
            mv, gv = _nodes_with(mv), _nodes_with(gv)
            path = f"{path} (nodes with any)"
        rows.append((observable, path, mv, gv))
    return rows


def _dump_rows(model_lines, guest_dump, probe_caches):
    rows = []
    for item, lines in model_lines.items():
        model_section = parse_dump(lines, [item])[item]
        guest_section = (guest_dump or {}).get(item, {})
        if item.startswith("slab:"):
            rows += _slab_item_rows(item, model_section, guest_section,
                                    probe_caches)
            continue
        for path, mv in model_section.items():
            observable = _classify(path, probe_caches)
            if observable is not None:
                rows.append((observable, path, mv, guest_section.get(path)))
        # Blocks the guest has and the model has not (present only there).
        if item == "blocks":
            for path, gv in guest_section.items():
                if path not in model_section and path.endswith("/state") and \
                        _classify(path, probe_caches) == "memory blocks":
                    rows.append(("memory blocks", path, None, gv))
    return rows


def _memory_rows(e, guest_steps):
    rows = []
    if e["type"] in ("memory_add", "memory_remove"):
        model_rc = next((b["rc"] for b in e["blocks"] if b["rc"]), 0)
        kind = "hotplug_add" if e["type"] == "memory_add" else "unplug"
        for s in guest_steps:
            if kind in s["step"]:
                rows.append(("hotplug result",
                             f"{'hot-add' if kind == 'hotplug_add' else 'unplug'} "
                             f"{s['step'][kind]}", model_rc, s["rc"]))
        return rows
    writes = {}
    for s in guest_steps:
        if "online" in s["step"]:
            writes.update(s.get("writes", {}))
    for b in e["blocks"]:
        path = f"/sys/devices/system/memory/memory{b['block']}/state"
        gv = writes.get(path, {}).get("rc")
        rows.append(("hotplug result", f"{path} <- "
                     f"{e.get('as', 'offline')}", b["rc"], gv))
    return rows


def _probe_rows(e, guest_steps):
    probe = next((s for s in guest_steps if "probe" in s["step"]), None)
    if probe is None:
        return []
    res = probe.get("result", {})
    rows = [("probe result", f"{probe['step']['probe']} rc", e["rc"],
             probe["rc"])]
    if e["type"] == "alloc_burst":
        rows.append(("probe result", f"{probe['step']['probe']} allocated",
                     e["allocated"], res.get("allocated")))
        rows.append(("placement", f"{probe['step']['probe']} per_node",
                     e["per_node"], res.get("per_node")))
        rows.append(("placement", f"{probe['step']['probe']} runs",
                     e["runs"], res.get("runs")))
    return rows


def _page_rows(e, guest_steps):
    probe = next((s for s in guest_steps if "probe" in s["step"] or
                  "probe_numastat" in s["step"]), None)
    if probe is None:
        return []
    command = probe["command"]
    rows = [("probe result", f"{command} rc", e["rc"], probe["rc"])]
    if e["type"] != "page_burst":
        return rows
    res = probe.get("result", {})
    rows.append(("probe result", f"{command} allocated", e["allocated"],
                 res.get("allocated")))
    rows.append(("placement", f"{command} per_node", e["per_node"],
                 res.get("per_node")))
    before = probe.get("numastat", {}).get("before", {})
    after = probe.get("numastat", {}).get("after", {})
    for node, counters in e["numastat_delta"].items():
        if node not in after:
            continue
        for name, mv in counters.items():
            gv = after[node].get(name, 0) - before.get(node, {}).get(name, 0)
            rows.append(("numastat", f"node{node} {name} delta ({command})",
                         mv, gv, 0 <= gv - mv <= NUMASTAT_SLACK))
    return rows


def _event_rows(e, guest_steps, probe_caches):
    rows = []
    if e["type"] in ("page_burst", "page_free"):
        rows += _page_rows(e, guest_steps)
    elif e["type"] in ("memory_add", "memory_online", "memory_offline",
                       "memory_remove"):
        rows += _memory_rows(e, guest_steps)
    elif e["type"] in ("cache_create", "cache_destroy", "alloc_burst",
                       "free_burst"):
        rows += _probe_rows(e, guest_steps)
    elif e["type"] == "shrink":
        w = next((s for s in guest_steps if "write" in s["step"]), None)
        if w is not None:
            rows.append(("probe result", f"{w['path']} <- 1", e["rc"],
                         w["rc"]))
    dumps = [s for s in guest_steps if "dump" in s["step"]]
    dump = dumps[-1] if dumps else None  # after the event (a page burst's first is before)
    if e.get("dump"):
        rows += _dump_rows(e["dump"], dump.get("dump") if dump else None,
                           probe_caches)
    return rows


def _kernel_log(guest_steps):
    return [line for s in guest_steps for line in s.get("kernel_log", [])]


def _imported_rows(model, imported):
    """The guest's snapshot as the importer reads it, against the model."""
    rows = []
    topo, caches = imported["topology"], imported["boot_caches"]
    mine = model["topology_resolved"]
    rows.append(("imported machine", "memory_block_size",
                 mine["memory_block_size"], topo.get("memory_block_size")))
    rows.append(("imported machine", "node ids",
                 [n["id"] for n in mine["nodes"]],
                 [n["id"] for n in topo.get("nodes", [])]))
    theirs = {n["id"]: n for n in topo.get("nodes", [])}
    slit = topo.get("distance", {}).get("slit", [])
    for i, n in enumerate(mine["nodes"]):
        t = theirs.get(n["id"], {})
        rows.append(("imported machine", f"node{n['id']} cpus", n["cpus"],
                     t.get("cpus")))
        rows.append(("imported machine", f"node{n['id']} slit",
                     mine["distance"]["slit"][i],
                     slit[i] if i < len(slit) else None))
        rows.append(("imported machine", f"node{n['id']} online bytes",
                     n["bytes"]["online"], t.get("bytes", {}).get("online")))
        rows.append(("imported machine", f"node{n['id']} boot_states",
                     n["boot_states"], t.get("boot_states")))
    by_name = {c["name"]: c for c in caches}
    for item, lines in model["initial"]["dump"].items():
        if not item.startswith("slab:"):
            continue
        name = item[5:]
        section = parse_dump(lines, [item])[item]
        for field in ("object_size", "align"):
            rows.append(("imported machine", f"boot cache {name} {field}",
                         section.get(f"/sys/kernel/slab/{name}/{field}"),
                         by_name.get(name, {}).get(field)))
    return rows


def compare(model, guest, owners, imported=None):
    """The report document: every compared value of every step, side by
    side, with its verdict, and the counts per observable. `imported`: the
    guest's snapshot as `slabsim topology import` read it ({"topology": the
    resolved topology, "boot_caches": [...]}), when there is one."""
    probe_caches = {e["cache"] for e in model["events"]
                    if e["type"] == "cache_create"}
    by_owner = {}
    for s in guest.get("steps", []):
        by_owner.setdefault(owners[s["index"]], []).append(s)
    sections = []

    def section(label, owner, rows, model_log):
        out = []
        for observable, key, mv, gv, *within in rows:
            # `within`: a tolerance's verdict, for values not compared exactly.
            same = within[0] if within else mv == gv
            verdict, why = ("agree", None) if same else ("differ", None)
            if verdict == "differ":
                why = explain(observable, key, mv, gv, model)
                if why:
                    verdict = "explained"
            out.append({"observable": observable, "key": key, "model": mv,
                        "guest": gv, "verdict": verdict,
                        **({"why": why} if why else {})})
        sections.append({"step": label, "rows": out,
                         "kernel_log": {"model": model_log,
                                        "guest": _kernel_log(
                                            by_owner.get(owner, []))}})

    initial_dump = next((s for s in by_owner.get(None, [])
                         if "dump" in s["step"]), None)
    section("boot", None,
            _dump_rows(model["initial"]["dump"],
                       initial_dump.get("dump") if initial_dump else None,
                       probe_caches),
            model["initial"].get("kernel_log", []))
    if imported is not None:
        section("boot: the guest imported", None,
                _imported_rows(model, imported), [])
        sections[-1]["kernel_log"]["guest"] = []
    for i, e in enumerate(model["events"]):
        label = f"{e['source']}" + (f"#{e['occurrence']}" if e["occurrence"]
                                    else "") + f" {e['type']}"
        section(label, i, _event_rows(e, by_owner.get(i, []), probe_caches),
                e.get("kernel_log", []))

    counts = {o: {"agree": 0, "differ": 0, "explained": 0}
              for o in OBSERVABLES}
    for s in sections:
        for r in s["rows"]:
            counts[r["observable"]][r["verdict"]] += 1
    total = {v: sum(c[v] for c in counts.values())
             for v in ("agree", "differ", "explained")}
    return {"format": REPORT_FORMAT,
            "workload": model["workload"],
            "topology": model["topology"],
            "strategy": model["strategy"],
            "kernel": guest.get("kernel", {}),
            "error": guest.get("error"),
            "observables": OBSERVABLES,
            "not_compared": NOT_COMPARED,
            "counts": counts,
            "total": total,
            "steps": sections}
