"""Sweeps from Python: the points of a plan in this process and on a process-based Dask cluster,
resuming from a directory of point files, that directory shared with `slabsim sweep`, and a grid
of allocator models."""

import importlib
import json
import pathlib
import re
import subprocess

import pandas as pd
import pytest

import slabsim

sweep_module = importlib.import_module("slabsim.sweep")  # `slabsim.sweep` is the function
SLABSIM = pathlib.Path(slabsim.__file__).resolve().parents[2] / "slabsim"

# 4 points of a 4 ms workload: steady-local under two strategies, two seeds.
PLAN = {
    "name": "tiny",
    "grid": {"workload": ["steady-local"], "strategy": ["slab_nodes", "hotplug_lock"],
             "seed": [1, 2]},
}
PARAMETERS = ["index", "topology", "workload", "allocator", "strategy", "seed", "jitter_ns",
              "quantum_ns"]
# 2 points: steady-local under SLUB and SLOB, with v5.12's locking.
ALLOCATOR_PLAN = {
    "name": "models",
    "grid": {"workload": ["steady-local"], "allocator": ["slub", "slob"],
             "strategy": ["slab_nodes_nocpu"]},
}


def count_runs(monkeypatch):
    """Replaces the module's point runner by one that records the points it runs."""
    ran = []
    real = sweep_module._run_point

    def counting(point):
        ran.append(point["index"])
        return real(point)

    monkeypatch.setattr(sweep_module, "_run_point", counting)
    return ran


def without_host(text):
    """A point file's text without its host block (wall time), the only part that varies."""
    return re.sub(r'"host": \{[^}]*\}', '"host": {}', text)


def test_a_sweep_gives_one_row_per_point_in_plan_order():
    frame = slabsim.sweep(PLAN)
    assert len(frame) == 4
    summary_columns = [c for c in slabsim.run(workload="steady-local").summary.columns
                       if c not in ("allocator", "strategy", "workload", "seed", "topology")]
    assert list(frame.columns) == PARAMETERS + summary_columns
    assert list(frame["index"]) == [0, 1, 2, 3]
    assert list(frame["strategy"]) == ["slab_nodes", "slab_nodes", "hotplug_lock", "hotplug_lock"]
    assert list(frame["seed"]) == [1, 2, 1, 2]
    assert set(frame["topology"]) == {"two-socket-intel"}  # the workload's own
    assert set(frame["jitter_ns"]) == {0} and set(frame["quantum_ns"]) == {10000}
    assert set(frame["allocator"]) == {"slub"}  # the plan names none
    # Each row is the run slabsim.run makes of that point.
    one = slabsim.run(workload="steady-local", strategy="hotplug_lock", seed=2).summary
    assert frame.loc[3, "allocations"] == one.loc[0, "allocations"]
    assert frame.loc[3, "remote_access_ratio"] == one.loc[0, "remote_access_ratio"]


def test_a_plan_file_and_its_relative_paths(tmp_path):  # and the point files' contents
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "mine.json").write_text(
        json.dumps({"name": "mine", "base": "slab_nodes", "shrink_locks": []}))
    plan = {"name": "rel", "grid": {"workload": ["steady-local"],
                                    "strategy": ["strategies/mine.json"], "jitter_ns": [0, 500]}}
    (tmp_path / "plan.json").write_text("// a comment, as in every input\n" + json.dumps(plan))
    frame = slabsim.sweep(tmp_path / "plan.json", directory=tmp_path / "out")
    assert list(frame["strategy"]) == ["strategies/mine.json"] * 2  # as the plan writes it
    assert list(frame["jitter_ns"]) == [0, 500]
    for index in (0, 1):
        result = slabsim.Result.load(tmp_path / "out" / f"point-{index}.json")
        assert result.strategy == "mine"
        assert result.to_dict()["config"]["jitter_ns"] == [0, 500][index]


