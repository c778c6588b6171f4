"""What the user reads: each cache's layout, and the text of each sysfs read, in results and
frames; the README's table of layout fields against the core's declaration."""

import pathlib
import re

import pytest

import slabsim

ROOT = pathlib.Path(__file__).resolve().parents[2]

# The sysfs files whose text is one of SLUB's layout fields, each read by an event at 10 us.
SYSFS_LAYOUT_FILES = ["order", "objs_per_slab", "object_size", "slab_size", "align",
                      "min_partial", "cpu_partial"]


def workload(reads=()):
    """A cache made at boot, one created at 20 us and destroyed at 150 us, threads on both, and
    sysfs reads of the boot cache: `reads` at 10 us, then its `slabs` and a stat file at 180 us."""
    events = [{"at": "10us", "sysfs_read": {"cache": "boot", "file": f}} for f in reads]
    events += [
        {"at": "20us", "cache_create": {"cache": "late"}},
        {"at": "150us", "cache_destroy": {"cache": "late"}},
        {"at": "180us", "sysfs_read": {"cache": "boot", "file": "slabs"}},
        {"at": "180us", "sysfs_read": {"cache": "boot", "file": "alloc_fastpath"}},
    ]
    return {
        "name": "layouts", "topology": "two-socket-intel", "duration": "200us",
        "caches": [
            {"name": "boot", "object_size": 200, "flags": ["hwcache_align", "reclaim_account"]},
            {"name": "late", "object_size": 1000, "at_boot": False, "flags": ["typesafe_by_rcu"]},
            {"name": "never", "object_size": 64, "at_boot": False},
        ],
        "threads": [
            {"name": "b", "cpus": "all", "cache": "boot", "think_time": {"constant": "1us"},
             "lifetime": {"constant": "3us"}},
            {"name": "l", "cpus": "all", "cache": "late", "think_time": {"constant": "1us"},
             "lifetime": {"constant": "3us"}, "start": "30us", "stop": "100us"},
        ],
        "events": events,
    }


def test_slub_layout_is_what_its_sysfs_files_show():
    r = slabsim.run(workload=workload(SYSFS_LAYOUT_FILES), strategy="slab_nodes_nocpu")
    layouts = r.cache_layouts.set_index("cache")
    assert list(r.cache_layouts.columns[4:]) == [
        "cache", "destroyed", *(f["name"] for f in slabsim.cache_layout_fields("slub"))]
    # A cache never created has no layout; a destroyed one keeps the one it was created with.
    assert set(layouts.index) == {"boot", "late"}
    assert bool(layouts.loc["late", "destroyed"]) and not bool(layouts.loc["boot", "destroyed"])
    assert r.to_dict()["metrics"]["caches"]["never"]["layout"] is None
    texts = {e.target.split("/")[1]: e.text for e in r.events.itertuples()
             if e.type == "sysfs_read" and e.target.split("/")[1] in SYSFS_LAYOUT_FILES}
    assert set(texts) == set(SYSFS_LAYOUT_FILES)
    for f in SYSFS_LAYOUT_FILES:
        assert texts[f] == f"{layouts.loc['boot', f]}\n", f
    boot = layouts.loc["boot"]
    assert boot["object_size"] == 200 and boot["slab_size"] % boot["align"] == 0
    assert boot["flags"] == "SLAB_HWCACHE_ALIGN|SLAB_RECLAIM_ACCOUNT"
    assert layouts.loc["late", "flags"] == "SLAB_TYPESAFE_BY_RCU"
    assert layouts.loc["late", "object_size"] == 1000
    # v5.12 has no cpu_partial_slabs; nothing is merged.
    assert boot["cpu_partial_slabs"] is None and boot["merged_into"] is None
    raw = r.to_dict()["metrics"]["caches"]["boot"]["layout"]
    assert "cpu_partial_slabs" not in raw and raw["merged_into"] is None


