"""`scripts/kernel-check --all`: every check of check_set.py into its own
folder, then a summary (README.md, summary.json) of the agree / explained /
differ counts per observable and per machine."""

import argparse
import json
import os
import subprocess
import sys
import time

from . import check_set
from .files import write_text
from .model_run import EXIT_DIFFER, ModelError, ROOT

# What --all keeps next to the reports (the rest - serial log, QEMU's stderr,
# the guest's and the model's documents - goes to raw/, which git ignores).
KEPT = ("report.md", "report.json", "workload.json", "topology.json",
        "timings.json")


def _summary(rows, seconds):
    observables = list(rows[0][2]["counts"]) if rows and rows[0][2] else []
    lines = ["# Kernel check: the full set", "",
             "`scripts/kernel-check --all`: slabsim (strategy `v6.1`) against "
             "Debian's Linux 6.1 booted under QEMU, one folder per check "
             "(report.md has every value side by side). Counts are agree / "
             "explained / differ. The last row is the control: the same "
             "workload under v5.12's model (`slab_nodes`), which must differ "
             "from the 6.1 kernel (its exit is 0 when it does).", "",
             f"Whole set: {seconds:.0f} s.", "",
             "| check | exit | time | agree | explained | differ | " +
             " | ".join(observables) + " |",
             "|---|---:|---:|---:|---:|---:|" + "---|" * len(observables)]
    for name, status, report, secs in rows:
        if report is None:
            lines.append(f"| {name} | {status} | {secs:.0f} s | - | - | - |" +
                         " - |" * len(observables))
            continue
        t = report["total"]
        cells = [f"{c['agree']}/{c['explained']}/{c['differ']}"
                 for c in report["counts"].values()]
        lines.append(f"| [{name}]({name}/report.md) | {status} | "
                     f"{secs:.0f} s | {t['agree']} | {t['explained']} | "
                     f"{t['differ']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run_all(args, check_one):
    out = args.out or os.path.join(ROOT, "results", "kernel-check")
    os.makedirs(out, exist_ok=True)
    rows, worst = [], 0
    t0 = time.monotonic()
    for name, topology, workload_path, strategy, control in check_set.checks():
        folder = os.path.join(out, name)
        raw = os.path.join(folder, "raw")
        os.makedirs(raw, exist_ok=True)
        one = argparse.Namespace(**vars(args))
        one.all, one.plan, one.model, one.out = False, None, None, raw
        one.strategy, one.topology = strategy, None
        if topology is not None:
            tpath = os.path.join(folder, "topology.json")
            write_text(tpath, json.dumps(topology, indent=2) + "\n")
            try:
                machine = check_set.machine_of(tpath)
            except (subprocess.CalledProcessError, ModelError) as e:
                print(f"kernel-check: {name}: {e}", file=sys.stderr)
                rows.append((name, 2, None, 0.0))
                worst = max(worst, 2)
                continue
            workload_path = os.path.join(folder, "workload.json")
            write_text(workload_path, json.dumps(
                check_set.workload_for(machine, name,
                                       check_set.cache_b_size(name)),
                indent=2) + "\n")
            one.topology = tpath
        one.workload = workload_path
        print(f"kernel-check: --all: {name}", file=sys.stderr, flush=True)
        t = time.monotonic()
        status = check_one(one)
        secs = time.monotonic() - t
        for f in KEPT:
            if os.path.exists(os.path.join(raw, f)):
                os.replace(os.path.join(raw, f), os.path.join(folder, f))
        report_path = os.path.join(folder, "report.json")
        report = None
        if os.path.exists(report_path):
            with open(report_path, encoding="utf-8") as f:
                report = json.load(f)
        if control and status in (0, EXIT_DIFFER):
            # The control must differ; finding nothing is the failure.
            status = 0 if report and report["total"]["differ"] else EXIT_DIFFER
        rows.append((name, status, report, secs))
        worst = max(worst, status)
        if status == 130:
            break
    total = time.monotonic() - t0
    write_text(os.path.join(out, "README.md"), _summary(rows, total))
    write_text(os.path.join(out, "summary.json"), json.dumps(
        {"checks": [{"name": n, "exit": s, "seconds": round(x, 1),
                     "total": r["total"] if r else None,
                     "counts": r["counts"] if r else None}
                    for n, s, r, x in rows],
         "seconds": round(total, 1)}, indent=2) + "\n")
    print(f"kernel-check: --all: {len(rows)} checks in {total:.0f} s; "
          f"wrote {os.path.join(out, 'README.md')}", file=sys.stderr)
    return worst
