"""The figures a slabsim user would otherwise draw by hand, with matplotlib.

Each function takes results (one :class:`slabsim.Result`, a list of them, a dict of them, or the
frame :func:`slabsim.compare` returns) and returns a matplotlib ``Figure``; nothing is shown or
saved (``fig.savefig("x.png")`` does that).
"""

import json

from .results import Result

__all__ = ["lock_times", "remote_ratio_over_time", "lock_waits_over_time", "fallbacks_per_node",
           "timeline"]


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


# The phases of a memory hotplug operation as the lane draws them: (name in the legend, colour,
# hatch), keyed by the step that begins the phase ("start": the operation's start).
_PHASES = {
    ("memory_add", "start"): ("waiting for the hotplug lock", "0.85", "////"),
    ("memory_add", "locked"): ("hot-add (add_memory)", "tab:blue", None),
    ("memory_online", "start"): ("waiting for the hotplug lock", "0.85", "////"),
    ("memory_online", "added"): ("hot-add (add_memory)", "tab:blue", None),
    ("memory_online", "locked"): ("online: before MEM_GOING_ONLINE", "tab:olive", None),
    ("memory_online", "going_online_notified"):
        ("MEM_GOING_ONLINE -> node_states_set_node()", "tab:orange", None),
    ("memory_online", "node_states_set"): ("online: pages in, MEM_ONLINE", "tab:green", None),
    ("memory_offline", "start"): ("waiting for the hotplug lock", "0.85", "////"),
    ("memory_offline", "locked"): ("offline: isolating", "tab:purple", None),
    ("memory_offline", "isolated"): ("offline: isolating", "tab:purple", None),
    ("memory_offline", "going_offline_notified"):
        ("MEM_GOING_OFFLINE -> node_states_clear_node()", "tab:red", None),
    ("memory_offline", "node_states_cleared"): ("offline: MEM_OFFLINE", "tab:brown", None),
    ("memory_remove", "start"): ("waiting for the hotplug lock", "0.85", "////"),
    ("memory_remove", "locked"): ("hot-remove", "tab:gray", None),
}
_CPU_PHASE = ("CPU hotplug", "tab:cyan", None)
_FAILED = "operation failed"


def _hotplug_spans(run):
    """Each hotplug operation of a run cut into its phases: (start_ns, end_ns, phase) and
    whether it failed, in the order of the result."""
    out = []
    for h in run.metrics["hotplug"]:
        end = h["start_ns"] + h["duration_ns"]
        if not h["type"].startswith("memory"):
            out.append(([(h["start_ns"], end, _CPU_PHASE)], h["result"] != 0))
            continue
        marks = [("start", h["start_ns"])] + [(s["step"], s["at_ns"]) for s in h.get("steps", [])]
        if h["type"] == "memory_online" and [m[0] for m in marks].count("locked") == 2:
            # An online of an absent block hot-adds it first (add_memory(), under the lock too).
            k = [m[0] for m in marks].index("locked")
            marks[k] = ("added", marks[k][1])
        spans = []
        for (step, at), nxt in zip(marks, marks[1:] + [("end", end)]):
            phase = _PHASES.get((h["type"], step))
            if phase and nxt[1] > at:
                spans.append((at, nxt[1], phase))
        out.append((spans, h["result"] != 0))
    return out


