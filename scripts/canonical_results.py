#!/usr/bin/python3
"""Writes results/README.md and its PNG figures: the canonical strategy comparison.

Every strategy preset on every default workload (each on its own topology), the topology-agnostic
workloads on more machines, and the regression table; then the benchmark figures scripts/bench
recorded. Called by scripts/results (which builds and benchmarks first); everything but the
benchmark figures is identical from one run to the next. Files are written atomically.
"""

import os
import pathlib
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

import slabsim  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
# SLABSIM_RESULTS_DIR: somewhere else than results/ (the tests use it).
RESULTS = pathlib.Path(os.environ.get("SLABSIM_RESULTS_DIR", ROOT / "results"))
WORKLOADS = ROOT / "workloads"

# The strategies of the central comparison (v5.10's lock, v5.12's nodemask): the lock-wait figure,
# a panel each.
CENTRAL_STRATEGIES = ["hotplug_lock", "slab_nodes", "slab_nodes_nocpu"]

# The workloads that run on any machine, and the machines they run on besides their own.
MORE_MACHINES = {
    "steady-local": ["four-socket-xeon-e7", "amd-epyc-rome-nps4", "eight-socket"],
    "remote-heavy": ["amd-epyc-rome-nps4", "eight-socket"],
}

COLUMNS = {
    "remote_alloc_ratio": "remote alloc",
    "fallbacks_to_numa_no_node": "fallbacks",
    "alloc_node_mismatch": "node mismatch",
    "slab_mutex_wait_ns": "slab_mutex wait µs",
    "mem_hotplug_lock_wait_ns": "mem_hotplug_lock wait µs",
    "cpu_hotplug_lock_wait_ns": "cpu_hotplug_lock wait µs",
    "hotplug_max_ns": "hotplug max µs",
    "findings": "findings",
}


def write_atomically(path, data):
    path = pathlib.Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".")
    with os.fdopen(fd, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.replace(tmp, path)


def save_figure(fig, name):
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    write_atomically(RESULTS / name, buf.getvalue())
    return name


def markdown_table(frame):
    head = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *rows])


def cell(key, value):
    """A summary value as the tables show it: times in µs, ratios to 3 places."""
    if key.endswith("_ns"):
        return f"{value / 1000:.1f}"
    if key == "remote_alloc_ratio":
        return f"{value:.3f}"
    if key == "findings":
        return value or "none"
    return value


def comparison_table(results):
    rows = []
    for r in results:
        s = r.summary.iloc[0]
        row = {"strategy": f"`{r.strategy}`"}
        for key, title in COLUMNS.items():
            row[title] = cell(key, s[key])
        rows.append(row)
    return markdown_table(pd.DataFrame(rows))


# The RCU grace period a percpu rw-semaphore writer waits, across the published range
# (sim/kernel/rcu_grace_period.hpp; results/rcu-grace-period.md): None is the model's default,
# tick-aligned (16 ms at HZ=250, measured on the booted v6.1).
GRACE_PERIODS = [
    ("0 (rcupdate.rcu_expedited, approximately)", "0ns"),
    ("1 ms (slabsim's default before issue #17)", "1ms"),
    ("4 ms (one tick at HZ=250)", "4ms"),
    ("8 ms", "8ms"),
    ("default: 4 ticks, 12-16 ms (booted v6.1, HZ=250)", None),
    ("33 ms (Android 6.1 under load, upper bucket)", "33ms"),
    ("100 ms (v5.10, a CPU busy in the kernel: jiffies_till_sched_qs)", "100ms"),
    ("200 ms (twice that)", "200ms"),
]
GRACE_STRATEGIES = ["hotplug_lock", "slab_nodes"]


def grace_period_table(path):
    """The default comparison with each grace period: its headline metrics per strategy."""
    base = slabsim.run(workload=path, strategy=GRACE_STRATEGIES[0]).to_dict()["config"]["workload"]
    rows, runs = [], 0
    for label, value in GRACE_PERIODS:
        workload = dict(base)
        kernel = dict(workload.get("kernel", {}))
        kernel.pop("rcu_grace_period", None)
        if value is not None:
            kernel["rcu_grace_period"] = value
        workload["kernel"] = kernel
        row = {"grace period": label}
        for st in GRACE_STRATEGIES:
            s = slabsim.run(workload=workload, strategy=st).summary.iloc[0]
            runs += 1
            row[f"`{st}` fallbacks"] = s["fallbacks_to_numa_no_node"]
            row[f"`{st}` mem_hotplug_lock wait µs"] = cell("_ns", s["mem_hotplug_lock_wait_ns"])
            row[f"`{st}` hotplug max µs"] = cell("_ns", s["hotplug_max_ns"])
        rows.append(row)
    return markdown_table(pd.DataFrame(rows)), runs


