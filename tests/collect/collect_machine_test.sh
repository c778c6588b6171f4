#!/bin/sh
# scripts/collect-machine on this machine, under the shell given (sh, busybox sh), then
# `slabsim topology import` of the folder and of its .tar.gz: both must validate and agree, and
# a second import must give the same bytes.
# Usage: collect_machine_test.sh SHELL SLABSIM SOURCE_DIR     (SHELL may be "busybox sh")
set -eu
shell=$1 slabsim=$2 source=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

$shell "$source/scripts/collect-machine" --tar "$tmp/snap" > "$tmp/collect.out"
grep -qx "format: slabsim-machine-snapshot 1" "$tmp/snap/MANIFEST"
test -s "$tmp/snap/sys/devices/system/node/possible"
test -f "$tmp/snap.tar.gz"

"$slabsim" topology import "$tmp/snap" --local-latency 80ns -o "$tmp/a.json" \
  --boot-caches "$tmp/caches.json"
"$slabsim" topology import "$tmp/snap" --local-latency 80ns -o "$tmp/b.json"
cmp "$tmp/a.json" "$tmp/b.json"
"$slabsim" topology import "$tmp/snap.tar.gz" --local-latency 80ns -o "$tmp/c.json"
cmp "$tmp/a.json" "$tmp/c.json"
"$slabsim" topology validate "$tmp/a.json" | grep -q ": ok ("

# As many CPUs as the kernel has online, and as many nodes as possible ones.
cpus=$(cat /sys/devices/system/cpu/online)
"$slabsim" topology show "$tmp/a.json" --json > "$tmp/resolved.json"
/usr/bin/python3 - "$tmp/resolved.json" "$cpus" "$tmp/caches.json" "$tmp/snap" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
cpus = set()
for part in sys.argv[2].split(","):
    a, _, b = part.partition("-")
    cpus.update(range(int(a), int(b or a) + 1))
got = {c for n in t["nodes"] for c in n["cpus"]}
assert got == cpus, (got, cpus)
possible = open("/sys/devices/system/node/possible").read().strip()
nodes = set()
for part in possible.split(","):
    a, _, b = part.partition("-")
    nodes.update(range(int(a), int(b or a) + 1))
assert [n["id"] for n in t["nodes"]] == sorted(nodes), (t["nodes"], possible)
caches = json.load(open(sys.argv[3]))
names = [c["name"] for c in caches]
assert len(set(names)) == len(names) and not any(n.startswith(":") for n in names), names[:5]
# In creation order when the snapshot has /proc/slabinfo (kmem_cache_init()'s two first), else
# by name.
import os
if os.path.exists(sys.argv[4] + "/proc/slabinfo"):
    assert names[:2] == ["kmem_cache", "kmem_cache_node"], names[:5]
else:
    assert names == sorted(names), names[:5]
print(f"ok: {len(t['nodes'])} nodes (possible {possible}), {len(got)} CPUs, {len(caches)} caches")
PY