def test_v6_1_has_cpu_partial_slabs():
    r = slabsim.run(workload=workload(), strategy="v6.1")
    boot = r.cache_layouts.set_index("cache").loc["boot"]
    # DIV_ROUND_UP(cpu_partial * 2, objects): set_cpu_partial() -> slub_set_cpu_partial().
    expected = -(-boot["cpu_partial"] * 2 // boot["objs_per_slab"])
    assert boot["cpu_partial_slabs"] == expected > 0


def test_sysfs_read_text_is_in_the_result_the_events_frame_and_the_summary():
    r = slabsim.run(workload=workload(), strategy="slab_nodes_nocpu")
    reads = r.events[r.events["type"] == "sysfs_read"].set_index("target")
    slabs = reads.loc["boot/slabs", "text"]
    stat = reads.loc["boot/alloc_fastpath", "text"]
    # show_slab_objects(): "<total> N<node>=<count>..."; show_stat(): "<sum> C<cpu>=<count>...".
    assert re.fullmatch(r"[1-9]\d*( N\d+=[1-9]\d*)+\n", slabs), slabs
    assert re.fullmatch(r"[1-9]\d*( C\d+=[1-9]\d*)+\n", stat), stat
    total, *per_cpu = stat.split()
    assert int(total) == sum(int(c.split("=")[1]) for c in per_cpu)
    # Events without text (a create) have None; the JSON leaves the key out.
    creates = r.events[r.events["type"] == "cache_create"]
    assert creates["text"].isna().all()
    events = r.to_dict()["metrics"]["events"]
    assert [e.get("text") for e in events if e["target"] == "boot/slabs"] == [slabs]
    assert all("text" not in e for e in events if e["type"] != "sysfs_read")
    start = reads.loc["boot/slabs", "start_ns"]
    assert f"sysfs_read boot/slabs at {start} ns: {slabs[:-1]}\n" in r.report("summary")


def test_slab_and_slob_layouts_use_their_own_fields():
    slab = slabsim.run(workload=workload(), strategy="hotplug_lock", allocator="slab")
    layouts = slab.cache_layouts.set_index("cache")
    assert {"num", "gfporder", "size", "limit", "batchcount", "shared", "colour"} <= set(layouts)
    assert "order" not in layouts
    boot = layouts.loc["boot"]
    # /proc/slabinfo's row of the cache: <objsize> <objperslab> <pagesperslab> : tunables
    # <limit> <batchcount> <sharedfactor>.
    row = next(line.split() for line in slab.report("slabinfo").splitlines()
               if line.startswith("boot "))
    assert [int(row[3]), int(row[4]), int(row[5])] == [
        boot["size"], boot["num"], 1 << boot["gfporder"]]
    assert [int(row[8]), int(row[9]), int(row[10])] == [
        boot["limit"], boot["batchcount"], boot["shared"]]
    assert boot["flags"].startswith("SLAB_HWCACHE_ALIGN|SLAB_RECLAIM_ACCOUNT")
    # The sysfs reads have no text without /sys/kernel/slab.
    assert slab.events[slab.events["type"] == "sysfs_read"]["text"].isna().all()

    slob = slabsim.run(workload=workload(), strategy="hotplug_lock", allocator="slob")
    layouts = slob.cache_layouts.set_index("cache")
    assert list(slob.cache_layouts.columns[6:]) == ["object_size", "size", "align", "flags"]
    # CACHE_CREATE_MASK without CONFIG_SLAB/CONFIG_SLUB drops SLAB_RECLAIM_ACCOUNT.
    assert layouts.loc["boot", "flags"] == "SLAB_HWCACHE_ALIGN"
    # __kmem_cache_create(): struct slob_rcu at the end of each object of an RCU cache.
    assert layouts.loc["late", "size"] > layouts.loc["late", "object_size"] == 1000


def readme_layout_table():
    """The README's table of layout fields: [(allocator, field, type)] in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    head = text.index("| allocator | field | type |")
    rows = []
    for line in text[head:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows.append((cells[0], cells[1].strip("`"), cells[2]))
    return rows


def test_readme_table_is_the_declaration():
    declared = [(a, f["name"], f["type"]) for a in slabsim.allocators()
                for f in slabsim.cache_layout_fields(a)]
    assert readme_layout_table() == declared
    with pytest.raises(ValueError):
        slabsim.cache_layout_fields("slqb")
