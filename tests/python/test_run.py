"""Runs from Python: results, tidy frames, bad input, interrupts, many runs in one process."""

import os
import pathlib
import signal
import subprocess
import time

import pandas as pd
import pytest

import slabsim

ROOT = pathlib.Path(__file__).resolve().parents[2]
REGRESSIONS = ROOT / "workloads" / "regressions"
SLABSIM = pathlib.Path(slabsim.__file__).resolve().parents[2] / "slabsim"


def without_host(result):
    doc = result.to_dict()
    doc.pop("host")
    return doc


def test_run_gives_a_result_with_frames():
    r = slabsim.run(workload="node-online", strategy="hotplug_lock")
    assert r.strategy == "hotplug_lock" and r.workload == "node-online" and r.seed == 1
    assert r.topology == "qemu-2node-hotplug"
    s = r.summary
    assert len(s) == 1
    assert s.loc[0, "allocations"] > 1000
    assert s.loc[0, "mem_hotplug_lock_wait_ns"] > 0  # create and shrink wait for the online
    locks = r.lock_stat
    assert {"lock_class", "mode", "contentions", "wait_total_ns", "hold_total_ns"} <= set(locks)
    assert "mem_hotplug_lock" in set(locks["lock_class"])
    # The kernel's view: v5.10's percpu rw-semaphore records no contention; the simulator's
    # lock_waits has every wait.
    mems = locks[locks["lock_class"] == "mem_hotplug_lock"]
    assert mems["contentions"].sum() == 0
    waits = r.lock_waits
    assert waits[waits["lock_class"] == "mem_hotplug_lock"]["contentions"].sum() > 0
    numa = r.numastat
    assert set(numa["counter"]) == {"numa_hit", "numa_miss", "numa_foreign", "interleave_hit",
                                    "local_node", "other_node"}
    hits = numa[numa["counter"].isin(["numa_hit", "numa_miss"])]["value"].sum()
    slab_pages = r.to_dict()["metrics"]["slab_pages_allocated"]
    assert hits == slab_pages
    stats = r.stats
    assert "ALLOC_FASTPATH" in set(stats["counter"])
    buckets = r.time_buckets
    # Automatic: a hundred buckets per run at least, to the run's end.
    assert buckets["start_ns"].nunique() >= 100
    assert (buckets["end_ns"] - buckets["start_ns"] == r.time_bucket_ns).all()
    assert buckets["end_ns"].max() >= r.to_dict()["simulated_ns"]
    assert buckets.drop_duplicates("start_ns")["allocations"].sum() == s.loc[0, "allocations"]
    wide = slabsim.run(workload="node-online", strategy="hotplug_lock", time_bucket_ns=1_000_000)
    assert wide.time_bucket_ns == 1_000_000 and wide.to_dict()["config"]["time_bucket_ns"] == 1_000_000
    waits = r.lock_waits_over_time
    creations = waits[(waits["lock_class"] == "mem_hotplug_lock")
                      & (waits["function"] == "kmem_cache_create")]
    assert creations["wait_ns"].sum() > 100_000
    assert (waits["waiting"] == waits["wait_ns"] / r.time_bucket_ns).all()
    steps = r.hotplug_steps
    assert list(steps["step"])[-2:] == ["going_online_notified", "node_states_set"]
    assert r.violations.empty
    assert list(r.hotplug["type"]) == ["memory_online"]
    assert "numa_hit" in r.report("numastat")
    with pytest.raises(KeyError):
        r.report("nonsense")


def test_same_inputs_same_result_and_many_runs_in_one_process():
    first = without_host(slabsim.run(workload="steady-local", strategy="slab_nodes_nocpu"))
    for _ in range(15):
        again = slabsim.run(workload="steady-local", strategy="slab_nodes_nocpu")
        assert without_host(again) == first
    assert without_host(slabsim.run(workload="steady-local", seed=9)) != first


