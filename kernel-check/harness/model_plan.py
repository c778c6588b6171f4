"""The guest's plan for a workload, made from slabsim's document of the same
workload (`slabsim kernel-check model`): each event becomes the probe command,
sysfs write or hot-add that does the same in the booted kernel, followed by a
dump of what the model dumped after it. The document already holds the
events in the order the model played them, with the guest's block ids and
DIMMs, so that the plan needs no second reading of the workload format."""

from .plan import PlanError

MODEL_FORMAT = "slabsim-kernel-check-model/1"


def _need(cond, path, message):
    if not cond:
        raise PlanError(path, message)


def _event_steps(e, p):
    """The steps that play event `e` (at JSON path `p`) in the guest."""
    kind = e.get("type")
    if kind == "memory_add":
        _need(e.get("dimms"), f"{p}.dimms", "a hot-add must name its DIMMs")
        return [{"hotplug_add": d} for d in e["dimms"]]
    if kind == "memory_remove":
        # QMP device_del of each DIMM: the guest's ACPI eject removes it.
        _need(e.get("dimms"), f"{p}.dimms", "a removal must name its DIMMs")
        return [{"unplug": d} for d in reversed(e["dimms"])]
    if kind in ("memory_online", "memory_offline"):
        blocks = [b["block"] for b in e.get("blocks", [])]
        if not blocks:
            return []  # the model found no eligible block: nothing to write
        state = e["as"] if kind == "memory_online" else "offline"
        return [{"online": {"blocks": blocks, "as": state}}]
    cache = e.get("cache")
    if kind == "cache_create":
        return [{"probe": f"create {cache} {e['object_size']} {e['align']} "
                          f"{e['flags']}"}]
    if kind == "cache_destroy":
        return [{"probe": f"destroy {cache}"}]
    if kind == "shrink":
        return [{"write": {"path": f"/sys/kernel/slab/{cache}/shrink",
                           "value": "1"}}]
    if kind == "sysfs_read":
        return [{"shell": f"cat /sys/kernel/slab/{cache}/{e['file']}"}]
    if kind == "alloc_burst":
        return [{"probe": f"alloc {cache} {e['node']} {e['cpu']} "
                          f"{e['count']}"}]
    if kind == "page_burst":
        # numastat read just before and after, in the same guest command: the
        # comparison is of the changes.
        return [{"probe_numastat": f"pages {e['node']} {e['order']} "
                                   f"{e['count']} {e['cpu']}"}]
    if kind == "page_free":
        return [{"probe": "freepages"}]
    if kind == "free_burst":
        if e["count"] == 0:
            return []
        return [{"probe": f"free {cache} {e['count']} {e['cpu']}"}]
    raise PlanError(f"{p}.type", f"unknown event type {kind!r}")


def plan_from_model(model):
    """(machine, steps, owners): the plan's steps and, for each, the index
    of the model event it plays (None for the initial dump)."""
    _need(isinstance(model, dict) and model.get("format") == MODEL_FORMAT,
          "model.format", f"expected {MODEL_FORMAT!r} (the output of "
          "`slabsim kernel-check model`)")
    steps, owners = [], []

    def add(step, owner):
        steps.append(step)
        owners.append(owner)

    initial = model["initial"]["dump"]
    add({"dump": list(initial)}, None)
    # The booted machine through the importer users run: scripts/collect-machine
    # in the guest, `slabsim topology import` on the host.
    add({"collect": "guest-snapshot"}, None)
    for i, e in enumerate(model["events"]):
        p = f"model.events[{i}]"
        for step in _event_steps(e, p):
            add(step, i)
        if e.get("dump"):
            add({"dump": list(e["dump"])}, i)
    return model["machine"], steps, owners