# The allocators compared under v5.10's and v5.12's locking.
ALLOCATOR_STRATEGIES = ["hotplug_lock", "slab_nodes_nocpu"]
ALLOCATOR_COLUMNS = {
    "remote_alloc_ratio": "remote alloc",
    "fallbacks_to_numa_no_node": "fallbacks",
    "slab_mutex_wait_ns": "slab_mutex wait µs",
    "mem_hotplug_lock_wait_ns": "mem_hotplug_lock wait µs",
    "hotplug_max_ns": "hotplug max µs",
    "hotplug_failed": "hotplug failed",
    "findings": "findings",
}


# The allocators' own spinlocks, by lockdep class name.
OWN_LOCKS = ["&n->list_lock", "&parent->list_lock", "&ptr->list_lock", "&alc->lock", "slob_lock"]


def allocator_table(results):
    """One row per (allocator, strategy): headline metrics and the allocator's own lock."""
    rows = []
    for r in results:
        s = r.summary.iloc[0]
        locks = r.lock_waits
        own = locks[locks["lock_class"].isin(OWN_LOCKS)]
        row = {"allocator": r.allocator, "strategy": f"`{r.strategy}`"}
        for key, title in ALLOCATOR_COLUMNS.items():
            if key == "hotplug_failed":
                row[title] = int((r.hotplug["result"] != 0).sum()) if len(r.hotplug) else 0
            else:
                row[title] = cell(key, s[key])
        row["allocator locks: contentions / acquisitions"] = (
            f"{int(own['contentions'].sum())} / {int(own['acquisitions'].sum())}")
        rows.append(row)
    return markdown_table(pd.DataFrame(rows))