def test_inputs_as_paths_names_and_dicts():
    path = REGRESSIONS / "03afc0e25f7f-missing-node.json"
    r = slabsim.run(workload=path, strategy="mutex_only")
    assert "missing-node" in r.findings_list and r.failed
    workload = {
        "name": "tiny", "duration": "200us",
        "caches": [{"name": "c", "object_size": 64}],
        "threads": [{"name": "t", "cpus": "all", "cache": "c",
                     "think_time": {"constant": "1us"}, "lifetime": {"constant": "2us"}}],
    }
    strategy = {"name": "mine", "base": "slab_nodes", "shrink_locks": []}
    r = slabsim.run("two-socket-intel", workload, strategy, seed=3)
    assert r.strategy == "mine" and r.seed == 3 and r.topology == "two-socket-intel"
    machine = {
        "name": "pair", "sockets": [{"id": 0}, {"id": 1}],
        "nodes": [{"id": n, "socket": n, "cpus": f"{2 * n}-{2 * n + 1}",
                   "memory": {"blocks": [{"size": "1GiB"}]}} for n in (0, 1)],
        "distance": {"local_latency": "100ns", "links": [{"between": [0, 1], "latency": "60ns"}]},
    }
    paired = slabsim.run(machine, workload, "slab_nodes", seed=3)
    assert paired.topology == "pair"
    assert paired.summary.loc[0, "allocations"] > 0


def test_a_workload_too_big_for_the_host_raises_config_error():
    # 8 nodes x 1024 CPUs at a million live objects each: hundreds of GB the host has not got.
    machine = {
        "name": "big", "sockets": [{"id": n} for n in range(8)],
        "nodes": [{"id": n, "socket": n, "cpus": f"{n * 1024}-{n * 1024 + 1023}",
                   "memory": {"blocks": [{"size": "1GiB"}]}} for n in range(8)],
        "distance": {"local_latency": "80ns",
                     "slit": [[10 if a == b else 20 for b in range(8)] for a in range(8)]},
    }
    workload = {
        "name": "many", "duration": "1ms", "caches": [{"name": "c", "object_size": 64}],
        "threads": [{"name": "t", "cpus": "all", "cache": "c", "max_live_per_cpu": 1000000,
                     "think_time": {"constant": "100ns"}, "lifetime": {"constant": "1s"}}],
    }
    with pytest.raises(slabsim.ConfigError) as e:
        slabsim.run(machine, workload, "slab_nodes")
    assert e.value.diagnostics[0]["pointer"] == "/threads/0/max_live_per_cpu"
    assert "fits the memory limit" in e.value.diagnostics[0]["message"]


def test_bad_input_raises_value_error_naming_the_json_path():
    with pytest.raises(ValueError) as e:
        slabsim.run("two-socket-intel", {"name": "bad", "duration": "1ms", "caches": [],
                                         "threads": []})
    assert isinstance(e.value, slabsim.ConfigError)
    pointers = [d["pointer"] for d in e.value.diagnostics]
    assert "/caches" in pointers
    assert e.value.diagnostics[0]["file"] == "<workload dict>"
    with pytest.raises(ValueError, match="no strategy preset"):
        slabsim.run(workload="steady-local", strategy="no-such-strategy")
    with pytest.raises(TypeError):
        slabsim.run(workload=42)
    with pytest.raises(ValueError):
        slabsim.run(workload="steady-local", seed=-1)


def test_compare_gives_one_tidy_frame():
    frame = slabsim.compare(workload="node-online", strategies=["hotplug_lock", "slab_nodes"])
    assert list(frame.columns) == ["allocator", "strategy", "workload", "seed", "topology",
                                   "metric", "value"]
    assert set(frame["allocator"]) == {"slub"}
    assert set(frame["strategy"]) == {"hotplug_lock", "slab_nodes"}
    waits = frame[frame["metric"] == "mem_hotplug_lock_wait_ns"].set_index("strategy")["value"]
    assert waits["hotplug_lock"] > waits["slab_nodes"]  # the writer's grace period in both
    assert set(frame.attrs["results"]) == {"hotplug_lock", "slab_nodes"}
    # Readers (create, destroy, shrink) wait for the online only under hotplug_lock.
    locks = pd.concat([r.lock_waits for r in frame.attrs["results"].values()])
    readers = locks[(locks["lock_class"] == "mem_hotplug_lock") & (locks["mode"] == "read")]
    assert list(readers["strategy"]) == ["hotplug_lock"]
    assert readers["wait_total_ns"].iloc[0] > 0


def test_ctrl_c_interrupts_a_long_run_and_the_interpreter_survives():
    long_run = {
        "name": "long", "topology": "two-socket-intel", "duration": "10s",
        "caches": [{"name": "c", "object_size": 64}],
        "threads": [{"name": "t", "cpus": "all", "cache": "c",
                     "think_time": {"constant": "50ns"}, "lifetime": {"constant": "500ns"}}],
    }
    # The run holds the GIL (as a notebook cell does), so the interrupt comes from another
    # process, as Jupyter's does.
    killer = subprocess.Popen(["sh", "-c", f"sleep 0.5; kill -INT {os.getpid()}"])
    start = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            slabsim.run(workload=long_run, strategy="slab_nodes_nocpu")
    finally:
        killer.wait()
    assert time.monotonic() - start < 5
    # The next run works and SIGINT is Python's again.
    assert slabsim.run(workload="steady-local").summary.loc[0, "allocations"] > 0
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_scenarios_and_presets_are_listed():
    assert "node-online" in slabsim.scenarios()
    assert slabsim.strategy_presets()[0] == "mutex_only"
    assert isinstance(slabsim.run(workload="steady-local").events, pd.DataFrame)


