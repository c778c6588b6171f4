"""slabsim.plot: each figure draws what it says, for one run or a comparison, and saves as PNG."""

import matplotlib

matplotlib.use("Agg")

import pytest

import slabsim


@pytest.fixture(scope="module")
def comparison():
    return slabsim.compare(workload="node-online", strategies=["hotplug_lock", "slab_nodes"])


def bars(ax):
    return [p for p in ax.patches if p.get_width() > 0]


def test_lock_times_has_a_bar_per_class_and_strategy(comparison, tmp_path):
    fig = slabsim.plot.lock_times(comparison)
    wait, hold = fig.axes
    classes = [t.get_text() for t in hold.get_xticklabels()]
    assert "mem_hotplug_lock" in classes and "slab_mutex" in classes
    # The drains of files nobody read take no time: only the files read show (shrink and
    # total_objects).
    assert [c for c in classes if c.startswith("kn->active")] == ["kn->active#18", "kn->active#20"]
    assert len(wait.patches) == len(classes) * 2
    assert [t.get_text() for t in wait.get_legend().get_texts()] == ["hotplug_lock", "slab_nodes"]
    fig.savefig(tmp_path / "locks.png")
    assert (tmp_path / "locks.png").stat().st_size > 1000


def drawn_texts(fig):
    """The texts the renderer actually drew (ticks out of view are not), with their boxes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    drawn = []
    original = renderer.draw_text

    def record(gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if mtext is not None and s.strip():
            drawn.append(mtext)
        return original(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

    renderer.draw_text = record
    fig.draw(renderer)
    renderer.draw_text = original
    return [(t.get_text(), outline(t, renderer)) for t in drawn], canvas


def outline(text, renderer):
    """A drawn text's rectangle as a path, rotated as the text is (its window extent is the
    upright box around it, which overlaps its neighbours' when labels are slanted), a little
    shrunk so that touching is not overlapping."""
    import numpy as np
    from matplotlib.path import Path

    box = text.get_window_extent(renderer)
    angle = text.get_rotation()
    text.set_rotation(0)
    upright = text.get_window_extent(renderer)
    text.set_rotation(angle)
    w, h = upright.width * 0.96 / 2, upright.height * 0.85 / 2
    t = np.radians(angle)
    rotate = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    corners = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) @ rotate.T
    return Path(corners + [box.x0 + box.width / 2, box.y0 + box.height / 2], closed=True)


def assert_readable(fig):
    """Every drawn text is inside the figure and overlaps no other, and every data series shows
    pixels of its own colour in its axes (outside the legend): none is hidden behind another."""
    import numpy as np
    from matplotlib.colors import to_rgb

    texts, canvas = drawn_texts(fig)
    width, height = fig.bbox.width, fig.bbox.height
    for a, path in texts:
        (x0, y0), (x1, y1) = path.vertices.min(axis=0), path.vertices.max(axis=0)
        assert x0 >= -1 and y0 >= -1 and x1 <= width + 1 and y1 <= height + 1, \
            f"{a!r} is cut off by the figure's edge"
    for i, (a, path_a) in enumerate(texts):
        for b, path_b in texts[i + 1:]:
            assert not path_a.intersects_path(path_b, filled=True), f"{a!r} overlaps {b!r}"
    canvas.draw()
    image = np.asarray(canvas.buffer_rgba())[:, :, :3].astype(int)
    height = image.shape[0]
    for ax in fig.axes:
        legend = ax.get_legend()
        for line in ax.get_lines():
            if line.get_label().startswith("_"):
                continue
            box = ax.get_window_extent()
            y0, y1 = int(height - box.y1), int(height - box.y0)
            region = image[y0:y1, int(box.x0):int(box.x1)].copy()
            if legend is not None:
                lb = legend.get_window_extent()
                ly0, ly1 = int(height - lb.y1) - y0, int(height - lb.y0) - y0
                region[max(ly0, 0):max(ly1, 0), int(lb.x0 - box.x0):int(lb.x1 - box.x0)] = 255
            colour = np.array(to_rgb(line.get_color())) * 255
            matching = (np.abs(region - colour).max(axis=2) <= 12).sum()
            assert matching >= 20, f"series {line.get_label()!r} is hidden ({matching} pixels)"


def test_remote_ratio_over_time_draws_the_hotplug_phases_in_a_lane(comparison, tmp_path):
    fig = slabsim.plot.remote_ratio_over_time(comparison)
    whole, lane = fig.axes[0], fig.axes[1]
    assert [line.get_label() for line in whole.get_lines()] == ["hotplug_lock", "slab_nodes"]
    assert not whole.texts  # no labels written on the data
    assert [t.get_text() for t in lane.get_yticklabels()] == ["hotplug_lock", "slab_nodes"]
    phases = [t.get_text() for t in fig.axes[-1].get_legend().get_texts()]
    assert "waiting for the hotplug lock" in phases
    assert "MEM_GOING_ONLINE -> node_states_set_node()" in phases
    # The zoom column spans the memory online from when it held the lock.
    zoom = fig.axes[2]
    online = comparison.attrs["results"]["hotplug_lock"].hotplug_steps
    locked = online[online["step"] == "locked"]["at_ns"].iloc[0]
    lo, hi = zoom.get_xlim()
    assert lo * 1e3 < locked < hi * 1e3 and hi - lo < 5_000  # µs: the online, not the whole run
    assert_readable(fig)
    fig.savefig(tmp_path / "remote.png")


def test_the_going_online_window_has_buckets_of_its_own(comparison):
    for r in comparison.attrs["results"].values():
        steps = r.hotplug_steps.set_index("step")["at_ns"]
        window = steps["node_states_set"] - steps["going_online_notified"]
        assert window >= 4 * r.time_bucket_ns
        assert r.time_buckets["start_ns"].nunique() >= 100


def test_lock_waits_over_time_shows_who_waits_behind_the_online(comparison, tmp_path):
    fig = slabsim.plot.lock_waits_over_time(comparison)
    panels = {ax.get_title(loc="left"): ax for ax in fig.axes if ax.get_title(loc="left")}
    v510, v512 = panels["hotplug_lock: lock waits"], panels["slab_nodes: lock waits"]
    rows = [t.get_text() for t in v510.get_yticklabels()]
    creations = "mem_hotplug_lock (read) \u2190 kmem_cache_create"
    assert creations in rows
    y = rows.index(creations)

    def filled(ax):
        return [p for p in ax.collections
                if any(abs(path.vertices[:, 1].mean() - y) < 0.5 for path in p.get_paths())]

    assert filled(v510), "v5.10's cache creations wait for mem_hotplug_lock"
    assert not filled(v512), "v5.12's cache creations do not take it"
    assert_readable(fig)
    fig.savefig(tmp_path / "waits.png")


def test_every_figure_is_readable(comparison, tmp_path):
    every = list(slabsim.compare(workload="node-online").attrs["results"].values())
    trace = tmp_path / "t.json"
    slabsim.run(workload="node-online", strategy="hotplug_lock", trace=trace)
    for fig in [slabsim.plot.lock_times(comparison), slabsim.plot.lock_times(every),
                slabsim.plot.remote_ratio_over_time(every),
                slabsim.plot.lock_waits_over_time(every),
                slabsim.plot.fallbacks_per_node(comparison), slabsim.plot.fallbacks_per_node(every),
                slabsim.plot.timeline(trace)]:
        assert_readable(fig)


def test_the_checks_of_readability_can_fail():
    import matplotlib.figure

    fig = matplotlib.figure.Figure(figsize=(4, 3))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], label="under", color="C0")
    ax.plot([0, 1], [0, 1], label="over", color="C1", linewidth=3)
    with pytest.raises(AssertionError, match="'under' is hidden"):
        assert_readable(fig)
    fig = matplotlib.figure.Figure(figsize=(4, 3))
    ax = fig.subplots()
    ax.text(0.5, 0.5, "one label")
    ax.text(0.52, 0.5, "another label")
    with pytest.raises(AssertionError, match="overlaps"):
        assert_readable(fig)
    fig = matplotlib.figure.Figure(figsize=(4, 3))
    fig.subplots().text(0.9, 0.5, "a label past the right edge")
    with pytest.raises(AssertionError, match="cut off"):
        assert_readable(fig)


def test_fallbacks_per_node_for_one_result():
    r = slabsim.run(workload="node-online", strategy="slab_nodes")
    fig = slabsim.plot.fallbacks_per_node(r)
    ax = fig.axes[0]
    heights = {t.get_text(): 0 for t in ax.get_xticklabels()}
    assert list(heights) == ["node 0", "node 1", "node 2"]
    assert max(p.get_height() for p in ax.patches) == r.fallbacks["fallbacks"].sum()


def test_allocator_comparisons_get_a_bar_and_a_line_per_allocator():
    frame = slabsim.compare(workload="steady-local", strategies=["slab_nodes_nocpu"],
                            allocators=["slub", "slab", "slob"])
    wait, _ = slabsim.plot.lock_times(frame).axes
    assert wait.get_legend().get_title().get_text() == "allocator"
    assert [t.get_text() for t in wait.get_legend().get_texts()] == ["slub", "slab", "slob"]
    ax = slabsim.plot.remote_ratio_over_time(frame).axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["slub", "slab", "slob"]
    both = list(slabsim.compare(workload="steady-local", strategies=["hotplug_lock", "slab_nodes"],
                                allocators=["slub", "slob"]).attrs["results"].values())
    ax = slabsim.plot.fallbacks_per_node(both).axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "slub:hotplug_lock", "slub:slab_nodes", "slob:hotplug_lock", "slob:slab_nodes"]


def test_plots_refuse_what_is_not_results():
    with pytest.raises(TypeError):
        slabsim.plot.lock_times([1, 2])


def test_timeline_draws_the_trace_of_a_run(tmp_path):
    trace = tmp_path / "node-online.trace.json"
    slabsim.run(workload="node-online", strategy="hotplug_lock", trace=trace)
    fig = slabsim.plot.timeline(trace)
    ax = fig.axes[0]
    tracks = [t.get_text() for t in ax.get_yticklabels()]
    assert "CPU 0 (node 0)" in tracks and any(t.startswith("events 0") for t in tracks)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "mem_hotplug_lock (read)" in legend and "waiting" in legend
    zoom = slabsim.plot.timeline(trace, start_ns=6_900_000, end_ns=8_100_000)
    assert zoom.axes[0].get_xlim() == (6900.0, 8100.0)
    fig.savefig(tmp_path / "timeline.png")


def test_an_unwritable_trace_path_is_an_os_error(tmp_path):
    with pytest.raises(OSError):
        slabsim.run(workload="steady-local", trace=tmp_path / "no-such-dir" / "t.json")
