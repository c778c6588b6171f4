"""Runs slabsim's side of a check: `slabsim kernel-check model` on a workload,
into DIR/model.json."""

import json
import os
import shutil
import subprocess

EXIT_DIFFER = 4
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


class ModelError(Exception):
    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


def slabsim_binary():
    """$SLABSIM_BIN, the tree's build/slabsim, or slabsim on PATH."""
    for candidate in (os.environ.get("SLABSIM_BIN"),
                      os.path.join(ROOT, "build", "slabsim"),
                      shutil.which("slabsim")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise ModelError("no slabsim binary: build it (cmake -S . -B build && "
                     "cmake --build build) or set SLABSIM_BIN", 3)


def run_model(args):
    """The model's document for args.workload (-t, -s as given)."""
    out = os.path.join(args.out, "model.json")
    cmd = [slabsim_binary(), "kernel-check", "model", "-w", args.workload,
           "-s", args.strategy, "-o", out]
    if args.topology:
        cmd += ["-t", args.topology]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        # slabsim's own diagnostics name the file and JSON path; 2 is bad
        # input, as here.
        raise ModelError(r.stderr.strip() or f"{' '.join(cmd)} failed",
                         2 if r.returncode == 2 else 1)
    with open(out, encoding="utf-8") as f:
        return json.load(f)


def import_snapshot(out_dir, name="guest-snapshot"):
    """`slabsim topology import` of the snapshot the guest's collect step
    left in out_dir: {"topology": resolved, "boot_caches": [...]}, or None
    when there is no snapshot; ModelError when the importer refuses it."""
    snap = os.path.join(out_dir, name)
    if not os.path.isdir(snap):
        return None
    binary = slabsim_binary()
    topo = os.path.join(out_dir, "guest-topology.json")
    caches = os.path.join(out_dir, "guest-boot-caches.json")
    r = subprocess.run([binary, "topology", "import", snap, "--name", "guest",
                        "-o", topo, "--boot-caches", caches],
                       capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise ModelError(f"slabsim topology import of the guest's snapshot "
                         f"failed: {r.stderr.strip()}", 1)
    shown = subprocess.run([binary, "topology", "show", topo, "--json"],
                           capture_output=True, text=True, check=False)
    if shown.returncode != 0:
        raise ModelError(f"slabsim topology show {topo}: {shown.stderr.strip()}",
                         1)
    with open(caches, encoding="utf-8") as f:
        return {"topology": json.loads(shown.stdout),
                "boot_caches": json.load(f)}
