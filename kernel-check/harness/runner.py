"""Plays a plan's steps in a booted guest and builds the output document."""

import errno
import json
import os
import shutil
import time

from .guest import GuestError
from .protocol import errno_from_text, errno_name, parse_dump, parse_kv
from .qmp import QMPError

FORMAT = "slabsim-kernel-check/1"

UNITS = {
    "size_bytes": "bytes",
    "addr": "guest physical address, bytes",
    "meminfo *_kB": "KiB (the kernel's kB)",
    "numastat": "pages (4 KiB), counters since boot",
    "/sys/kernel/slab/*/{slabs,partial,cpu_slabs}": "slabs; N<n>= per node",
    "/sys/kernel/slab/*/{objects,objects_partial,total_objects}":
        "objects; N<n>= per node",
    "/sys/kernel/slab/*/{object_size,slab_size,align}": "bytes",
    "/sys/kernel/slab/*/order": "page order of a slab",
    "/proc/slabinfo": "version 2.1 columns by name",
    "block_size_bytes": "bytes (the file is hex; converted)",
    "rc": "0 or -errno; rc_name is its symbolic form",
    "probe per_node": "objects (or pages) of the burst by "
                      "page_to_nid(virt_to_page(obj))",
    "probe runs": "node*count runs in allocation order",
}

DEFAULT_TIMEOUTS = {"boot_s": 90, "step_s": 60, "unplug_s": 30,
                    "total_s": 900}


class StepError(Exception):
    pass


def _named(rc):
    return {"rc": rc, "rc_name": errno_name(rc)}