def _zoom_window(runs):
    """Where the strategies differ most: each run's first memory hotplug operation that opens a
    going-online or going-offline window, from its first step (the lock held) to its end; of
    those, the ones that overlap the most others, together, with a margin of half their span on
    each side. None when no run has one. In ns."""
    spans = []
    for r in runs:
        for h in r.metrics["hotplug"]:
            steps = [s["step"] for s in h.get("steps", [])]
            if "going_online_notified" in steps or "going_offline_notified" in steps:
                spans.append((h["steps"][0]["at_ns"], h["start_ns"] + h["duration_ns"]))
                break
    if not spans:
        return None

    def overlapping(span):
        return [o for o in spans if o[0] <= span[1] and span[0] <= o[1]]

    busiest = max(spans, key=lambda span: (len(overlapping(span)), -span[0]))
    group = overlapping(busiest)
    lo, hi = min(o[0] for o in group), max(o[1] for o in group)
    pad = max((hi - lo) // 2, 1)
    return lo - pad, hi + pad


def _hotplug_lane(ax, runs, labels, unit_ns, span_ns):
    """One row per run: its hotplug operations, each cut into its phases; a legend of the
    phases drawn instead of labels on the data."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    seen = {}
    for row, r in enumerate(runs):
        for spans, failed in _hotplug_spans(r):
            for lo, hi, (name, color, hatch) in spans:
                width = max(hi - lo, span_ns / 400)  # a phase narrower than a pixel still shows
                ax.broken_barh([(lo / unit_ns, width / unit_ns)], (row - 0.35, 0.7),
                               facecolor=color, hatch=hatch, edgecolor="0.4", linewidth=0.4)
                seen.setdefault(name, Patch(facecolor=color, hatch=hatch, edgecolor="0.4",
                                            linewidth=0.4, label=name))
            if failed and spans:
                ax.plot([spans[-1][1] / unit_ns], [row], marker="x", color="black",
                        markersize=7, linestyle="none")
                seen.setdefault(_FAILED, Line2D([], [], marker="x", color="black",
                                                linestyle="none", label=_FAILED))
    ax.set_yticks(range(len(runs)), labels)
    ax.set_ylim(len(runs) - 0.5, -0.5)
    ax.tick_params(axis="y", labelsize=8)
    return list(seen.values())


def _lane_legend(ax, handles):
    """The hotplug phases' legend in an axes row of its own, under the lanes."""
    ax.axis("off")
    if handles:
        ax.legend(handles=handles, loc="center", ncol=min(3, len(handles)), fontsize=8,
                  title="hotplug phases", title_fontsize=8, frameon=False)


def _series_styles(n):
    """Styles that keep coinciding series visible: the first drawn thickest, each later one
    thinner and dashed differently on top, with markers at staggered positions."""
    dashes = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 2))]
    markers = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">"]
    out = []
    for k in range(n):
        width = 1.2 + 2.4 * (n - 1 - k) / max(1, n - 1)
        out.append({"linestyle": dashes[k % len(dashes)], "marker": markers[k % len(markers)],
                    "linewidth": width, "markersize": 4.5})
    return out


def _remote_series(r):
    """The run's remote-allocation ratio per bucket as a step line to the run's end, in ns;
    buckets without an allocation are gaps, not zeros."""
    import math

    b = r.time_buckets.drop_duplicates("start_ns")
    ratio = [v if n else math.nan for v, n in zip(b["remote_alloc_ratio"], b["allocations"])]
    xs = list(b["start_ns"]) + [r.to_dict()["simulated_ns"]]
    return xs, ratio + ratio[-1:]


