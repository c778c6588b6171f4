"""Differences between slabsim and the booted kernel that the kernel source
makes expected, each with the source that says why. A difference no rule
matches is reported as "differ": a bug in the model, or a rule to write after
reading the source. Rules are narrow: an observable, a key pattern and a test
of the two values."""

import re

from .protocol import parse_cpulist

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


def _initial_mask(model_doc, name):
    """A node mask (online, has_normal_memory, ...) of the model's first dump."""
    prefix = f"/sys/devices/system/node/{name}:"
    line = next((x for x in model_doc["initial"]["dump"]["nodes"]
                 if x.startswith(prefix)), prefix)
    return set(parse_cpulist(line[len(prefix):]))


def _offline_at_boot(model_doc):
    """Node ids that are not online at boot."""
    return {n["id"] for n in model_doc["topology_resolved"]["nodes"]} - \
        _initial_mask(model_doc, "online")


def _imported_slit_test(key, model_value, guest_value, model_doc):
    if not isinstance(model_value, list) or not isinstance(guest_value, list) \
            or len(model_value) != len(guest_value):
        return False
    offline = _offline_at_boot(model_doc)
    row = int(re.search(r"node(\d+) slit", key).group(1))
    for col, (m, g) in enumerate(zip(model_value, guest_value)):
        if m != g and not ((row in offline or col in offline) and g == 20):
            return False
    return True


def _normal_boot_nodes(model_doc):
    return {f"N{n}" for n in _initial_mask(model_doc, "has_normal_memory")}


def _boot_node_slabs(model_doc):
    nodes = _normal_boot_nodes(model_doc)
    return lambda m, g: isinstance(m, list) and isinstance(g, list) and \
        set(m) < set(g) and set(g) - set(m) <= nodes


MACHINE_RULES.append(
    ("slab nodes",
     r"/sys/kernel/slab/kmem_cache_node/(slabs|total_objects)",
     _boot_node_slabs,
     "A model simplification, to be fixed (issue #14): at boot the kernel "
     "takes one slab of kmem_cache_node on every node with normal memory for "
     "the boot caches' own node structs (mm/slub.c, v6.1: kmem_cache_init() "
     "-> init_kmem_cache_nodes() -> early_kmem_cache_node_alloc(), then "
     "kmem_cache's from the same slabs), so those nodes always have a "
     "kmem_cache_node slab; the model gives the boot caches their node "
     "structs without slabs (allocator/slub/slub.cpp, create_boot_cache()), "
     "so a node shows one only once another cache allocates there. The nodes "
     "the kernel adds are exactly the nodes with normal memory at boot."))


# Rules that need the key as well: (observable, key regex, test(key, model,
# guest, doc), explanation).
KEYED_RULES = [
    ("imported machine", r"node\d+ slit$", _imported_slit_test,
     "sysfs shows a node's distances to the online nodes only "
     "(drivers/base/node.c, v6.1: node_read_distance() walks "
     "for_each_online_node()), and a node that is possible but not online has "
     "no nodeN folder at all; the booted kernel knows the SLIT (node_distance()) "
     "but a snapshot taken at boot cannot, so `slabsim topology import` writes "
     "its --offline-node-distance (20, REMOTE_DISTANCE) for nodes offline at "
     "boot. The entries that differ are exactly those."),
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
    for obs, pattern, test, why in KEYED_RULES:
        if obs == observable and re.search(pattern, key) and \
                test(key, model_value, guest_value, model_doc):
            return why
    return None
