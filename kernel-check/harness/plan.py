"""Plan and machine documents: loading and validation, with errors naming the
JSON path of the bad value (e.g. "steps[3].online.as")."""

import json
import os
import re

from .protocol import CACHE_NAME_RE

ONLINE_AS = ("online", "online_kernel", "online_movable", "offline")
DUMP_ITEMS = ("nodes", "blocks", "slabinfo", "boot_log")
PROBE_VERBS = {
    # verb: (min args, max args) after the verb
    "create": (4, 4), "destroy": (1, 1), "alloc": (4, 4), "free": (2, 3),
    "freeall": (1, 1), "pages": (3, 4), "freepages": (0, 0), "list": (0, 0),
    "rcu_gp": (1, 1),
}
STEP_KINDS = ("hotplug_add", "online", "unplug", "probe", "probe_numastat",
              "write", "dump", "shell", "collect")
_SAFE_PATH = re.compile(r"^/(sys|proc)/[A-Za-z0-9_./:-]+$")
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.,:= +-]*$")


class PlanError(Exception):
    """A bad plan or machine document; str() starts with the JSON path."""

    def __init__(self, path, message):
        super().__init__(f"{path}: {message}")
        self.path = path


def load_json(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise PlanError(what, f"cannot read {path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise PlanError(what, f"{path} is not JSON: {e}") from None


def _need(cond, path, message):
    if not cond:
        raise PlanError(path, message)


def validate_machine(doc, path="machine"):
    """The shape printed by `slabsim topology qemu PRESET --json`."""
    _need(isinstance(doc, dict), path, "must be an object")
    args = doc.get("machine_args")
    _need(isinstance(args, list) and args and
          all(isinstance(a, str) for a in args),
          f"{path}.machine_args", "must be a non-empty list of strings")
    for i, a in enumerate(args):
        # The harness owns these: a second -serial or -qmp would break it.
        _need(a not in ("-kernel", "-initrd", "-append", "-serial", "-qmp",
                        "-monitor", "-nographic", "-daemonize"),
              f"{path}.machine_args[{i}]", f"{a} is set by the harness")
    cmdline = doc.get("kernel_cmdline", [])
    _need(isinstance(cmdline, list) and all(isinstance(a, str) for a in cmdline),
          f"{path}.kernel_cmdline", "must be a list of strings")
    dimms = doc.get("hotplug_dimms", [])
    _need(isinstance(dimms, list), f"{path}.hotplug_dimms", "must be a list")
    ids = set()
    for i, d in enumerate(dimms):
        p = f"{path}.hotplug_dimms[{i}]"
        _need(isinstance(d, dict), p, "must be an object")
        for key in ("id", "memdev"):
            _need(isinstance(d.get(key), str) and
                  re.fullmatch(r"[A-Za-z0-9_-]+", d[key]),
                  f"{p}.{key}", "must be a QEMU id ([A-Za-z0-9_-]+)")
        _need(d["id"] not in ids, f"{p}.id", f"duplicate dimm id {d['id']!r}")
        ids.add(d["id"])
        _need(isinstance(d.get("node"), int) and not isinstance(d["node"], bool)
              and d["node"] >= 0, f"{p}.node", "must be a node id >= 0")
        size = d.get("size_bytes")
        _need(isinstance(size, int) and size > 0 and size % (2 << 20) == 0,
              f"{p}.size_bytes", "must be a positive multiple of 2 MiB")
        _need(isinstance(d.get("addr", 0), int) and d.get("addr", 0) >= 0 and
              d.get("addr", 0) % (2 << 20) == 0, f"{p}.addr",
              "must be a guest physical address, a multiple of 2 MiB")
        _need(d.get("zone", "normal") in ("normal", "movable"),
              f"{p}.zone", "must be 'normal' or 'movable'")
    return doc


def _probe_step(value, p):
    _need(isinstance(value, str) and value.strip(), p,
          "must be a probe command string")
    words = value.split()
    _need(words[0] in PROBE_VERBS, p,
          f"unknown probe command {words[0]!r} (one of "
          f"{', '.join(sorted(PROBE_VERBS))})")
    lo, hi = PROBE_VERBS[words[0]]
    _need(lo <= len(words) - 1 <= hi, p,
          f"{words[0]} takes {lo}" + (f"-{hi}" if hi != lo else "") +
          f" arguments, got {len(words) - 1}")
    for w in words:
        _need(re.fullmatch(r"[A-Za-z0-9_,|-]+", w), p,
              f"bad token {w!r}")
    return value


def _check_dimm_order(steps):
    """A dimm is hot-added before it is onlined or unplugged, and not added
    again before an unplug. An unplug may leave it plugged (the guest could
    not offline it): a retry is allowed, and a re-add then fails at run time
    with QEMU's error."""
    added, plugged = set(), set()
    for i, step in enumerate(steps):
        kind, value = next(iter(step.items()))
        if kind == "hotplug_add":
            _need(value not in plugged, f"steps[{i}].hotplug_add",
                  f"{value!r} is already hot-added (no unplug since)")
            added.add(value)
            plugged.add(value)
        elif kind == "online" and "blocks" in value:
            continue
        elif kind in ("online", "unplug"):
            dimm = value["dimm"] if kind == "online" else value
            path = (f"steps[{i}].online.dimm" if kind == "online"
                    else f"steps[{i}].unplug")
            _need(dimm in added, path,
                  f"{dimm!r} is not hot-added by an earlier step")
            if kind == "unplug":
                plugged.discard(dimm)


def validate_plan(doc, dimm_ids=None):
    """Checks the plan's steps (and its machine if embedded). dimm_ids: the
    machine's dimm ids, to check references. Returns the list of steps."""
    _need(isinstance(doc, dict), "$", "plan must be an object")
    steps = doc.get("steps")
    _need(isinstance(steps, list), "steps", "must be a list")
    unknown = set(doc) - {"machine", "steps", "comment", "description",
                          "timeouts"}
    _need(not unknown, sorted(unknown)[0] if unknown else "$",
          "unknown top-level key")
    for i, step in enumerate(steps):
        p = f"steps[{i}]"
        _need(isinstance(step, dict) and len(step) == 1, p,
              f"must be an object with exactly one of {', '.join(STEP_KINDS)}")
        kind, value = next(iter(step.items()))
        _need(kind in STEP_KINDS, f"{p}.{kind}",
              f"unknown step kind (one of {', '.join(STEP_KINDS)})")
        p = f"{p}.{kind}"
        if kind in ("hotplug_add", "unplug"):
            _need(isinstance(value, str), p, "must be a dimm id")
            if dimm_ids is not None:
                _need(value in dimm_ids, p,
                      f"no dimm {value!r} in the machine's hotplug_dimms")
        elif kind == "online" and isinstance(value, dict) and "blocks" in value:
            # Blocks by the guest's id, written in the order given.
            blocks = value["blocks"]
            _need(isinstance(blocks, list) and blocks and
                  all(isinstance(b, int) and not isinstance(b, bool) and b >= 0
                      for b in blocks), f"{p}.blocks",
                  "must be a non-empty list of memory block ids")
            _need(value.get("as") in ONLINE_AS, f"{p}.as",
                  f"must be one of {', '.join(ONLINE_AS)}")
            extra = set(value) - {"blocks", "as"}
            _need(not extra, f"{p}.{sorted(extra)[0]}" if extra else p,
                  "unknown key")
        elif kind == "online":
            _need(isinstance(value, dict), p, "must be {dimm, as} or {blocks, as}")
            _need(isinstance(value.get("dimm"), str), f"{p}.dimm",
                  "must be a dimm id")
            if dimm_ids is not None:
                _need(value["dimm"] in dimm_ids, f"{p}.dimm",
                      f"no dimm {value['dimm']!r} in the machine's "
                      "hotplug_dimms")
            _need(value.get("as") in ONLINE_AS, f"{p}.as",
                  f"must be one of {', '.join(ONLINE_AS)}")
            extra = set(value) - {"dimm", "as"}
            _need(not extra, f"{p}.{sorted(extra)[0]}" if extra else p,
                  "unknown key")
        elif kind in ("probe", "probe_numastat"):
            _probe_step(value, p)
        elif kind == "write":
            _need(isinstance(value, dict), p, "must be {path, value}")
            _need(isinstance(value.get("path"), str) and
                  _SAFE_PATH.fullmatch(value["path"]) and
                  ".." not in value["path"], f"{p}.path",
                  "must be a /sys or /proc path of [A-Za-z0-9_./:-]")
            _need(isinstance(value.get("value"), str) and
                  _SAFE_VALUE.fullmatch(value["value"]), f"{p}.value",
                  "must be a string of [A-Za-z0-9_.,:= +-]")
        elif kind == "dump":
            _need(isinstance(value, list) and value, p,
                  "must be a non-empty list of dump items")
            for j, item in enumerate(value):
                ok = isinstance(item, str) and (
                    item in DUMP_ITEMS or (item.startswith("slab:") and
                                           CACHE_NAME_RE.fullmatch(item[5:])))
                _need(ok, f"{p}[{j}]", "must be nodes, blocks, slabinfo, boot_log "
                      "or slab:<cache name>")
        elif kind == "collect":
            _need(isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_-]+", value),
                  p, "must be a folder name ([A-Za-z0-9_-]+) for the snapshot")
        elif kind == "shell":
            _need(isinstance(value, str) and "\n" not in value, p,
                  "must be a one-line busybox sh command")
    _check_dimm_order(steps)
    timeouts = doc.get("timeouts", {})
    _need(isinstance(timeouts, dict), "timeouts", "must be an object")
    for k, v in timeouts.items():
        _need(k in ("boot_s", "step_s", "unplug_s", "total_s"),
              f"timeouts.{k}", "unknown timeout (boot_s, step_s, unplug_s, "
              "total_s)")
        _need(isinstance(v, (int, float)) and v > 0, f"timeouts.{k}",
              "must be a positive number of seconds")
    return steps


def resolve_machine(plan, plan_path, machine_path=None):
    """The machine document: --machine FILE, else the plan's "machine" (an
    object, or a path relative to the plan file)."""
    if machine_path is not None:
        return validate_machine(load_json(machine_path, "--machine"),
                                "machine")
    m = plan.get("machine")
    if m is None:
        raise PlanError("machine", "missing: give --machine FILE or a "
                        "\"machine\" in the plan")
    if isinstance(m, str):
        base = os.path.dirname(os.path.abspath(plan_path)) if plan_path else "."
        return validate_machine(load_json(os.path.join(base, m), "machine"),
                                "machine")
    return validate_machine(m, "machine")