class Runner:
    def __init__(self, guest, machine, timeouts, out_dir="."):
        self.g = guest
        self.machine = machine
        self.dimms = {d["id"]: d for d in machine.get("hotplug_dimms", [])}
        self.t = timeouts
        self.out_dir = os.path.abspath(out_dir)
        self.blocks = {}  # dimm id -> [block ids], set by hotplug_add
        self.block_size = None
        self.timings = []
        self.results = []  # kept on failure: the steps done so far
        self.step_log = []

    def _qmp(self, command, arguments=None):
        """One QMP command, bounded by the step and the overall timeouts."""
        return self.g.qmp.execute(command, arguments, deadline=min(
            time.monotonic() + self.t["step_s"], self.g.deadline))

    def _cmd(self, verb, args, what, timeout=None):
        """One guest command; its kernel log joins the step's (a step may
        send several, e.g. hotplug_add's first read of block_size_bytes)."""
        r = self.g.command(verb, args, timeout or self.t["step_s"], what)
        self.step_log.extend(r.kernel_log)
        return r

    def _block_size(self, what):
        if self.block_size is None:
            r = self._cmd("shell", "cat /sys/devices/system/memory/"
                          "block_size_bytes", what)
            try:
                self.block_size = int(r.body[0].strip(), 16)
            except (IndexError, ValueError):
                raise StepError(f"{what}: cannot read block_size_bytes: "
                                f"{r.body!r}") from None
        return self.block_size

    # -- steps ---------------------------------------------------------------
    def hotplug_add(self, dimm_id, what):
        d = self.dimms[dimm_id]
        q = self.g.qmp
        q.drain_events()
        # memory-backend-ram + pc-dimm: QEMU signals the guest over ACPI
        # (GPE), whose handler (acpi_memory_device_add() -> add_memory())
        # creates the memoryN blocks, offline (memhp_default_state=offline).
        self._qmp("object-add", {"qom-type": "memory-backend-ram",
                                 "id": d["memdev"], "size": d["size_bytes"]})
        # "addr": where the model expects the DIMM whatever the plug order
        # (without it QEMU takes the lowest free address of the window).
        dev = {"driver": "pc-dimm", "id": d["id"], "memdev": d["memdev"],
               "node": d["node"]}
        if "addr" in d:
            dev["addr"] = d["addr"]
        self._qmp("device_add", dev)
        addr = size = None
        for dev in self._qmp("query-memory-devices"):
            data = dev.get("data", {})
            if data.get("id") == dimm_id:
                addr, size = data.get("addr"), data.get("size")
        if addr is None:
            raise StepError(f"{what}: {dimm_id} not in query-memory-devices")
        # The guest answers the insertion (ACPI device check, _OST source 1)
        # once acpi_memory_device_add() is done, blocks and kernel log
        # included; waiting for it keeps late log lines out of the next step.
        ost = q.wait_event(
            "ACPI_DEVICE_OST", min(time.monotonic() + self.t["step_s"] / 2,
                                   self.g.deadline),
            lambda data: data.get("info", {}).get("device") == dimm_id and
            data["info"].get("source") == 1)
        bs = self._block_size(what)
        first, last = addr // bs, (addr + size - 1) // bs
        self.blocks[dimm_id] = list(range(first, last + 1))
        r = self._cmd("wait_blocks", f"{first} {last} "
                      f"{int(self.t['step_s'] // 2)}", what)
        rc = 0 if r.rc == 0 and ost is not None else -errno.ETIMEDOUT
        return {**_named(rc), "dimm": dimm_id, "node": d["node"],
                "addr": addr, "size_bytes": size,
                "blocks": [f"memory{b}" for b in self.blocks[dimm_id]],
                "guest": parse_kv(" ".join(r.body)),
                "qmp_events": _events(q.drain_events())}

    def online(self, spec, what):
        dimm_id, state = spec.get("dimm"), spec["as"]
        if dimm_id is None:
            blocks = spec["blocks"]  # the given blocks, in the given order
        elif dimm_id not in self.blocks:
            raise StepError(f"{what}: {dimm_id} was not hot-added by an "
                            "earlier step")
        else:
            blocks = self.blocks[dimm_id]
            # Online from the lowest block up, offline from the highest down
            # (as udev rules and the kernel's own offline_and_remove_memory()
            # go).
            if state == "offline":
                blocks = list(reversed(blocks))
        paths = [f"/sys/devices/system/memory/memory{b}/state" for b in blocks]
        r = self._cmd("writeall", f"{state} " + " ".join(paths), what)
        results = {}
        first_rc = 0
        for line in r.body:
            kv = parse_kv(line)
            if "path" not in kv:
                continue
            rc = 0 if kv.get("status") == 0 else errno_from_text(
                str(kv.get("error", "")))
            results[kv["path"]] = _named(rc)
            if rc and not first_rc:
                first_rc = rc
        out = {**_named(first_rc), "as": state, "writes": results}
        if dimm_id is not None:
            out["dimm"] = dimm_id
        return out

    def unplug(self, dimm_id, what):
        d = self.dimms[dimm_id]
        q = self.g.qmp
        q.drain_events()
        # device_del only asks: the guest ejects over ACPI after
        # acpi_memory_device_remove() -> remove_memory(), which fails while
        # a block is online; QEMU then reports ACPI_DEVICE_OST with the
        # _OST status and never sends DEVICE_DELETED.
        self._qmp("device_del", {"id": dimm_id})
        ev = q.wait_event("DEVICE_DELETED",
                          min(time.monotonic() + self.t["unplug_s"],
                              self.g.deadline),
                          lambda data: data.get("device") == dimm_id)
        if ev is None and time.monotonic() >= self.g.deadline:
            raise StepError(f"{what}: timed out (overall timeout) waiting "
                            "for DEVICE_DELETED")
        deleted = ev is not None
        backend_deleted = False
        if deleted:
            try:
                self._qmp("object-del", {"id": d["memdev"]})
                backend_deleted = True
            except QMPError:
                pass
            self.blocks.pop(dimm_id, None)
            # QEMU's last word on the eject (_OST source 3, status 0, the
            # device already gone from it): wait so it lands in this step.
            q.wait_event("ACPI_DEVICE_OST",
                         min(time.monotonic() + 5, self.g.deadline),
                         lambda data: data.get("info", {}).get("source") == 3
                         and data["info"].get("status") == 0
                         and "device" not in data["info"])
        self._cmd("nop", "", what)
        rc = 0 if deleted else -errno.ETIMEDOUT
        return {**_named(rc), "dimm": dimm_id, "deleted": deleted,
                "backend_deleted": backend_deleted,
                "timeout_s": self.t["unplug_s"],
                "qmp_events": _events(q.drain_events())}

    def probe(self, command, what, verb="probe"):
        r = self._cmd(verb, command, what)
        numastat = {"before": {}, "after": {}}
        body = []
        for line in r.body:
            words = line.split()
            if len(words) == 4 and words[0] in numastat and \
                    words[1].endswith("/numastat"):
                node = words[1].rsplit("/", 2)[-2][4:]
                numastat[words[0]].setdefault(node, {})[words[2]] = int(words[3])
            else:
                body.append(line)
        kv = parse_kv(body[0]) if body else {}
        if "rc" not in kv:
            raise StepError(f"{what}: no result from the probe: {r.body!r}")
        for key in ("per_node",):
            if isinstance(kv.get(key), str):
                kv[key] = {p.split(":")[0]: int(p.split(":")[1])
                           for p in kv[key].split(",") if ":" in p}
            elif key in kv:
                kv[key] = {}
        if "runs" in kv:
            runs = str(kv["runs"])
            kv["runs"] = [[int(n), int(c)] for n, c in
                          (x.split("*") for x in runs.split(",") if "*" in x)]
        rc = kv.pop("rc")
        out = {**_named(rc), "command": command, "result": kv}
        if verb == "probe_numastat":
            out["numastat"] = numastat
        return out

    def probe_numastat(self, command, what):
        """A probe command between two reads of every node's numastat, in one
        guest command that forks nothing (fork's own allocations would count)."""
        return self.probe(command, what, verb="probe_numastat")

    def write(self, spec, what):
        r = self._cmd("write", f"{spec['path']} {spec['value']}", what)
        kv = parse_kv(r.body[0]) if r.body else {}
        rc = 0 if kv.get("status") == 0 else errno_from_text(
            str(kv.get("error", "")))
        return {**_named(rc), "path": spec["path"], "value": spec["value"]}

    def dump(self, items, what):
        r = self._cmd("dump", " ".join(items), what)
        if r.rc != 0:
            raise StepError(f"{what}: dump failed: {r.body[-3:]!r}")
        return {**_named(0), "dump": parse_dump(r.body, items)}

    def collect(self, name, what):
        """scripts/collect-machine run in the guest; the snapshot is rebuilt
        in the output folder as <name>/ (what `slabsim topology import`
        reads)."""
        r = self._cmd("collect", "", what)
        root = os.path.join(self.out_dir, name)
        shutil.rmtree(root, ignore_errors=True)
        files = {}
        for line in r.body:
            if line.startswith("empty:/tmp/snapshot/"):
                files.setdefault(line[len("empty:/tmp/snapshot/"):], [])
            elif line.startswith("/tmp/snapshot/") and ":" in line:
                path, text = line[len("/tmp/snapshot/"):].split(":", 1)
                files.setdefault(path, []).append(text)
        for path, lines in files.items():
            full = os.path.normpath(os.path.join(root, path))
            if not full.startswith(root + os.sep):
                raise StepError(f"{what}: snapshot path {path!r} leaves the folder")
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w", encoding="utf-8") as f:
                f.write("".join(x + "\n" for x in lines))
        rc = 0 if r.rc == 0 and files else -errno.EIO
        return {**_named(rc), "snapshot": name, "files": len(files)}

    def shell(self, command, what):
        r = self._cmd("shell", command, what)
        return {**_named(0 if r.rc == 0 else -errno.EIO), "output": r.body}

    def run(self, steps, progress=None):
        out = self.results
        for i, step in enumerate(steps):
            kind, value = next(iter(step.items()))
            what = f"steps[{i}] ({kind}: {json.dumps(value)})"
            t0 = time.monotonic()
            self.step_log = []
            try:
                result = getattr(self, kind)(value, what)
                result["kernel_log"] = self.step_log
            except QMPError as e:
                raise StepError(f"{what}: QMP: {e}") from None
            except GuestError as e:
                raise StepError(str(e) if str(e).startswith(what)
                                else f"{what}: {e}") from None
            dt = time.monotonic() - t0
            self.timings.append({"step": i, "kind": kind, "seconds": round(dt, 3)})
            if progress:
                progress(f"  {what}: {result['rc_name']} ({dt:.1f} s)")
            out.append({"index": i, "step": step, **result})
        return out


def _events(events):
    """QMP events without their host timestamps (not comparable)."""
    return [{"event": e.get("event"), "data": e.get("data", {})}
            for e in events]
