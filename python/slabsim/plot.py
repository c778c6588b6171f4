"""The figures a slabsim user would otherwise draw by hand, with matplotlib.

Each function takes results (one :class:`slabsim.Result`, a list of them, a dict of them, or the
frame :func:`slabsim.compare` returns) and returns a matplotlib ``Figure``; nothing is shown or
saved (``fig.savefig("x.png")`` does that).
"""

import json

from .results import Result

__all__ = ["lock_times", "remote_ratio_over_time", "fallbacks_per_node", "timeline"]


def _results(results):
    if isinstance(results, Result):
        return [results]
    if hasattr(results, "attrs") and "results" in getattr(results, "attrs", {}):
        return list(results.attrs["results"].values())
    if isinstance(results, dict):
        return list(results.values())
    out = list(results)
    if not all(isinstance(r, Result) for r in out):
        raise TypeError("expected slabsim.Result objects, a list or dict of them, or a compare() frame")
    return out


def _labels(runs):
    """Each run's name in legends, the legend's title: the strategy, or the allocator when only
    allocators differ, or both ("slab:hotplug_lock") when both do."""
    allocators = {r.allocator for r in runs}
    strategies = {r.strategy for r in runs}
    if len(allocators) < 2:
        return [r.strategy for r in runs], "strategy"
    if len(strategies) < 2:
        return [r.allocator for r in runs], "allocator"
    return [f"{r.allocator}:{r.strategy}" for r in runs], "allocator:strategy"


