"""A run's result as Python sees it: the result document, and tidy pandas frames built from it.

Every frame is long ("tidy"): one row per observation, identified by the run's ``allocator``,
``strategy``, ``workload`` and ``seed`` columns, so frames of several runs concatenate into one.
"""

import json

__all__ = ["Result", "cache_layout_fields"]


def cache_layout_fields(allocator="slub"):
    """The fields of a cache's layout under ``allocator`` (slub, slab, slob), in order, as the
    core declares them and results hold them: a list of ``{"name", "type", "kernel"}``, type
    being ``number``, ``flags`` or ``cache``, kernel where the kernel keeps or shows it."""
    from . import _slabsim

    return json.loads(_slabsim.cache_layout_fields(allocator))


class Result:
    """One run of slabsim: what ``slabsim run -o`` writes, plus the text reports.

    ``to_dict()`` is the result document (its ``host`` block holds the wall time; everything else
    is identical for identical inputs and seed). The frames: ``summary``, ``lock_stat``,
    ``lock_waits``, ``lock_waits_over_time``, ``numastat``, ``stats``, ``cache_layouts``,
    ``time_buckets``, ``violations``, ``hotplug``, ``hotplug_steps``, ``events``, ``findings``.
    """

    def __init__(self, document, reports=None):
        self._doc = document
        self._reports = dict(reports or {})

    @classmethod
    def from_json(cls, text, reports=None):
        return cls(json.loads(text), reports)

    @classmethod
    def load(cls, path):
        """A result file written by ``slabsim run -o``."""
        with open(path, encoding="utf-8") as f:
            return cls(json.load(f))

    def to_dict(self):
        """The result document (a deep copy)."""
        return json.loads(json.dumps(self._doc))

    def report(self, name):
        """A text report in the kernel's format: summary, lock_stat, numastat, slabinfo,
        slub_stats or lockdep (for results made by ``slabsim.run``)."""
        if name not in self._reports:
            raise KeyError(f"no report {name!r}; reports: {', '.join(self._reports) or 'none'}")
        return self._reports[name]

    # ---- identity -------------------------------------------------------------------------

    @property
    def allocator(self):
        """``slub``, ``slab`` or ``slob``."""
        return self._doc["config"].get("allocator", "slub")

    @property
    def strategy(self):
        return self._doc["config"]["strategy"]["name"]

    @property
    def workload(self):
        return self._doc["config"]["workload"].get("name", "?")

    @property
    def topology(self):
        return self._doc["config"]["topology"]["name"]

    @property
    def seed(self):
        return self._doc["config"]["seed"]

    @property
    def metrics(self):
        return self._doc["metrics"]

    @property
    def findings_list(self):
        """The run's findings (``missing-node``, ``deadlock``, ``lockdep A -> B``, ...)."""
        return list(self.metrics.get("findings", []))

    @property
    def failed(self):
        """True when the run found a violation or a deadlock (exit status 3 for the CLI)."""
        return any(f in ("missing-node", "use-after-free", "violation", "deadlock")
                   for f in self.findings_list)

    def __repr__(self):
        return (f"<slabsim.Result {self.workload} on {self.topology}, {self.allocator} under "
                f"{self.strategy} "
                f"(seed {self.seed}): {', '.join(self.findings_list) or 'no findings'}>")

    def _keys(self):
        return {"allocator": self.allocator, "strategy": self.strategy, "workload": self.workload,
                "seed": self.seed}

    def _frame(self, rows, columns):
        import pandas as pd

        keys = self._keys()
        return pd.DataFrame([{**keys, **r} for r in rows], columns=[*keys, *columns])

    # ---- frames ---------------------------------------------------------------------------

    @property
    def summary(self):
        """One row of headline metrics: the topology, then the metrics the core declares for
        Python (``simulated_ns``, ``allocations``, ... ``findings``), the same columns as a
        sweep's frame."""
        from . import _slabsim

        row = {"topology": self.topology}
        row.update(json.loads(_slabsim.headline(json.dumps(self._doc))))
        return self._frame([row], list(row))

    @property
    def lock_stat(self):
        """/proc/lock_stat as the kernel would have recorded it, per lock class and mode (read,
        write): contentions, bounces, acquisitions, wait and hold times in ns. v5.10's percpu
        rw-semaphores (mem_hotplug_lock, cpu_hotplug_lock) record no contention and fold their
        waits into the hold time, and nothing is recorded after lockdep's first report; see
        ``lock_waits`` for every wait the simulator saw."""
        return self._lock_frame("lock_stat")

    @property
    def lock_waits(self):
        """The simulator's complete waits and holds per lock class and mode, in the columns of
        ``lock_stat``: every wait of every kind of lock, which the kernel cannot measure and
        which make the strategy comparison."""
        return self._lock_frame("lock_waits")

    def _lock_frame(self, key):
        rows = []
        for c in self.metrics[key]:
            for mode in ("read", "write"):
                w, h = c[mode]["waittime"], c[mode]["holdtime"]
                if h["nr"] == 0 and w["nr"] == 0:
                    continue
                rows.append({
                    "lock_class": c["class"], "mode": mode,
                    "con_bounces": c["con_bounces"][mode], "acq_bounces": c["acq_bounces"][mode],
                    "contentions": w["nr"], "acquisitions": h["nr"],
                    "wait_total_ns": w["total_ns"], "wait_max_ns": w["max_ns"],
                    "hold_total_ns": h["total_ns"], "hold_max_ns": h["max_ns"],
                })
        return self._frame(rows, ["lock_class", "mode", "con_bounces", "acq_bounces",
                                  "contentions", "acquisitions", "wait_total_ns", "wait_max_ns",
                                  "hold_total_ns", "hold_max_ns"])

    @property
    def numastat(self):
        """numastat per node and counter (numa_hit, numa_miss, ...)."""
        rows = []
        for n in self.metrics["numastat"]:
            for counter, value in n.items():
                if counter != "node":
                    rows.append({"node": n["node"], "counter": counter, "value": value})
        return self._frame(rows, ["node", "counter", "value"])

    @property
    def stats(self):
        """The allocator's own statistics per cache, with kernel names: SLUB's stat_item
        counters, SLAB's CONFIG_DEBUG_SLAB counters; none for SLOB."""
        key = f"{self.allocator}_stats"
        rows = []
        for name, c in self.metrics["caches"].items():
            for counter, value in c.get(key, {}).items():
                rows.append({"cache": name, "counter": counter, "value": value})
        return self._frame(rows, ["cache", "counter", "value"])

    @property
    def cache_layouts(self):
        """Each cache's layout as its last ``kmem_cache_create()`` set it up, one row per cache
        (destroyed ones included; a cache never created has no row), with the kernel's names:
        the columns the core declares for the run's allocator (``slabsim.cache_layout_fields``),
        e.g. SLUB's ``order``, ``objs_per_slab``, ``object_size``, ``slab_size``, ``align``,
        ``min_partial``, ``cpu_partial``, ``cpu_partial_slabs`` (None before v6.1), ``flags``
        (``SLAB_*`` names joined by ``|``) and ``merged_into`` (None: not merged)."""
        fields = cache_layout_fields(self.allocator)
        rows = []
        for name, c in self.metrics["caches"].items():
            layout = c.get("layout")
            if layout is None:
                continue
            row = {"cache": name, "destroyed": c["destroyed"]}
            for f in fields:
                value = layout.get(f["name"])
                row[f["name"]] = "|".join(value) if f["type"] == "flags" else value
            rows.append(row)
        return self._frame(rows, ["cache", "destroyed", *(f["name"] for f in fields)])

    @property
    def time_bucket_ns(self):
        """The width of the run's time buckets in ns: the one asked for (``time_bucket_ns``, a
        workload's ``time_bucket``), or the automatic one (at least 100 per run and 4 in each
        memory hotplug window)."""
        return self.metrics["time_bucket_ns"]

    @property
    def time_buckets(self):
        """Per time bucket ``[start_ns, end_ns)`` and node: allocations, remote ratio,
        fallbacks, and the allocations that landed on the node. The buckets cover the run to its
        end (``simulated_ns``), which may be after the workload's duration."""
        width = self.time_bucket_ns
        rows = []
        for b in self.metrics["time_buckets"]:
            for node, count in enumerate(b["allocations_by_node"]):
                rows.append({
                    "start_ns": b["start_ns"], "end_ns": b["start_ns"] + width, "node": node,
                    "allocations_on_node": count,
                    "allocations": b["remote_alloc"]["total"],
                    "remote_alloc_ratio": b["remote_alloc"]["ratio"],
                    "fallbacks_to_numa_no_node": b["fallbacks_to_numa_no_node"],
                })
        return self._frame(rows, ["start_ns", "end_ns", "node", "allocations_on_node",
                                  "allocations", "remote_alloc_ratio",
                                  "fallbacks_to_numa_no_node"])

    @property
    def lock_waits_over_time(self):
        """Who waited for which lock when: per time bucket, lock class, mode and waiting kernel
        function (``kmem_cache_create``, ``mem_hotplug_begin``, ...), the waits that began in the
        bucket and the time waited within it (``wait_ns``, every waiter together; a wait across
        buckets counts in each), and ``waiting``, the mean number of waiters (``wait_ns`` over
        the width). Only buckets with a wait have rows."""
        width = self.time_bucket_ns
        rows = []
        for b in self.metrics["time_buckets"]:
            for w in b["lock_waits"]:
                rows.append({"start_ns": b["start_ns"], "end_ns": b["start_ns"] + width,
                             "lock_class": w["class"], "mode": w["mode"],
                             "function": w["function"], "waits": w["waits"],
                             "wait_ns": w["wait_ns"], "waiting": w["wait_ns"] / width})
        return self._frame(rows, ["start_ns", "end_ns", "lock_class", "mode", "function",
                                  "waits", "wait_ns", "waiting"])

    @property
    def fallbacks(self):
        """Fallbacks to NUMA_NO_NODE per cache and requested node."""
        rows = []
        for name, c in self.metrics["caches"].items():
            for node, count in enumerate(c["fallbacks_to_numa_no_node"]):
                rows.append({"cache": name, "node": node, "fallbacks": count})
        return self._frame(rows, ["cache", "node", "fallbacks"])

    @property
    def violations(self):
        """Invariant violations: time, CPU, kernel function, kind and sentence."""
        rows = [{"time_ns": v["time_ns"], "cpu": v["cpu"], "function": v["function"],
                 "kind": v["kind"], "what": v["what"]} for v in self.metrics["violations"]]
        return self._frame(rows, ["time_ns", "cpu", "function", "kind", "what"])

    @property
    def hotplug(self):
        """Each memory or CPU hotplug operation: start, lock wait, duration, result."""
        rows = [{"type": h["type"], "node": h["node"], "block": h["block"], "cpu": h["cpu"],
                 "start_ns": h["start_ns"], "lock_wait_ns": h["lock_wait_ns"],
                 "duration_ns": h["duration_ns"], "result": h["result"]}
                for h in self.metrics["hotplug"]]
        return self._frame(rows, ["type", "node", "block", "cpu", "start_ns", "lock_wait_ns",
                                  "duration_ns", "result"])

    @property
    def hotplug_steps(self):
        """The steps of each memory hotplug operation (``operation``: its index in ``hotplug``)
        and when it reached them: ``locked`` (after ``mem_hotplug_begin()``),
        ``going_online_notified`` (after ``MEM_GOING_ONLINE``), ``node_states_set`` (after
        ``node_states_set_node()``), ``isolated``, ``going_offline_notified``,
        ``node_states_cleared``."""
        rows = [{"operation": k, "type": h["type"], "node": h["node"], "block": h["block"],
                 "step": s["step"], "at_ns": s["at_ns"]}
                for k, h in enumerate(self.metrics["hotplug"]) for s in h.get("steps", [])]
        return self._frame(rows, ["operation", "type", "node", "block", "step", "at_ns"])

    @property
    def events(self):
        """Each timed event played: type, target, start, duration, result, and for a
        ``sysfs_read`` the text the read returned, as the kernel formats it (None otherwise)."""
        rows = [{"text": None, **e} for e in self.metrics["events"]]
        return self._frame(rows, ["type", "target", "start_ns", "duration_ns", "result", "text"])

    @property
    def findings(self):
        """The findings, one row each."""
        return self._frame([{"finding": f} for f in self.findings_list], ["finding"])
