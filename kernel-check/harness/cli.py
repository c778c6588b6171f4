"""scripts/kernel-check: build the probe and initramfs, boot the real kernel
for a machine, play a plan, write DIR/guest.json and DIR/serial.log.

Exit status: 0 done (steps may have observed errors: see their rc; with
--workload or --model, every difference from slabsim is explained), 1 the
run failed (QEMU exited, the guest never got ready, a QMP error, a step
timed out), 2 invalid plan, machine or workload, 3 missing prerequisites or a
failed build, 4 slabsim and the kernel differ where no rule explains it
(report.md), 130 interrupted."""

import argparse
import json
import os
import signal
import sys
import time

from . import build
from .files import write_json, write_text
from .compare import compare
from .model_plan import plan_from_model
from .model_run import EXIT_DIFFER, ModelError, import_snapshot, run_model
from .report import render_markdown, report_json
from .run_all import run_all
from .guest import Guest, GuestError
from .plan import (PlanError, load_json, resolve_machine, validate_machine,
                   validate_plan)
from .runner import DEFAULT_TIMEOUTS, FORMAT, UNITS, Runner, StepError


def say(msg):
    print(msg, file=sys.stderr, flush=True)


def _raise_on_signal(signum, frame):
    # SIGTERM/SIGHUP take the same path as Ctrl-C: QEMU is killed in
    # play()'s finally.
    raise KeyboardInterrupt(f"signal {signum}")


def _parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="kernel-check",
        description="Boot the real Linux kernel under QEMU for a machine and "
                    "play a plan of hotplug/probe/dump steps in it.")
    what = ap.add_mutually_exclusive_group(required=True)
    what.add_argument("--all", action="store_true", help="the full set: the "
                      "CI workload, then qemu-2node-hotplug, "
                      "memoryless-and-cxl-qemu and four-node-slit-qemu at 2, "
                      "4 and 8 vCPUs; one folder each under --out (default "
                      "results/kernel-check) and a summary README.md")
    what.add_argument("--workload", help="a workload of the guest subset: "
                      "slabsim runs it (`slabsim kernel-check model`), the "
                      "guest plays it, and DIR/report.md compares the two")
    what.add_argument("--model", help="the document `slabsim kernel-check "
                      "model` wrote: play and compare it without running "
                      "slabsim")
    what.add_argument("--plan", help="plan JSON (see kernel-check/README.md): "
                      "play it, compare nothing")
    ap.add_argument("-t", "--topology", help="with --workload: the topology "
                    "(default: the workload's own)")
    ap.add_argument("-s", "--strategy", default="v6.1", help="with "
                    "--workload: slabsim's strategy preset or file, the "
                    "kernel version booted (default v6.1)")
    ap.add_argument("--machine", help="machine JSON as printed by `slabsim "
                    "topology qemu PRESET --json` ('-' for stdin); overrides "
                    "the plan's \"machine\"")
    ap.add_argument("--out", help="output folder (required but with "
                    "--all)")
    ap.add_argument("--verbose-boot", action="store_true",
                    help="let the kernel print its whole boot log on the "
                    "console (serial.log; about 7 s slower under TCG) instead "
                    "of `quiet` (warnings and errors only)")
    ap.add_argument("--validate-only", action="store_true",
                    help="check the plan and machine, boot nothing")
    args = ap.parse_args(argv)
    if args.out is None and not args.all:
        ap.error("--out is required")
    if args.all and (args.topology or args.strategy != "v6.1"):
        ap.error("--all runs its own set: no -t or -s")
    return args


def _load_inputs(args):
    """(plan, machine, steps, model, owners); raises PlanError. model and
    owners are None for a plan."""
    if args.workload or args.model:
        model = run_model(args) if args.workload else load_json(args.model,
                                                                "--model")
        machine, steps, owners = plan_from_model(model)
        machine = validate_machine(machine, "model.machine")
        validate_plan({"steps": steps},
                      {d["id"] for d in machine.get("hotplug_dimms", [])})
        return {}, machine, steps, model, owners
    plan = load_json(args.plan, "--plan")
    if args.machine == "-":
        try:
            machine = validate_machine(json.load(sys.stdin), "machine")
        except json.JSONDecodeError as e:
            raise PlanError("--machine -", f"stdin is not JSON: {e}") from None
    else:
        machine = resolve_machine(plan, args.plan, args.machine)
    steps = validate_plan(plan, {d["id"] for d in
                                 machine.get("hotplug_dimms", [])})
    return plan, machine, steps, None, None


