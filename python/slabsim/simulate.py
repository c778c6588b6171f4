"""Running simulations from Python: one run, or one workload under several strategies."""

import json
import os

from . import _slabsim
from .results import Result

__all__ = ["run", "compare", "defaults", "scenarios", "strategy_presets", "allocators"]


def scenarios():
    """The embedded workload scenarios (names usable as ``workload``)."""
    return list(_slabsim.scenarios())


def allocators():
    """The allocator models: ``slub``, ``slab`` (v5.10's mm/slab.c) and ``slob``."""
    return list(_slabsim.allocators())


def strategy_presets():
    """The locking-strategy presets, oldest first."""
    return list(_slabsim.strategy_presets())


def _input(value, what):
    """(text, is_json) for the core: a dict is sent as JSON, a path or name as a string."""
    if isinstance(value, dict):
        return json.dumps(value), True
    if isinstance(value, (str, os.PathLike)):
        return os.fspath(value), False
    raise TypeError(f"{what}: expected a path, a name or a dict, got {type(value).__name__}")


def defaults():
    """The defaults of :func:`run` and :func:`compare`, declared once in the core and the same
    as the command line's: ``workload`` (``node-online``), ``strategy`` (``slab_nodes_nocpu``),
    ``strategies`` (compare's: the main job's), ``allocator``, ``jitter_ns``, ``quantum_ns`` and
    ``time_bucket_ns``."""
    return dict(_slabsim.run_defaults())


def run(topology=None, workload=None, strategy=None, seed=None, *, allocator=None,
        jitter_ns=None, quantum_ns=None, time_bucket_ns=None, lookahead=True, slab_nomerge=False,
        trace=None):
    """Runs one simulation and returns a :class:`Result`; None for any argument means its
    default (:func:`defaults`), as ``slabsim run`` has it.

    ``topology``: a topology file, a preset name or a dict; None for the workload's own.
    ``workload``: a workload file, an embedded scenario name or a dict.
    ``strategy``: a strategy preset name, a strategy file or a dict.
    ``allocator``: the allocator model, ``"slub"``, ``"slab"`` or ``"slob"`` (:func:`allocators`).
    ``seed``: None for the workload's seed. ``jitter_ns`` delays each timed event by a seeded
    0..jitter_ns (None: 0); ``quantum_ns`` is the lax-synchronisation quantum (None: the core's
    default, 10 µs; :func:`defaults`); ``time_bucket_ns`` is the width of the time buckets
    (``Result.time_buckets``, ``Result.lock_waits_over_time``; None: the workload's
    ``time_bucket``, else automatic: at least 100 per run and 4 in each memory hotplug window);
    ``lookahead=False`` sends every wait through SimGrid
    (slower, same results); ``slab_nomerge=True`` boots the model with the kernel's
    ``slab_nomerge`` parameter (no cache merging; the kernel and the model merge by default).
    The result's ``config`` block records every setting used.
    ``trace``: a path where the run's
    timeline is written as Chrome trace-event JSON (open it in https://ui.perfetto.dev, or draw
    it with :func:`slabsim.plot.timeline`).

    Bad input raises :class:`slabsim.ConfigError` (a ``ValueError``) naming the file and JSON
    path; Ctrl-C (or a notebook's interrupt) raises ``KeyboardInterrupt`` and leaves the
    interpreter usable.
    """
    d = defaults()
    workload = d["workload"] if workload is None else workload
    strategy = d["strategy"] if strategy is None else strategy
    allocator = d["allocator"] if allocator is None else allocator
    topo, topo_json = (None, False) if topology is None else _input(topology, "topology")
    work, work_json = _input(workload, "workload")
    strat, strat_json = _input(strategy, "strategy")
    if seed is not None and (not isinstance(seed, int) or seed < 0):
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    out = _slabsim.run(topo, topo_json, work, work_json, strat, strat_json, str(allocator), seed,
                       None if jitter_ns is None else int(jitter_ns),
                       None if quantum_ns is None else int(quantum_ns),
                       None if time_bucket_ns is None else int(time_bucket_ns), bool(lookahead),
                       bool(slab_nomerge), "" if trace is None else os.fspath(trace))
    return Result.from_json(out["result"], out["reports"])


def compare(topology=None, workload=None, strategies=None, seed=None, *, allocators=None,
            **options):
    """Runs the workload under each allocator and strategy and returns one tidy frame of
    headline metrics: columns allocator, strategy, workload, seed, topology, metric, value (one
    row per run and metric; values are numbers, booleans, None for a metric the allocator does
    not have, or, for ``findings``, text). The results themselves are in
    ``frame.attrs["results"]``, keyed by strategy name with one allocator, by allocator name
    with one strategy, else by ``(allocator, strategy)``."""
    import pandas as pd

    strategies = defaults()["strategies"] if strategies is None else list(strategies)
    allocators = [defaults()["allocator"]] if allocators is None else list(allocators)
    results = {}
    for alloc in allocators:
        for st in strategies:
            r = run(topology, workload, st, seed, allocator=alloc, **options)
            key = (r.strategy if len(allocators) == 1
                   else r.allocator if len(strategies) == 1 else (r.allocator, r.strategy))
            results[key] = r
    frames = []
    for r in results.values():
        wide = r.summary
        frames.append(wide.melt(id_vars=["allocator", "strategy", "workload", "seed", "topology"],
                                var_name="metric", value_name="value"))
    frame = pd.concat(frames, ignore_index=True)
    frame.attrs["results"] = results
    return frame