def test_bad_plans_raise_config_error_with_pointers():
    with pytest.raises(slabsim.ConfigError) as e:
        slabsim.sweep({"name": "bad", "grid": {"workload": ["steady-locale"], "strategy": [],
                                               "seed": [1, 1]}})
    pointers = {d["pointer"] for d in e.value.diagnostics}
    assert pointers == {"/grid/strategy", "/grid/seed/1"}
    assert e.value.diagnostics[0]["file"] == "<plan dict>"
    with pytest.raises(slabsim.ConfigError, match="did you mean \"steady-local\""):
        slabsim.sweep({"name": "bad", "grid": {"workload": ["steady-locale"],
                                               "strategy": ["slab_nodes"]}})
    with pytest.raises(TypeError):
        slabsim.sweep(42)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # tornado, inside distributed
def test_a_process_cluster_gives_the_same_metrics(tmp_path):
    distributed = pytest.importorskip("distributed")
    here = slabsim.sweep(PLAN, directory=tmp_path / "here")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as tasks:
            there = slabsim.sweep(PLAN, client=client, directory=tmp_path / "there")
        # The points ran as tasks of the cluster's worker processes, not here.
        assert len(tasks.data) == 4
        assert {t["worker"] for t in tasks.data} <= set(client.scheduler_info()["workers"])
    pd.testing.assert_frame_equal(here, there)  # the summary has no wall time
    names = [f"point-{i}.json" for i in range(4)]
    assert sorted(p.name for p in (tmp_path / "there").iterdir()) == names
    for name in names:  # the whole results too, outside the wall time
        assert without_host((tmp_path / "here" / name).read_text()) == \
            without_host((tmp_path / "there" / name).read_text())


def test_an_interrupted_sweep_resumes_with_only_the_missing_points(tmp_path, monkeypatch):
    first = slabsim.sweep(PLAN, directory=tmp_path)
    files = {p.name: p for p in tmp_path.glob("point-*.json")}
    assert sorted(files) == [f"point-{i}.json" for i in range(4)]
    assert not list(tmp_path.glob(".point-*"))  # no temporary file left behind
    stamps = {name: p.stat().st_mtime_ns for name, p in files.items()}
    files["point-2.json"].unlink()

    ran = count_runs(monkeypatch)
    again = slabsim.sweep(PLAN, directory=tmp_path)
    assert ran == [2]
    pd.testing.assert_frame_equal(first, again)
    for name, stamp in stamps.items():
        if name != "point-2.json":
            assert files[name].stat().st_mtime_ns == stamp  # not rewritten
    assert files["point-2.json"].exists()

    ran.clear()
    slabsim.sweep(PLAN, directory=tmp_path)
    assert ran == []  # all done

    # A file of another run is not taken as the point's result.
    files["point-1.json"].write_text(files["point-0.json"].read_text())
    with pytest.raises(slabsim.ConfigError, match="expected seed 2 of point 1"):
        slabsim.sweep(PLAN, directory=tmp_path)


