"""Differences between slabsim and the booted kernel that the kernel source
makes expected, each with the source that says why. A difference no rule
matches is reported as "differ": a bug in the model, or a rule to write after
reading the source. Rules are narrow: an observable, a key pattern and a test
of the two values."""

import re

# (observable, key regex, test(model, guest) -> bool, explanation)
RULES = [
    ("valid_zones",
     r"/sys/devices/system/memory/memory(\d+)/valid_zones$",
     lambda m, g: m == "Normal" and g in ("DMA32", "none"),
     "QEMU's boot memory below 4 GiB is ZONE_DMA32 on x86_64 "
     "(arch/x86/mm/init.c: zone_sizes_init(), max_zone_pfns[ZONE_DMA32] = "
     "MAX_DMA32_PFN), and memory0 also spans ZONE_DMA, so valid_zones_show() "
     "prints \"none\" for it (drivers/base/memory.c, v6.1: mem->zone is NULL "
     "for a block spanning zones). The model's boot memory is ZONE_NORMAL "
     "only: DMA zones are not modelled (no slab cache of the workload uses "
     "GFP_DMA/GFP_DMA32)."),
]


def _nodes_with_cpus(model_doc):
    """N<n> of the nodes with CPUs."""
    return {f"N{n['node']}" for n in model_doc["machine"]["nodes"]
            if n.get("cpus")}


def _boot_memory_nodes(model_doc):
    return {f"N{n['node']}" for n in model_doc["machine"]["nodes"]
            if n.get("boot_memory_bytes")}


def _more_boot_nodes(model_doc):
    """The guest has slabs on more nodes, each extra one a node with CPUs or
    with memory at boot."""
    nodes = _nodes_with_cpus(model_doc) | _boot_memory_nodes(model_doc)
    return lambda m, g: isinstance(m, list) and isinstance(g, list) and \
        set(m) < set(g) and set(g) - set(m) <= nodes


# Rules that depend on the machine: (observable, key regex, make test(doc),
# explanation).
MACHINE_RULES = [
    ("slab nodes",
     r"/sys/kernel/slab/(kmalloc-[0-9k]+|kmem_cache)/(slabs|total_objects)",
     _more_boot_nodes,
     "The guest's own kernel allocates from the kmalloc caches, and makes "
     "the struct kmem_cache of its ~100 caches, while it boots: on every CPU "
     "(initcalls, kworkers, ksoftirqd), and the initcalls with the boot "
     "task's interleave policy over every node with memory (v6.1: "
     "mm/mempolicy.c numa_policy_init() sets MPOL_INTERLEAVE; kernel_init, "
     "forked in init/main.c rest_init() before its numa_default_policy(), "
     "keeps it until it sets SYSTEM_RUNNING; new_slab() -> alloc_pages() "
     "follows it), "
     "and per-node structures with kmalloc_node(). The model's boot makes "
     "the caches and nothing else uses them, so its slabs are on fewer "
     "nodes; the nodes it adds are nodes with CPUs or boot memory."),
]


def explain(observable, key, model_value, guest_value, model_doc):
    for obs, pattern, test, why in RULES:
        if obs == observable and re.search(pattern, key) and \
                test(model_value, guest_value):
            return why
    for obs, pattern, make_test, why in MACHINE_RULES:
        if obs == observable and re.search(pattern, key) and \
                make_test(model_doc)(model_value, guest_value):
            return why
    return None