def test_every_allocator_runs_and_compares():
    assert slabsim.allocators() == ["slub", "slab", "slob"]
    frame = slabsim.compare(workload="node-online", strategies=["hotplug_lock"],
                            allocators=slabsim.allocators())
    assert set(frame.attrs["results"]) == {"slub", "slab", "slob"}
    assert list(frame["allocator"].unique()) == ["slub", "slab", "slob"]
    results = frame.attrs["results"]
    assert all(r.strategy == "hotplug_lock" for r in results.values())
    # Only SLUB has ALLOC_NODE_MISMATCH; SLAB has CONFIG_DEBUG_SLAB counters, SLOB none.
    mismatch = frame[frame["metric"] == "alloc_node_mismatch"].set_index("allocator")["value"]
    assert mismatch["slub"] >= 0 and mismatch["slab"] is None and mismatch["slob"] is None
    assert {"allochit", "allocmiss", "freehit", "freemiss", "node_allocs"} <= set(
        results["slab"].stats["counter"])
    assert results["slob"].stats.empty
    assert "slob_lock" in set(results["slob"].lock_stat["lock_class"])
    assert "&alc->lock" in set(results["slab"].lock_stat["lock_class"])
    # SLAB's node struct for node 2 exists from the hot-add on, so it never falls back after the
    # online; SLOB keeps no per-node state at all.
    assert results["slab"].summary["fallbacks_to_numa_no_node"][0] > 0
    assert results["slob"].summary["fallbacks_to_numa_no_node"][0] == 0
    assert "statistics" in results["slab"].report("slabinfo").splitlines()[0]
    with pytest.raises(ValueError, match="allocator: expected one of slub, slab, slob"):
        slabsim.run(workload="steady-local", allocator="slab2")


def test_defaults_are_the_cores_and_runs_match_the_cli(tmp_path):
    d = slabsim.defaults()
    assert d["workload"] == "node-online" and d["strategy"] == "slab_nodes_nocpu"
    assert d["strategies"] == ["hotplug_lock", "slab_nodes"] and d["allocator"] == "slub"
    assert d["quantum_ns"] == 10000 and d["jitter_ns"] == 0
    r = slabsim.run(workload="steady-local")
    config = r.to_dict()["config"]
    assert r.strategy == d["strategy"]
    assert config["quantum_ns"] == d["quantum_ns"] and config["jitter_ns"] == d["jitter_ns"]
    # The same request from the command line gives the same document.
    out = tmp_path / "r.json"
    subprocess.run([str(SLABSIM), "run", "-w", "steady-local", "-o", str(out)],
                   check=True, capture_output=True)
    cli = slabsim.Result.load(out)
    assert without_host(cli) == without_host(r)
    tuned = slabsim.run(workload="steady-local", quantum_ns=2000, jitter_ns=500)
    assert tuned.to_dict()["config"]["quantum_ns"] == 2000
    assert tuned.to_dict()["config"]["jitter_ns"] == 500


def test_a_setting_out_of_its_declared_range_is_a_value_error():
    with pytest.raises(ValueError, match=r"quantum_ns: expected an integer from 1 to 1000000"):
        slabsim.run(workload="steady-local", quantum_ns=0)
    with pytest.raises(ValueError, match=r"jitter_ns: expected an integer from 0 to"):
        slabsim.run(workload="steady-local", jitter_ns=-1)


def test_summary_columns_are_the_declared_headline_metrics():
    r = slabsim.run(workload="node-online", strategy="hotplug_lock", allocator="slab")
    s = r.summary
    assert list(s.columns[:6]) == ["allocator", "strategy", "workload", "seed", "topology",
                                   "simulated_ns"]
    assert s.loc[0, "simulated_ns"] == r.to_dict()["simulated_ns"]
    assert s.loc[0, "alloc_node_mismatch"] is None  # SLAB has no such counter
    assert s.loc[0, "hotplug_operations"] == len(r.to_dict()["metrics"]["hotplug"])
    assert s.loc[0, "findings"] == ", ".join(r.findings_list)
