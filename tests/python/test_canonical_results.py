"""scripts/canonical_results.py writes the comparison README and its figures, the same each time."""

import hashlib
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def generate(directory):
    env = dict(os.environ, SLABSIM_RESULTS_DIR=str(directory))
    subprocess.run([sys.executable, str(ROOT / "scripts" / "canonical_results.py")], env=env,
                   check=True, capture_output=True)
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()}


def test_canonical_results_are_complete_and_reproducible(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    a = generate(first)
    assert set(a) == {"README.md", "node-online-locks.png", "node-online-lock-waits.png",
                      "node-online-remote.png", "node-online-fallbacks.png"}
    text = (first / "README.md").read_text(encoding="utf-8")
    for scenario in ["steady-local", "remote-heavy", "node-online", "online-offline-cycles",
                     "movable-only", "cpuless-alloc-node"]:
        assert f"### `{scenario}` on" in text
    machines = {line.split(" on ")[1].strip("`") for line in text.splitlines()
                if line.startswith("### `steady-local`")}
    assert len(machines) >= 3
    assert "| `03afc0e25f7f-missing-node` | missing-node |" in text
    assert generate(second) == a
