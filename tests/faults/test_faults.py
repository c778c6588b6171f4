"""Faults around a run, as a user meets them: an -o that cannot be written (a missing or
read-only directory, a file-size limit standing in for a full disk) ends with exit status 2, the
reason and no file, before the run where it can be seen then; SIGINT and SIGTERM end run,
compare, explore and sweep with 130 and 143, no partial file and no worker left behind; an
interrupted sweep resumes where it stopped, and a cut-short point file is run again, never
merged; a workload too big for the host's memory is refused before the run, and a run that
outgrows --max-memory stops with exit status 2 instead of the kernel's OOM killer (with
--partial, after writing what it measured, marked partial), compare's worker processes too."""

import json
import os
import pathlib
import resource
import signal
import subprocess
import time

import pytest

BIN = os.environ["SLABSIM_BIN"]
ROOT = pathlib.Path(__file__).resolve().parents[2]


def slabsim(*args, **kwargs):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=300, **kwargs)


def leftovers(directory):
    """Hidden temporary files of write_file_atomically() (".<name>.XXXXXX")."""
    return sorted(p.name for p in pathlib.Path(directory).iterdir() if p.name.startswith("."))


def processes_with(token):
    """Processes whose command line holds `token` (a path unique to the test)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if token.encode() in cmdline:
            found.append(int(pid))
    return found


def test_output_in_a_missing_directory_fails_before_the_run(tmp_path):
    target = tmp_path / "missing" / "result.json"
    r = slabsim("run", "-w", "node-online", "-s", "slab_nodes", "-o", str(target))
    assert r.returncode == 2
    assert f"cannot write {target}: the directory {target.parent} does not exist" in r.stderr
    assert r.stdout == "", "checked before the run: no summary was printed"
    assert not target.parent.exists()


def test_output_on_a_read_only_file_system_fails():
    r = slabsim("run", "-w", "steady-local", "-o", "/proc/slabsim-result.json")
    assert r.returncode == 2
    assert "cannot write /proc/slabsim-result.json" in r.stderr


def test_compare_output_that_is_a_file_fails_before_the_runs(tmp_path):
    plain = tmp_path / "plain"
    plain.write_text("not a directory\n")
    r = slabsim("compare", "-w", "steady-local", "-o", str(plain))
    assert r.returncode == 2
    assert f"cannot write {plain}" in r.stderr
    assert plain.read_text() == "not a directory\n"


def test_a_full_disk_leaves_no_file(tmp_path):
    # RLIMIT_FSIZE makes the result's write fail with EFBIG, as ENOSPC would on a full disk,
    # without a file system of our own; slabsim ignores SIGXFSZ so that it sees the error.
    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    target = tmp_path / "result.json"
    r = slabsim("run", "-w", "steady-local", "-o", str(target), preexec_fn=small_files)
    assert r.returncode == 2, r.stderr
    assert f"cannot write {target}: File too large" in r.stderr
    assert list(tmp_path.iterdir()) == []


def interrupted(args, signo, wait_for, token):
    """Starts slabsim, waits until `wait_for()` holds, sends `signo`; returns the process."""
    p = subprocess.Popen([BIN, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    deadline = time.monotonic() + 60
    while not wait_for() and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.02)
    assert p.poll() is None, "finished before it could be interrupted"
    p.send_signal(signo)
    p.wait(timeout=60)
    # A worker killed with slabsim may take a while to be torn down (an AddressSanitizer build
    # unmapping its shadow memory on a loaded machine took over 0.2 s in CI); one that outlived
    # slabsim would still be running its 2 s workload long after these 5 s.
    deadline = time.monotonic() + 5
    while processes_with(token) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_with(token) == [], "a worker outlived slabsim"
    return p


@pytest.mark.parametrize("signo,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_explore_exits_as_a_shell_expects(tmp_path, signo, status):
    target = tmp_path / f"explore-{signo}.json"
    token = str(target)
    # Workers are running once there are three processes: the parent and two workers.
    p = interrupted(["explore", "-w", "node-online", "-s", "hotplug_lock,slab_nodes", "--runs",
                     "400", "--jobs", "2", "-o", token], signo,
                    lambda: len(processes_with(token)) >= 3, token)
    assert p.returncode == status
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("signo,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_compare_with_workers_exits_as_a_shell_expects(tmp_path, signo, status):
    long = write_json(tmp_path / "long.json", {
        "name": "long", "topology": "two-socket-intel", "duration": "2s",
        "caches": [{"name": "c", "object_size": 64}],
        "threads": [{"name": "t", "cpus": "all", "cache": "c",
                     "think_time": {"constant": "100ns"}, "lifetime": {"constant": "1us"}}]})
    out = tmp_path / "out"
    token = str(out)
    p = interrupted(["compare", "-w", long, "-s", "hotplug_lock,slab_nodes", "--jobs", "2",
                     "-o", token], signo, lambda: len(processes_with(token)) >= 3, token)
    assert p.returncode == status
    assert list(out.iterdir()) == []


def test_interrupted_sweep_resumes_and_reruns_a_cut_short_point(tmp_path):
    plan = ROOT / "workloads" / "sweeps" / "locking-by-seed.json"
    out = tmp_path / "sweep"
    token = str(out)
    p = interrupted(["sweep", str(plan), "-o", token], signal.SIGTERM,
                    lambda: (out / "point-1.json").exists(), token)
    assert p.returncode == 143
    assert leftovers(out) == []
    done = sorted(f.name for f in out.glob("point-*.json"))
    assert "point-0.json" in done and len(done) < 8
    # A point file cut short (a copy interrupted, a full disk elsewhere) is not a result.
    text = (out / "point-0.json").read_text()
    (out / "point-0.json").write_text(text[: len(text) // 2])
    r = slabsim("sweep", str(plan), "-o", token)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any(line.startswith("point 0") and "ran" in line for line in lines), r.stdout
    assert any(line.startswith("point 1") and "done before" in line for line in lines), r.stdout
    assert len(list(out.glob("point-*.json"))) == 8
    assert (out / "sweep.csv").exists()


def write_json(path, value):
    path.write_text(json.dumps(value))
    return str(path)


def test_a_workload_too_big_for_the_host_is_refused_before_the_run(tmp_path):
    # The case that grew to 24 GB and was OOM-killed: 8,192 CPUs, a large max_live_per_cpu.
    topology = write_json(tmp_path / "big.json", {
        "name": "big", "description": "8 nodes x 1024 CPUs",
        "sockets": [{"id": n} for n in range(8)],
        "nodes": [{"id": n, "socket": n, "cpus": f"{n * 1024}-{n * 1024 + 1023}",
                   "memory": {"blocks": [{"zone": "normal", "state": "online",
                                          "size": "1GiB"}]}} for n in range(8)],
        "distance": {"slit": [[10 if a == b else 20 for b in range(8)] for a in range(8)],
                     "local_latency": "80ns"}})
    workload = write_json(tmp_path / "many.json", {
        "name": "many", "topology": topology, "duration": "1ms",
        "caches": [{"name": "c", "object_size": 64}],
        "threads": [{"name": "t", "cpus": "all", "cache": "c", "max_live_per_cpu": 1000000,
                     "think_time": {"constant": "100ns"}, "lifetime": {"constant": "1s"}}]})
    r = slabsim("run", "-w", workload, "-s", "slab_nodes")
    assert r.returncode == 2, r.stderr
    assert f"{workload}: /threads/0/max_live_per_cpu: expected a workload that fits the memory " \
           "limit" in r.stderr
    assert "--max-memory" in r.stderr and r.stdout == ""


def churn_workload(tmp_path):
    """Few live objects (the estimate, about 6 MiB, lets it through a 20 MiB limit), but the
    process itself (SimGrid, the actors' stacks) holds more: the first check during the run,
    after 100,000 operations, passes 20 MiB."""
    return write_json(tmp_path / "churn.json", {
        "name": "churn", "topology": "two-socket-intel", "duration": "10ms",
        "caches": [{"name": "c", "object_size": 64}],
        "threads": [{"name": "t", "cpus": "all", "cache": "c", "max_live_per_cpu": 64,
                     "think_time": {"constant": "100ns"}, "lifetime": {"constant": "1us"}}]})


def test_a_run_that_outgrows_max_memory_stops_with_a_clear_error(tmp_path):
    workload = churn_workload(tmp_path)
    target = tmp_path / "result.json"
    r = slabsim("run", "-w", workload, "--max-memory", "20MiB", "-o", str(target))
    assert r.returncode == 2, r.stderr
    assert "over the limit of 20 MiB (--max-memory); it was stopped and wrote nothing" in r.stderr
    assert not target.exists() and leftovers(tmp_path) == []
    # With no limit, the same run completes.
    r = slabsim("run", "-w", workload, "--max-memory", "0", "-o", str(target))
    assert r.returncode == 0, r.stderr
    assert target.exists()


def test_compare_columns_that_outgrow_max_memory_in_workers_stop_with_a_clear_error(tmp_path):
    # A worker's resident size is its own: about 10 MiB here against some 35 MiB for the same
    # run in slabsim's process, most of which is shared-library pages the worker has not touched
    # since the fork. 7 MiB passes the estimate before the runs (about 6 MiB) and stops both.
    workload = churn_workload(tmp_path)
    out = tmp_path / "out"
    r = slabsim("compare", "-w", workload, "-s", "hotplug_lock,slab_nodes", "--jobs", "2",
                "--max-memory", "7MiB", "-o", str(out))
    assert r.returncode == 2, r.stderr
    assert "over the limit of 7 MiB (--max-memory); it was stopped and wrote nothing" in r.stderr
    assert r.stdout == "" and list(out.iterdir()) == []


def test_partial_writes_what_a_stopped_run_measured_marked_partial(tmp_path):
    workload = churn_workload(tmp_path)
    target = tmp_path / "result.json"
    r = slabsim("run", "-w", workload, "--max-memory", "20MiB", "--partial", "-o", str(target))
    assert r.returncode == 2, r.stderr
    assert "over the limit of 20 MiB (--max-memory); it was stopped; the partial result is in " \
        f"{target}" in r.stderr
    assert r.stdout.startswith("PARTIAL: stopped at ")
    doc = json.loads(target.read_text())
    stopped = doc["partial"]["stopped_at_ns"]
    assert 0 < stopped < 10_000_000 and doc["simulated_ns"] == stopped
    assert "over the limit of 20 MiB" in doc["partial"]["reason"]
    # What it had: the first memory check comes after 100,000 allocations and frees.
    m = doc["metrics"]
    assert m["allocations"] + m["frees"] >= 100_000
    assert leftovers(tmp_path) == []
    # A run that finishes has no partial block, --partial or not.
    r = slabsim("run", "-w", workload, "--max-memory", "0", "--partial", "-o", str(target))
    assert r.returncode == 0, r.stderr
    assert "partial" not in json.loads(target.read_text())


def test_a_bad_max_memory_is_bad_input():
    r = slabsim("run", "-w", "steady-local", "--max-memory", "lots")
    assert r.returncode == 2
    assert r.stderr.startswith("--max-memory: ")


def test_a_machine_whose_memory_blocks_cannot_fit_is_refused(tmp_path):
    # 200,000 memory blocks (25 TiB of 128 MiB blocks, offline): the page allocator's record of
    # each costs host memory even while absent, so a small --max-memory refuses the machine.
    topology = write_json(tmp_path / "vast.json", {
        "name": "vast", "description": "one node, 200,000 offline blocks",
        "sockets": [{"id": 0}],
        "nodes": [{"id": 0, "socket": 0, "cpus": "0-1",
                   "memory": {"blocks": [{"zone": "normal", "state": "online", "count": 8},
                                         {"zone": "movable", "state": "offline",
                                          "count": 200000}]}}],
        "distance": {"slit": [[10]], "local_latency": "80ns"}})
    r = slabsim("run", "-t", topology, "-w", "steady-local", "--max-memory", "64MiB")
    assert r.returncode == 2, r.stderr
    assert "topology vast: /nodes: expected a machine that fits the memory limit: its 200008 " \
           "memory blocks take 98 MiB of host memory (512 B each" in r.stderr
    assert r.stdout == ""


def test_a_workload_past_what_ulimit_v_leaves_is_refused_even_without_max_memory(tmp_path):
    # Three groups of 16 CPUs x 1,000,000 live objects can hold about 2.9 GiB, within
    # --max-memory's default on a host of 4 GiB or more, but not within what ulimit -v 4G leaves
    # after the stacks and the process's own 2 GiB: such a run ended in std::bad_alloc.
    workload = write_json(tmp_path / "many.json", {
        "name": "many", "topology": "two-socket-intel", "duration": "1ms",
        "caches": [{"name": "c", "object_size": 64}],
        "threads": [{"name": f"t{i}", "cpus": "all", "cache": "c", "max_live_per_cpu": 1000000,
                     "think_time": {"constant": "100ns"}, "lifetime": {"constant": "1s"}}
                    for i in range(3)]})

    def small_address_space():
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    if slabsim("--version", preexec_fn=small_address_space).returncode != 0:
        pytest.skip("this build cannot start under ulimit -v 4G (AddressSanitizer's shadow)")
    for limit in ([], ["--max-memory", "0"]):
        r = slabsim("run", "-w", workload, *limit, preexec_fn=small_address_space)
        assert r.returncode == 2, r.stderr
        assert f"{workload}: /threads/0/max_live_per_cpu: expected a workload that fits the " \
               "memory limit" in r.stderr
        assert "(what the address-space limit, ulimit -v 4096 MiB, leaves after" in r.stderr
    # Without the address-space limit the same workload passes the estimate.
    r = slabsim("run", "-w", workload, "--max-memory", "0")
    assert r.returncode == 0, r.stderr


def test_a_machine_whose_actor_stacks_cannot_fit_ulimit_v_is_refused(tmp_path):
    # 4,096 CPUs reserve 2 GiB of actor stacks (512 KiB each), which with the 2 GiB the rest of
    # the process may map passes ulimit -v 4 GB: SimGrid would abort() on the first stack it
    # cannot map.
    n = 64
    topology = write_json(tmp_path / "wide.json", {
        "name": "wide", "description": "64 nodes x 64 CPUs",
        "sockets": [{"id": i} for i in range(n)],
        "nodes": [{"id": i, "socket": i, "cpus": f"{i * 64}-{i * 64 + 63}",
                   "memory": {"blocks": [{"zone": "normal", "state": "online",
                                          "size": "1GiB"}]}} for i in range(n)],
        "distance": {"slit": [[10 if a == b else 20 for b in range(n)] for a in range(n)],
                     "local_latency": "80ns"}})

    def small_address_space():
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    if slabsim("--version", preexec_fn=small_address_space).returncode != 0:
        pytest.skip("this build cannot start under ulimit -v 4G (AddressSanitizer's shadow)")
    r = slabsim("run", "-t", topology, "-w", "steady-local", preexec_fn=small_address_space)
    assert r.returncode == 2, r.stderr
    assert "topology wide: /nodes: expected a machine whose actors fit the address-space limit " \
           "(ulimit -v) of 4096 MiB: 4101 simulated CPUs and event tasks" in r.stderr
