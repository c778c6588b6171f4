"""The comparison of slabsim against the booted kernel: the guest's plan made
from the model's document, the verdicts (agree, explained by a rule, differ),
the report, and one real check on qemu-2node-hotplug (label kernel)."""

import copy
import json
import os
import pathlib
import subprocess

import pytest

from harness import build
from harness.compare import NUMASTAT_SLACK, OBSERVABLES, compare
from harness.model_plan import plan_from_model
from harness.plan import PlanError, validate_plan
from harness.protocol import parse_dump
from harness.report import render_markdown

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORKLOAD = ROOT / "kernel-check" / "workloads" / "node2-hotplug.json"


@pytest.fixture(scope="module")
def model():
    """slabsim's document of the CI workload (ctest sets SLABSIM_BIN)."""
    binary = os.environ.get("SLABSIM_BIN")
    if not binary:
        pytest.skip("SLABSIM_BIN not set (ctest sets it to build/slabsim)")
    out = subprocess.run([binary, "kernel-check", "model", "-w", str(WORKLOAD)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def echo_guest(model, steps, owners):
    """A guest document that shows exactly what the model predicts: each
    step's result as the runner would have recorded it."""
    out = []
    for i, (step, owner) in enumerate(zip(steps, owners)):
        e = model["events"][owner] if owner is not None else None
        kind, value = next(iter(step.items()))
        r = {"index": i, "step": step, "rc": 0, "rc_name": "0", "kernel_log": []}
        if kind == "dump":
            lines = e["dump"] if e else model["initial"]["dump"]
            r["dump"] = {item: parse_dump(lines[item], [item])[item] for item in value}
        elif kind == "online":
            r["writes"] = {f"/sys/devices/system/memory/memory{b['block']}/state":
                           {"rc": b["rc"]} for b in e["blocks"]}
        elif kind in ("probe", "probe_numastat"):
            r["rc"] = e["rc"]
            r["command"] = value
            if e["type"] == "alloc_burst":
                r["result"] = {k: e[k] for k in ("allocated", "per_node", "runs")}
            if e["type"] == "page_burst":
                r["result"] = {k: e[k] for k in ("allocated", "per_node")}
                r["numastat"] = {"before": {n: {k: 1000 for k in c}
                                            for n, c in e["numastat_delta"].items()},
                                 "after": {n: {k: 1000 + v for k, v in c.items()}
                                           for n, c in e["numastat_delta"].items()}}
        elif kind == "write":
            r.update(path=value["path"], rc=e["rc"])
        out.append(r)
    return {"kernel": {"release": "test"}, "steps": out}


def test_the_plan_plays_each_event_then_dumps_what_the_model_dumped(model):
    machine, steps, owners = plan_from_model(model)
    validate_plan({"steps": steps}, {d["id"] for d in machine["hotplug_dimms"]})
    assert steps[0] == {"dump": list(model["initial"]["dump"])} and owners[0] is None
    # The hot-add of node 2 is its two DIMMs; onlines and offlines name the
    # guest's blocks (40.. for the first DIMM), offline from the top down.
    # Then scripts/collect-machine in the guest, for `slabsim topology import`.
    assert steps[1] == {"collect": "guest-snapshot"} and owners[1] is None
    assert steps[2:4] == [{"hotplug_add": "dimm0"}, {"hotplug_add": "dimm1"}]
    online = [s["online"] for s in steps if "online" in s]
    assert online[0] == {"blocks": list(range(40, 48)), "as": "online_kernel"}
    assert online[1] == {"blocks": list(range(48, 56)), "as": "online_movable"}
    assert online[2]["blocks"][0] == 55 and online[2]["as"] == "offline"
    probes = [s["probe"] for s in steps if "probe" in s]
    assert probes[:2] == ["create cache_a 256 0 hwcache_align", "alloc cache_a 0 0 64"]
    assert "alloc cache_a -1 3 20" in probes and "free cache_a 404 0" in probes
    assert {"write": {"path": "/sys/kernel/slab/cache_a/shrink", "value": "1"}} in steps
    # Page bursts read numastat around the probe, in one guest command.
    assert {"probe_numastat": "pages 2 0 256 0"} in steps and {"probe": "freepages"} in steps
    # Every event's steps end with its dump.
    for i in range(len(model["events"])):
        mine = [s for s, o in zip(steps, owners) if o == i]
        assert "dump" in mine[-1], (i, mine)


def echo_import(model):
    """What the importer would make of a guest that is the model's machine."""
    caches = []
    for item, lines in model["initial"]["dump"].items():
        if item.startswith("slab:"):
            section = parse_dump(lines, [item])[item]
            base = f"/sys/kernel/slab/{item[5:]}/"
            caches.append({"name": item[5:], "object_size": section[base + "object_size"],
                           "align": section[base + "align"]})
    return {"topology": copy.deepcopy(model["topology_resolved"]), "boot_caches": caches}


def test_a_guest_that_shows_what_the_model_predicts_agrees_everywhere(model):
    _, steps, owners = plan_from_model(model)
    report = compare(model, echo_guest(model, steps, owners), owners, echo_import(model))
    assert report["total"]["differ"] == 0 and report["total"]["explained"] == 0
    for observable in OBSERVABLES:
        assert report["counts"][observable]["agree"] > 0, observable


def test_differences_are_unexplained_unless_a_rule_names_the_source(model):
    _, steps, owners = plan_from_model(model)
    guest = echo_guest(model, steps, owners)
    boot = guest["steps"][0]["dump"]
    # The guest's DMA32 boot memory: a rule explains it with the source.
    boot["blocks"]["/sys/devices/system/memory/memory1/valid_zones"] = "DMA32"
    # A placement the model did not predict: nothing explains it.
    burst = next(s for s in guest["steps"] if s["step"].get("probe", "").startswith("alloc"))
    burst["result"]["per_node"] = {"1": 64}
    # numastat: the guest's own allocations may add a few; more than the slack do not agree.
    pages = next(s for s in guest["steps"] if "probe_numastat" in s["step"])
    pages["numastat"]["after"]["2"]["numa_hit"] += NUMASTAT_SLACK
    pages["numastat"]["after"]["2"]["other_node"] += NUMASTAT_SLACK + 1
    imported = echo_import(model)
    imported["topology"]["nodes"][1]["cpus"] = [2]  # a CPU the importer did not see
    report = compare(model, guest, owners, imported)
    assert report["counts"]["numastat"]["differ"] == 1
    assert report["counts"]["imported machine"]["differ"] == 1
    assert report["counts"]["valid_zones"]["explained"] == 1
    assert report["counts"]["placement"]["differ"] == 1
    rows = [r for s in report["steps"] for r in s["rows"] if r["verdict"] != "agree"]
    assert "ZONE_DMA32" in next(r["why"] for r in rows if r["verdict"] == "explained")
    text = render_markdown(report)
    assert "**DIFFER**" in text and "3 differ unexplained" in text
    assert "| placement | 18 | 0 | 1 |" in text


def test_a_document_that_is_not_the_models_is_refused():
    with pytest.raises(PlanError, match="model.format"):
        plan_from_model({"format": "something else"})


def test_the_cli_refuses_a_workload_outside_the_guest_subset(tmp_path, capsys):
    binary = os.environ.get("SLABSIM_BIN")
    if not binary:
        pytest.skip("SLABSIM_BIN not set")
    w = json.loads("\n".join(l for l in WORKLOAD.read_text().splitlines()
                             if not l.lstrip().startswith("//")))
    w["events"].append({"at": "300ms", "cpu_offline": {"cpu": 1}})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(w))
    proc = subprocess.run([str(ROOT / "scripts" / "kernel-check"), "--workload", str(bad),
                           "--out", str(tmp_path / "out"), "--validate-only"],
                          capture_output=True, text=True, env={**os.environ,
                                                               "SLABSIM_BIN": binary})
    assert proc.returncode == 2
    assert f"{bad}: /events/{len(w['events']) - 1}: expected an event the guest can play" in proc.stderr


@pytest.mark.kernel
def test_real_kernel_agrees_with_the_model_on_node2_hotplug(tmp_path):
    """Issue #13's CI check: every deterministic observable of the v6.1 model
    equal to the booted 6.1 kernel's, every other difference explained;
    bounded to 3 minutes (about 20 s on an idle host)."""
    missing = build.missing_prerequisites()
    if missing:
        if os.environ.get("SLABSIM_REQUIRE_KERNEL"):
            pytest.fail("needs " + "; ".join(missing))
        pytest.skip("needs " + "; ".join(missing))
    if not os.environ.get("SLABSIM_BIN"):
        pytest.skip("SLABSIM_BIN not set")
    out = tmp_path / "out"
    proc = subprocess.run([str(ROOT / "scripts" / "kernel-check"), "--workload", str(WORKLOAD),
                           "--out", str(out)], capture_output=True, text=True, timeout=180)
    report = json.loads((out / "report.json").read_text())
    unexplained = [(s["step"], r) for s in report["steps"] for r in s["rows"]
                   if r["verdict"] == "differ"]
    assert proc.returncode == 0, (proc.stderr[-2000:], unexplained[:10])
    counts = report["counts"]
    # What must agree exactly, by kind (the counts of rows compared).
    for observable in ("hotplug result", "node masks", "memory blocks", "slab geometry",
                       "slab counts", "placement", "probe result", "numastat",
                       "imported machine"):
        assert counts[observable]["agree"] > 0 and counts[observable]["explained"] == 0, \
            (observable, counts[observable])
    assert (out / "report.md").read_text().startswith("# Kernel check: node2-hotplug")


# ---- kernel-check --all -------------------------------------------------------------

def test_vcpu_variants_spread_cpus_over_the_nodes_that_have_them():
    from harness.check_set import MACHINES, checks, load_jsonc, with_vcpus
    base = load_jsonc(dict(MACHINES)["four-node-slit-qemu"])
    two = with_vcpus(base, 2)
    assert two["name"] == "four-node-slit-qemu-2cpu"
    assert [n.get("cpus") for n in two["nodes"]] == ["0", "1", None, None]
    eight = with_vcpus(base, 8)
    assert [n["cpus"] for n in eight["nodes"]] == ["0-1", "2-3", "4-5", "6-7"]
    cxl = with_vcpus(load_jsonc(dict(MACHINES)["memoryless-and-cxl-qemu"]), 8)
    assert [n.get("cpus") for n in cxl["nodes"]] == ["0-3", "4-7", None]
    assert base["nodes"][0]["cpus"] == "0", "the base is left alone"
    names = [c[0] for c in checks()]
    assert names[:2] == ["node2-hotplug", "cxl-fallback"] and names[-1] == "control-v5.12"
    assert len(names) == 13
    assert "four-node-slit-qemu-3cpu" in names, "the odd vCPU count (issue #14)"


def test_the_odd_check_sizes_cache_b_for_the_cpu_count():
    from harness.check_set import cache_b_size, workload_for
    machine = json.loads((ROOT / "kernel-check" / "machines" /
                          "qemu-2node-hotplug.json").read_text())
    assert cache_b_size("four-node-slit-qemu-3cpu") == 300
    assert cache_b_size("four-node-slit-qemu-4cpu") == 700
    w = workload_for(machine, "x", 300)
    assert [c["object_size"] for c in w["caches"] if c["name"] == "cache_b"] == [300]


def test_the_all_workload_offlines_only_nodes_whose_memory_is_all_dimms():
    from harness.check_set import workload_for
    machine = json.loads((ROOT / "kernel-check" / "machines" /
                          "qemu-2node-hotplug.json").read_text())
    w = workload_for(machine, "x")
    kinds = [next(k for k in e if k != "at") for e in w["events"]]
    assert kinds[:3] == ["memory_add", "memory_online", "memory_online"]
    assert [e["memory_online"]["zone"] for e in w["events"][1:3]] == ["normal", "movable"]
    # A burst from the first CPU of each CPU node to nodes 0, 1, 2 and NUMA_NO_NODE.
    bursts = [(e["alloc_burst"]["cpu"], e["alloc_burst"]["node"])
              for e in w["events"] if "alloc_burst" in e and
              e["alloc_burst"]["cache"] == "cache_a"]
    assert bursts == [(0, 0), (0, 1), (0, 2), (0, -1), (2, 0), (2, 1), (2, 2), (2, -1)]
    offlines = [e["memory_offline"]["node"] for e in w["events"] if "memory_offline" in e]
    assert offlines == [2, 2]
    machine["nodes"][2]["boot_memory_bytes"] = 1 << 30
    assert not any("memory_offline" in e for e in workload_for(machine, "x")["events"])


def test_distances_to_nodes_offline_at_boot_are_explained_only_there(model):
    from harness.compare import _imported_rows
    from harness.explanations import explain
    doc = copy.deepcopy(model)
    doc["topology_resolved"]["distance"]["slit"][0] = [10, 20, 17]  # node 2: offline at boot
    imported = echo_import(model)
    rows = {key: (m, g) for _, key, m, g in _imported_rows(doc, imported)}
    m, g = rows["node0 slit"]
    assert (m, g) == ([10, 20, 17], [10, 20, 20])
    assert "for_each_online_node" in explain("imported machine", "node0 slit", m, g, doc)
    # A distance between two nodes online at boot is no such case.
    assert explain("imported machine", "node0 slit", [10, 21, 17], [10, 20, 20], doc) is None