def remote_ratio_over_time(results):
    """Remote-allocation ratio per time bucket, one line per run (named as in
    :func:`lock_times`; series that coincide stay visible: each later one thinner, dashed and
    marked at other buckets), with a lane under it of each run's hotplug operations cut into
    their phases (waiting for the lock, ``MEM_GOING_ONLINE`` to ``node_states_set_node()``, ...).
    A second column zooms on the memory online or offline of most runs, from when it took the
    lock."""
    runs = _results(results)
    labels, title = _labels(runs)
    zoom = _zoom_window(runs)
    columns = 2 if zoom else 1
    lane_height = 0.3 * len(runs) + 0.3
    fig = _figure(figsize=(6 * columns + 1, 3.6 + lane_height + 1.4), layout="constrained")
    grid = fig.add_gridspec(3, columns, height_ratios=[3.6, lane_height, 0.8])
    styles = _series_styles(len(runs))
    lane_handles = []
    for col in range(columns):
        ax = fig.add_subplot(grid[0, col])
        lane = fig.add_subplot(grid[1, col], sharex=ax)
        lo, hi = (zoom if col == 1 else (0, max(r.to_dict()["simulated_ns"] for r in runs)))
        unit, unit_name = (1e3, "µs") if col == 1 else (1e6, "ms")
        for k, (r, label) in enumerate(zip(runs, labels)):
            xs, ys = _remote_series(r)
            shown = [i for i, x in enumerate(xs) if x < hi and (i + 1 == len(xs) or xs[i + 1] > lo)]
            stride = max(1, len(shown) // 12)
            ax.plot([x / unit for x in xs], ys, label=label, drawstyle="steps-post", zorder=2 + k,
                    markevery=slice((k * stride) // max(1, len(runs)), None, stride),
                    color=f"C{k % 10}", **styles[k])
        ax.set_xlim(lo / unit, hi / unit)
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel("remote allocations / allocations")
        ax.grid(alpha=0.3)
        ax.tick_params(labelbottom=False)
        width = runs[0].time_bucket_ns
        ax.set_title("whole run" if col == 0 else
                     f"zoom: the memory online or offline (buckets of {width / 1e3:g} µs)",
                     fontsize=9)
        lane_handles = _hotplug_lane(lane, runs, labels, unit, hi - lo)
        lane.set_xlabel(f"simulated time ({unit_name})")
        lane.grid(axis="x", alpha=0.3)
        if col == 0:
            ax.legend(title=title, fontsize=8, loc="upper left")
    fig.suptitle("remote-allocation ratio over time, and each run's hotplug operations")
    _lane_legend(fig.add_subplot(grid[2, :]), lane_handles)
    return fig


def lock_waits_over_time(results, zoom=True):
    """Who waits for which lock when: for each run (a panel each, named as in
    :func:`lock_times`), one row per lock class, mode and waiting kernel function (the same rows
    in every panel, so that a wait one strategy has and another lacks is an empty row), filled
    to the mean number of waiters per time bucket, scaled per row to its largest value over the
    runs (written at the row's right). A lane at the bottom shows each run's hotplug operations.
    With ``zoom``, a second column zooms on the memory online or offline of most runs."""
    import numpy as np
    import pandas as pd

    runs = _results(results)
    labels, title = _labels(runs)
    frames = [r.lock_waits_over_time.assign(run=label) for r, label in zip(runs, labels)]
    waits = pd.concat(frames, ignore_index=True)
    waits["row"] = (waits["lock_class"] + np.where(waits["mode"] == "read", " (read)", "")
                    + " \u2190 " + waits["function"])
    rows = list(waits.groupby("row", sort=False)["wait_ns"].sum().sort_values(ascending=False).index)
    peak = waits.groupby(["row", "start_ns", "run"])["waiting"].sum().groupby("row").max()
    window = _zoom_window(runs) if zoom else None
    columns = 2 if window else 1
    row_height = 0.32
    heights = [row_height * max(1, len(rows)) + 0.5 for _ in runs] + [0.3 * len(runs) + 0.3, 0.8]
    fig = _figure(figsize=(6.5 * columns + 2.5, sum(heights) + 0.8), layout="constrained")
    grid = fig.add_gridspec(len(runs) + 2, columns, height_ratios=heights)
    end = max(r.to_dict()["simulated_ns"] for r in runs)
    lane_handles = []
    for col in range(columns):
        lo, hi = window if col == 1 else (0, end)
        unit, unit_name = (1e3, "µs") if col == 1 else (1e6, "ms")
        first = None
        for k, (r, label) in enumerate(zip(runs, labels)):
            ax = fig.add_subplot(grid[k, col], sharex=first)
            first = first or ax
            mine = waits[waits["run"] == label]
            width = r.time_bucket_ns
            for y, row in enumerate(rows):
                sel = mine[mine["row"] == row].groupby("start_ns")["waiting"].sum()
                if sel.empty:
                    continue
                scale = peak[row] or 1
                # A bucket narrower than a pixel or two still shows.
                drawn = max(width / unit, (hi - lo) / unit / 400)
                for start, value in sel.items():
                    h = 0.8 * value / scale
                    ax.broken_barh([(start / unit, drawn)], (y + 0.4 - h, h),
                                   facecolor=f"C{rows.index(row) % 10}", edgecolor="none")
            ax.set_yticks(range(len(rows)), rows if col == 0 else [""] * len(rows))
            ax.set_ylim(len(rows) - 0.5, -0.5)
            ax.tick_params(axis="y", labelsize=7, length=0)
            ax.tick_params(labelbottom=False)
            ax.grid(axis="x", alpha=0.3)
            ax.set_title(f"{label}: lock waits" + ("" if col == 0 else " (zoom)"), fontsize=8,
                         loc="left")
            if col == columns - 1:
                right = ax.secondary_yaxis("right")
                right.set_yticks(range(len(rows)),
                                 [f"{peak[row]:.2g} waiting" for row in rows])
                right.tick_params(labelsize=6, length=0)
        lane = fig.add_subplot(grid[len(runs), col], sharex=first)
        lane_handles = _hotplug_lane(lane, runs, labels, unit, hi - lo)
        lane.set_xlim(lo / unit, hi / unit)
        lane.set_xlabel(f"simulated time ({unit_name})")
        lane.grid(axis="x", alpha=0.3)
    fig.suptitle(f"who waits for which lock when ({title}); row height: mean waiters per bucket")
    _lane_legend(fig.add_subplot(grid[len(runs) + 1, :]), lane_handles)
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
    one row per CPU or event task, lock holds coloured by lock class (every sysfs file's
    ``kn->active#N`` in one colour), waits hatched, hotplug and cache events framed in grey, between ``start_ns`` and ``end_ns`` (default: the whole run)."""
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
            # One colour for every sysfs file's active reference: a class per attribute.
            if lock.startswith("kn->active#"):
                mode = lock.partition(" ")[2]
                lock = "kn->active (sysfs files)" + (f" {mode}" if mode else "")
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
    # As many columns as it takes for the legend to fit the figure's height.
    rows = max(1, int(fig.get_figheight() * 72 / (7 * 2.0)) - 2)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7,
              ncol=-(-len(handles) // rows))
    ax.set_title("lock holds and waits per CPU")
    return fig