def main():
    presets = slabsim.strategy_presets()
    sections = []
    figures = []
    runs = 0
    for scenario in slabsim.scenarios():
        path = WORKLOADS / f"{scenario}.json"
        own = slabsim.run(workload=path, strategy=presets[0]).topology
        for topology in [own] + MORE_MACHINES.get(scenario, []):
            results = [slabsim.run(topology, path, st) for st in presets]
            runs += len(results)
            sections.append(f"### `{scenario}` on `{topology}`\n\n{comparison_table(results)}\n")
            if scenario == "node-online" and topology == own:
                figures.append(("Lock wait and hold time per class, `node-online`",
                                save_figure(slabsim.plot.lock_times(results), "node-online-locks.png")))
                central = [r for r in results if r.strategy in CENTRAL_STRATEGIES]
                figures.append(("Who waits for which lock when, `node-online`, v5.10 against "
                                "v5.12 (the lane: the online's phases; right: zoom on it)",
                                save_figure(slabsim.plot.lock_waits_over_time(central),
                                            "node-online-lock-waits.png")))
                figures.append(("Remote-allocation ratio over time, `node-online` (the lane: each "
                                "strategy's online in its phases; right: zoom on it)",
                                save_figure(slabsim.plot.remote_ratio_over_time(results),
                                            "node-online-remote.png")))
                figures.append(("Fallbacks to `NUMA_NO_NODE` per requested node, `node-online`",
                                save_figure(slabsim.plot.fallbacks_per_node(results),
                                            "node-online-fallbacks.png")))

    allocator_sections = []
    for scenario in slabsim.scenarios():
        path = WORKLOADS / f"{scenario}.json"
        results = [slabsim.run(workload=path, strategy=st, allocator=a)
                   for a in slabsim.allocators() for st in ALLOCATOR_STRATEGIES]
        runs += len(results)
        allocator_sections.append(f"### `{scenario}` on `{results[0].topology}`\n\n"
                                  f"{allocator_table(results)}\n")

    grace_table, grace_runs = grace_period_table(WORKLOADS / "node-online.json")
    runs += grace_runs

    regressions = []
    for path in sorted((WORKLOADS / "regressions").glob("*.json")):
        row = {"scenario": f"`{path.stem}`"}
        for st in presets:
            row[st] = ", ".join(slabsim.run(workload=path, strategy=st).findings_list) or "none"
            runs += 1
        regressions.append(row)

    def recorded(name):
        path = ROOT / "results" / name
        return path.read_text(encoding="utf-8") if path.exists() else "(not measured: run scripts/bench)\n"

    bench = {name: recorded(name) for name in ("machine-bench.txt", "fastpath-bench.txt")}
    fast_lines = [line for line in bench["fastpath-bench.txt"].splitlines()
                  if line.startswith("#") or "_median" in line]

    text = f"""# results/

Written by `scripts/results` (never by hand): the canonical comparison of the locking strategies
below, its figures, and the benchmark figures `scripts/bench` records. Each table is one
workload on one machine under every strategy preset (oldest first: `mutex_only` v3.14,
`hotplug_lock_sysfs` v5.3, `hotplug_lock` v5.10, `shrink_slab_mutex` the 2021 RFC 1/3,
`slab_nodes` 7e1fa93deff4 + 666716fd267d, `slab_nodes_nocpu` v5.12, `v6.1` the 6.1 LTS SLUB
code), with the workload's seed; {runs} runs in all. Times are simulated; "findings" are the
run's findings (see `workloads/regressions/README.md`).

| file | command | what |
|---|---|---|
| `README.md`, `*.png` | `scripts/results` | this comparison and its figures |
| `fastpath-bench.txt` | `scripts/bench` | host time of the SLUB model's fast paths (Google Benchmark, single-threaded environment): `BM_AllocFreePair` is one `kmem_cache_alloc` + `kmem_cache_free` pair on the cpu freelist; `BM_AllocFreeBatch/N` amortises slow paths over N pairs; `BM_CrossCpuFree` frees every object from another CPU |
| `machine-bench.txt` | `scripts/bench` | simulated slab operations (allocations + frees) per host second on the SimGrid machine for a fast-path workload, the default `node-online` scenario under both default strategies and a 1,024-CPU x 32-node machine, each next to a bare SimGrid loop doing one `sleep_for` per operation in the same process (medians of repeated runs; the loop's CPUs once in lockstep, SimGrid's cheapest pattern, and once staggered so that no two wake together); host memory per live object (glibc heap in use, its mapped blocks included) |
| `engine-bench.txt` | `scripts/bench` | SimGrid 3.32 alone, for the engine wrapper's design: host ns per step when the engine orders the actors (a sleep each, no two ending together) against actors handing the host CPU to each other (`Actor::resume()`, `this_actor::suspend()`), for 4 to 1,024 actors; how far SimGrid's order among sleeps that end at the same instant is from first-asleep-first, last-asleep-first and lowest-actor-first, and first-asleep-first handed to SimGrid as sub-ns offsets on the sleeps' ends |

## The default scenario

`node-online`: node 2 of a QEMU guest is hot-added and onlined from 1 ms under load, with
`kmem_cache_alloc_node()` callers targeting it and module caches created during the online.

""" + "\n\n".join(f"![{title}]({name})" for title, name in figures) + """

## Every workload

""" + "\n".join(sections) + """
## Allocators

Each default workload on its own machine with SLUB, SLAB (v5.10's `mm/slab.c`) and SLOB, under
v5.10's `hotplug_lock` and v5.12's `slab_nodes_nocpu` locking. "allocator locks" sums the
allocator's own spinlocks: `&n->list_lock` (SLUB), `&parent->list_lock` and `&ptr->list_lock` (SLAB's node lists, named as lockdep names them), `&alc->lock` (SLAB's alien caches) and
`slob_lock`. SLAB's reaping runs every 2 s (`REAPTIMEOUT_AC`), so not within these runs.

""" + "\n".join(allocator_sections) + f"""
## The RCU grace period

`node-online` under v5.10's `hotplug_lock` and v5.12's `slab_nodes` with the percpu rw-semaphore
writers' grace period (`rcu_sync_enter()`'s `synchronize_rcu()`) across its published range
(`results/rcu-grace-period.md` has the measurements and sources). The grace period delays the
hot-add's `mem_hotplug_begin()`, so node 2 becomes usable later and the `kmem_cache_alloc_node()`
callers fall back to `NUMA_NO_NODE` longer: fallbacks grow with it under both strategies. With
grace periods beyond the workload's 30 ms the online ends after the threads stopped, and the
run only measures the fallbacks of a node that never came online in time. "mem_hotplug_lock
wait" is the simulator's: every wait, the writers' grace periods included (the kernel's
`/proc/lock_stat` records none for a percpu rw-semaphore).

{grace_table}

## Regression scenarios

What each scenario of `workloads/regressions/` finds under each strategy (the tests check the same
table in `workloads/regressions/README.md`).

{markdown_table(pd.DataFrame(regressions))}

## Benchmarks

Goals: at most 15 ns of host time for the fast-path pair (native SLUB: about 11 ns,
`shared/reference/hardware-numbers.md` 3.4); on the machine, at least 10x the bare loop for the
fast-path workload and 2x for the mixed hotplug scenario, counted against the lockstep loop.

```
{bench["machine-bench.txt"].rstrip()}
```

```
{chr(10).join(fast_lines)}
```
"""
    write_atomically(RESULTS / "README.md", text)
    print(f"results/README.md: {runs} runs, {len(figures)} figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