def _figure(**kwargs):
    # The object-oriented API only: no pyplot state, safe in notebooks and without a display.
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def lock_times(results, classes=None):
    """Total wait and hold time per lock class (read and write together), one bar per run
    (named by its strategy, or allocator, or both: whatever differs), on a log scale: two
    panels, waits and holds. By default the classes some run held or waited for some time, as
    ``compare`` lists them (a cache removal's drain of every sysfs file's ``kn->active#N``
    takes no time unless a read holds the file)."""
    import numpy as np
    import pandas as pd

    runs = _results(results)
    labels, title = _labels(runs)
    locks = pd.concat([r.lock_waits.assign(run=label) for r, label in zip(runs, labels)],
                      ignore_index=True)
    totals = locks.groupby(["lock_class", "run"], sort=False)[
        ["wait_total_ns", "hold_total_ns"]].sum().reset_index()
    busy = totals[(totals["wait_total_ns"] > 0) | (totals["hold_total_ns"] > 0)]
    order = classes or list(dict.fromkeys(busy["lock_class"]))
    names = list(dict.fromkeys(labels))
    fig = _figure(figsize=(max(6, 1.2 * len(order) * max(1, len(names)) / 2), 6.5),
                  layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    x = np.arange(len(order))
    width = 0.8 / max(1, len(names))
    for panel, (column, what) in zip(axes, [("wait_total_ns", "wait"), ("hold_total_ns", "hold")]):
        for k, name in enumerate(names):
            sel = totals[totals["run"] == name].set_index("lock_class")[column]
            values = [sel.get(c, 0) / 1000.0 for c in order]
            panel.bar(x + (k - (len(names) - 1) / 2) * width, values, width, label=name)
        panel.set_yscale("symlog", linthresh=1)
        panel.set_ylabel(f"total {what} time (µs)")
        panel.set_title(f"lock {what} time per class")
        panel.grid(axis="y", alpha=0.3)
    axes[-1].set_xticks(x, order, rotation=30, ha="right")
    axes[0].legend(title=title)
    return fig


def remote_ratio_over_time(results):
    """Remote-allocation ratio per time bucket, one line per run (named as in
    :func:`lock_times`), with each run's memory hotplug operations shaded (from start to end) and
    labelled."""
    runs = _results(results)
    labels, title = _labels(runs)
    fig = _figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    colors = {}
    for r, label in zip(runs, labels):
        b = r.time_buckets.drop_duplicates("start_ns")
        # Each bucket's ratio holds until the next bucket, the last one until the run's end.
        xs = list(b["start_ns"] / 1e6) + [r.to_dict()["simulated_ns"] / 1e6]
        ys = list(b["remote_alloc_ratio"]) + [b["remote_alloc_ratio"].iloc[-1]]
        line, = ax.plot(xs, ys, label=label, drawstyle="steps-post")
        colors[label] = line.get_color()
    for r, label in zip(runs, labels):
        for _, h in r.hotplug.iterrows():
            if not h["type"].startswith("memory"):
                continue
            start, end = h["start_ns"] / 1e6, (h["start_ns"] + h["duration_ns"]) / 1e6
            ax.axvspan(start, end, color=colors[label], alpha=0.08)
            ax.axvline(end, color=colors[label], linestyle=":", linewidth=1)
            ax.annotate(f"{h['type']} node {h['node']} ({label})", (end, 1.0),
                        xycoords=("data", "axes fraction"), rotation=90, va="top", ha="right",
                        fontsize=7, color=colors[label])
    ax.set_xlabel("simulated time (ms)")
    ax.set_ylabel("remote allocations / allocations")
    ax.set_ylim(0, 1)
    ax.set_title("remote-allocation ratio over time; shaded: memory hotplug operations")
    ax.legend(title=title)
    ax.grid(alpha=0.3)
    return fig


def fallbacks_per_node(results):
    """Fallbacks to NUMA_NO_NODE per requested node (all caches), one bar per run (named as in
    :func:`lock_times`)."""
    import numpy as np
    import pandas as pd

    runs = _results(results)
    labels, title = _labels(runs)
    frame = pd.concat([r.fallbacks.assign(run=label) for r, label in zip(runs, labels)],
                      ignore_index=True)
    per_node = frame.groupby(["node", "run"], sort=False)["fallbacks"].sum().reset_index()
    nodes = sorted(per_node["node"].unique())
    names = list(dict.fromkeys(labels))
    fig = _figure(figsize=(max(5, 1.5 * len(nodes)), 4), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(nodes))
    width = 0.8 / max(1, len(names))
    for k, name in enumerate(names):
        sel = per_node[per_node["run"] == name].set_index("node")["fallbacks"]
        ax.bar(x + (k - (len(names) - 1) / 2) * width, [sel.get(n, 0) for n in nodes], width,
               label=name)
    ax.set_xticks(x, [f"node {n}" for n in nodes])
    ax.set_ylabel("kmem_cache_alloc_node() fallbacks")
    ax.set_title("fallbacks to NUMA_NO_NODE per requested node")
    ax.legend(title=title)
    ax.grid(axis="y", alpha=0.3)
    return fig


def timeline(trace, start_ns=None, end_ns=None):
    """The tracks of a Chrome trace written by ``run --trace`` (a path or the parsed dict):
    one row per CPU or event task, lock holds coloured by lock class, waits hatched, hotplug and
    cache events framed in grey, between ``start_ns`` and ``end_ns`` (default: the whole run)."""
    from matplotlib.patches import Patch

    if not isinstance(trace, dict):
        with open(trace, encoding="utf-8") as f:
            trace = json.load(f)
    events = trace["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name"}
    spans = [e for e in events if e.get("ph") == "X"]
    lo = (start_ns / 1000.0) if start_ns is not None else min((e["ts"] for e in spans), default=0)
    hi = (end_ns / 1000.0) if end_ns is not None else max((e["ts"] + e["dur"] for e in spans),
                                                          default=1)
    tracks = sorted(names)
    row = {tid: i for i, tid in enumerate(tracks)}
    fig = _figure(figsize=(11, 0.35 * len(tracks) + 1.5), layout="constrained")
    ax = fig.subplots()
    palette = {}
    cmap = __import__("matplotlib").colormaps["tab20"]

    def color(lock):
        if lock not in palette:
            palette[lock] = cmap(len(palette) % 20)
        return palette[lock]

    # Longest first, so that nested slices (a lock held inside a hotplug operation) draw on top.
    for e in sorted(spans, key=lambda e: -e["dur"]):
        if e["tid"] not in row or e["ts"] + e["dur"] < lo or e["ts"] > hi:
            continue
        y = row[e["tid"]]
        x0, x1 = max(e["ts"], lo), min(e["ts"] + e["dur"], hi)
        width = max(x1 - x0, (hi - lo) / 2000)
        category = e.get("cat", "")
        if category == "lock":
            waiting = e["name"].startswith("wait ")
            lock = e["name"][5:] if waiting else e["name"]
            ax.broken_barh([(x0, width)], (y - 0.3, 0.6), facecolor=color(lock),
                           hatch="////" if waiting else None, edgecolor="black" if waiting else None,
                           linewidth=0.3)
        else:  # hotplug operations and their phases, cache events: a frame around their locks
            ax.broken_barh([(x0, width)], (y - 0.42, 0.84), facecolor="none", edgecolor="0.35",
                           linewidth=0.8)
    ax.set_yticks(range(len(tracks)), [names[t] for t in tracks])
    ax.invert_yaxis()
    ax.set_xlim(lo, hi)
    ax.set_xlabel("simulated time (µs)")
    handles = [Patch(facecolor=c, label=lock) for lock, c in palette.items()]
    handles.append(Patch(facecolor="white", edgecolor="black", hatch="////", label="waiting"))
    handles.append(Patch(facecolor="none", edgecolor="0.35", label="hotplug / cache events"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)
    ax.set_title("lock holds and waits per CPU")
    return fig