def _build(out, timings):
    """(abi, vmlinuz, initrd); raises build.BuildError."""
    abi = build.kernel_abi()
    missing = build.missing_prerequisites(abi)
    if missing:
        raise build.BuildError("missing " + "; ".join(missing))
    t = time.monotonic()
    vmlinuz = build.ensure_vmlinuz(abi)
    ko, built_ko = build.build_probe(abi, os.path.join(out,
                                                       "probe-build.log"))
    initrd, built_rd = build.build_initramfs(ko)
    timings["build_s"] = round(time.monotonic() - t, 3)
    say(f"kernel-check: kernel {abi}; probe "
        f"{'built' if built_ko else 'cached'}, initramfs "
        f"{'built' if built_rd else 'cached'} ({timings['build_s']:.1f} s)")
    return abi, vmlinuz, initrd


def _play(guest, machine, steps, timeouts, doc, timings, out_dir):
    """Boots, plays the steps; fills doc and timings. Returns the exit
    status. QEMU is killed on every path."""
    runner = None
    rc = 0
    old = {s: signal.signal(s, _raise_on_signal)
           for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        t = time.monotonic()
        guest.start()
        ready = guest.wait_ready(timeouts["boot_s"])
        timings["boot_s"] = round(time.monotonic() - t, 3)
        doc["kernel"]["release"] = ready.get("release")
        doc["kernel"]["cmdline"] = guest.cmdline
        say(f"kernel-check: guest ready in {timings['boot_s']:.1f} s "
            f"(release {ready.get('release')})")
        if ready.get("probe_rc") != 0:
            raise StepError(f"boot: insmod slabsim_probe.ko failed: "
                            f"{ready.get('probe_error', '')}")
        runner = Runner(guest, machine, timeouts, out_dir)
        t = time.monotonic()
        runner.run(steps, progress=say)
        timings["steps_s"] = round(time.monotonic() - t, 3)
    except (GuestError, StepError) as e:
        say(f"kernel-check: FAILED: {e}\n  serial log: "
            f"{guest.serial_log_path}")
        doc["error"] = str(e)
        rc = 1
    except KeyboardInterrupt as e:
        say(f"kernel-check: interrupted ({e or 'Ctrl-C'})")
        doc["error"] = "interrupted"
        rc = 130
    finally:
        guest.close()
        for s, h in old.items():
            signal.signal(s, h)
    doc["steps"] = runner.results if runner is not None else []
    if runner is not None:
        timings["per_step"] = runner.timings
    return rc


def main(argv=None):
    args = _parse_args(argv)
    if args.all:
        return run_all(args, check_one)
    return check_one(args)


def check_one(args):
    """One plan, model or workload into args.out; the exit status."""
    t_start = time.monotonic()
    os.makedirs(args.out, exist_ok=True)
    try:
        plan, machine, steps, model, owners = _load_inputs(args)
    except PlanError as e:
        say(f"kernel-check: invalid input: {e}")
        return 2
    except ModelError as e:
        say(f"kernel-check: {e}")
        return e.status
    if args.validate_only:
        say(f"kernel-check: {'plan' if model is None else 'workload'} OK "
            f"({len(steps)} steps)")
        return 0
    timeouts = {**DEFAULT_TIMEOUTS, **plan.get("timeouts", {})}
    timings = {}
    try:
        abi, vmlinuz, initrd = _build(args.out, timings)
    except build.BuildError as e:
        say(f"kernel-check: {e}\n  {build.HINT}")
        return 3

    guest = Guest(machine, vmlinuz, initrd,
                  os.path.join(args.out, "serial.log"),
                  time.monotonic() + timeouts["total_s"],
                  os.path.join(args.out, "qemu.stderr"),
                  os.path.join(args.out, "commands.log"),
                  quiet=not args.verbose_boot)
    doc = {"format": FORMAT, "kernel": {"abi": abi}, "machine": machine,
           "units": UNITS}
    rc = _play(guest, machine, steps, timeouts, doc, timings, args.out)
    timings["total_s"] = round(time.monotonic() - t_start, 3)
    write_json(os.path.join(args.out, "guest.json"), doc)
    write_json(os.path.join(args.out, "timings.json"), timings)
    say(f"kernel-check: boot {timings.get('boot_s', '-')} s, steps "
        f"{timings.get('steps_s', '-')} s, total {timings['total_s']} s; "
        f"wrote {os.path.join(args.out, 'guest.json')}")
    if model is None:
        return rc
    try:
        imported = import_snapshot(args.out)
    except ModelError as e:
        say(f"kernel-check: {e}")
        return e.status
    report = compare(model, doc, owners, imported)
    write_text(os.path.join(args.out, "report.json"), report_json(report))
    write_text(os.path.join(args.out, "report.md"), render_markdown(report))
    t = report["total"]
    say(f"kernel-check: {t['agree']} agree, {t['explained']} explained, "
        f"{t['differ']} differ; wrote {os.path.join(args.out, 'report.md')}")
    if rc:
        return rc
    return EXIT_DIFFER if t["differ"] else 0


if __name__ == "__main__":
    sys.exit(main())
