"""The Python package's view of topologies."""

import pathlib

import pytest

import slabsim

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_presets_are_listed_and_load():
    names = slabsim.presets()
    assert len(names) >= 6
    assert slabsim.default_preset() in names
    for name in names:
        topo = slabsim.load_topology(name)
        assert topo["name"] == name
        n = len(topo["nodes"])
        assert len(topo["distance"]["slit"]) == n
        assert all(len(row) == n for row in topo["distance"]["latency_ns"])


def test_file_and_preset_give_the_same_machine():
    path = ROOT / "topologies" / "two-socket-intel.json"
    assert slabsim.load_topology(path) == slabsim.load_topology("two-socket-intel")


def test_show_matches_numactl_layout():
    text = slabsim.show_topology("two-socket-intel")
    assert text.startswith("available: 2 nodes (0-1)\n")
    assert "node distances:\nnode   0   1 \n  0:  10  21 \n  1:  21  10 \n" in text


def test_bad_input_raises_config_error_with_diagnostics(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "sockets": [{"id": 0}], "nodes": [{"id": 0, "cpu": [0]}],'
                   ' "distance": {"slit": [[10]], "local_latency": 80}}')
    with pytest.raises(slabsim.ConfigError) as info:
        slabsim.load_topology(bad)
    assert isinstance(info.value, ValueError)
    pointers = [d["pointer"] for d in info.value.diagnostics]
    assert "/nodes/0/cpu" in pointers
    assert all(d["file"] == str(bad) for d in info.value.diagnostics)
    assert 'did you mean "cpus"?' in str(info.value)


def test_unknown_name_lists_presets():
    with pytest.raises(slabsim.ConfigError, match="presets: amd-epyc-rome-nps4"):
        slabsim.load_topology("no-such-machine")


def test_many_loads_in_one_interpreter():
    first = slabsim.load_topology("eight-socket")
    for _ in range(100):
        assert slabsim.load_topology("eight-socket") == first


def test_latency_frame_is_tidy():
    frame = slabsim.latency_frame("four-socket-xeon-e7")
    assert list(frame.columns) == ["cpu_node", "mem_node", "latency_ns", "slit"]
    assert len(frame) == 16
    local = frame[frame.cpu_node == frame.mem_node]
    assert (local.slit == 10).all()
    assert (frame.groupby("cpu_node").latency_ns.idxmin() ==
            local.set_index("cpu_node").index.map(lambda n: n * 4 + n)).all()