def test_the_cli_and_python_share_a_directory(tmp_path, monkeypatch):
    plan = tmp_path / "tiny.json"
    plan.write_text(json.dumps(PLAN))
    out = tmp_path / "out"
    cli = subprocess.run([SLABSIM, "sweep", plan, "--index", "0,1", "-o", out],
                         capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.splitlines()[0].startswith("point 0: ran")

    ran = count_runs(monkeypatch)
    frame = slabsim.sweep(plan, directory=out)  # reads what the CLI wrote
    assert ran == [2, 3]

    # What Python wrote is what the CLI writes, byte for byte outside the host block.
    check = tmp_path / "check"
    cli = subprocess.run([SLABSIM, "sweep", plan, "--index", "2", "-o", check],
                         capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    assert without_host((check / "point-2.json").read_text()) == \
        without_host((out / "point-2.json").read_text())

    merge = subprocess.run([SLABSIM, "sweep", plan, "--merge", "-o", out],
                           capture_output=True, text=True)
    assert merge.returncode == 0, merge.stderr
    assert merge.stdout == f"merged 4 points into {out / 'sweep.csv'}\n"
    csv = pd.read_csv(out / "sweep.csv", keep_default_na=False)
    assert list(csv.columns[:8]) == PARAMETERS
    shared = [c for c in csv.columns if c in frame.columns]
    assert len(shared) >= 20
    pd.testing.assert_frame_equal(csv[shared], frame[shared], check_dtype=False)

    # The CLI resumes from what Python wrote, too.
    cli = subprocess.run([SLABSIM, "sweep", plan, "-o", out], capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    assert [l.split(";")[0] for l in cli.stdout.splitlines()[:4]] == \
        [f"point {i}: done before" for i in range(4)]


def test_a_sweep_over_allocators_runs_each_point_under_its_own(tmp_path):
    frame = slabsim.sweep(ALLOCATOR_PLAN, directory=tmp_path)
    assert list(frame.columns[:8]) == PARAMETERS
    assert list(frame["allocator"]) == ["slub", "slob"]
    for row in frame.itertuples():
        # Each row is the run slabsim.run makes under that allocator, and its file records it.
        alone = slabsim.run(workload="steady-local", strategy="slab_nodes_nocpu",
                            allocator=row.allocator).summary
        assert row.allocations == alone.loc[0, "allocations"]
        assert row.remote_alloc_ratio == alone.loc[0, "remote_alloc_ratio"]
        assert slabsim.Result.load(tmp_path / f"point-{row.index}.json").allocator == \
            row.allocator
    # The models differ, so the rows do: had both run SLUB they would be equal.
    assert frame.loc[0, "allocations"] != frame.loc[1, "allocations"]
    assert frame.loc[0, "remote_alloc_ratio"] != frame.loc[1, "remote_alloc_ratio"]
    assert frame.loc[0, "alloc_node_mismatch"] == 0  # SLUB's counter; SLOB has none
    assert pd.isna(frame.loc[1, "alloc_node_mismatch"])

    # SLUB's file where SLOB's result belongs is another run, not point 1's.
    (tmp_path / "point-1.json").write_text((tmp_path / "point-0.json").read_text())
    with pytest.raises(slabsim.ConfigError, match='expected allocator slob of point 1 of the '
                                                  'plan, got "slub"'):
        slabsim.sweep(ALLOCATOR_PLAN, directory=tmp_path)


def test_the_cli_and_python_share_a_directory_of_allocators(tmp_path, monkeypatch):
    plan = tmp_path / "models.json"
    plan.write_text(json.dumps(ALLOCATOR_PLAN))
    listed = subprocess.run([SLABSIM, "sweep", plan, "--list"], capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == "sweep models: 2 points (1 workload x 2 allocators x 1 strategy)"
    assert lines[1].split() == PARAMETERS
    assert [l.split()[3] for l in lines[2:]] == ["slub", "slob"]

    out = tmp_path / "out"
    cli = subprocess.run([SLABSIM, "sweep", plan, "--index", "1", "-o", out],
                         capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    ran = count_runs(monkeypatch)
    frame = slabsim.sweep(plan, directory=out)  # takes the CLI's SLOB point
    assert ran == [0]
    assert list(frame["allocator"]) == ["slub", "slob"]

    # SLUB's point as Python wrote it is what the CLI writes, outside the host block.
    check = tmp_path / "check"
    cli = subprocess.run([SLABSIM, "sweep", plan, "--index", "0", "-o", check],
                         capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    assert without_host((check / "point-0.json").read_text()) == \
        without_host((out / "point-0.json").read_text())

    merge = subprocess.run([SLABSIM, "sweep", plan, "--merge", "-o", out],
                           capture_output=True, text=True)
    assert merge.returncode == 0, merge.stderr
    # SLOB's alloc_node_mismatch is an empty field, missing as Python's None is; empty findings
    # are an empty string in both.
    csv = pd.read_csv(out / "sweep.csv", keep_default_na=False,
                      na_values={"alloc_node_mismatch": [""]})
    assert list(csv.columns[:8]) == PARAMETERS
    shared = [c for c in csv.columns if c in frame.columns]
    assert len(shared) >= 20
    pd.testing.assert_frame_equal(csv[shared], frame[shared], check_dtype=False)


def test_runs_from_several_threads_wait_for_each_other():
    # A Dask worker with several threads calls the core from each; SimGrid runs one engine per
    # process, so the core takes turns (without the GIL, so the worker's event loop goes on).
    from concurrent.futures import ThreadPoolExecutor

    points = json.loads(slabsim._slabsim.sweep_points(json.dumps(PLAN), True))["points"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        texts = list(pool.map(sweep_module._run_point, points))
    for point, text in zip(points, texts):
        alone = json.loads(sweep_module._run_point(point))
        doc = json.loads(text)
        doc.pop("host"), alone.pop("host")
        assert doc == alone
