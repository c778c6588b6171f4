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


def test_remote_ratio_over_time_marks_the_online(comparison, tmp_path):
    fig = slabsim.plot.remote_ratio_over_time(comparison)
    ax = fig.axes[0]
    assert len(ax.get_lines()) >= 2
    labels = [t.get_text() for t in ax.texts]
    assert any("memory_online node 2" in t for t in labels)
    fig.savefig(tmp_path / "remote.png")


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
