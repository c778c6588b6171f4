#!/usr/bin/python3
"""The shape of the house, checked: which folder may include which, and how big a file or a
function may grow.

Usage: tests/house/check_house.py SOURCE_DIR

1. Layering of allocator/ (as the kernel's mm/ has one file per allocator):
   - mm/ includes only mm/ and the environment it runs in (environment.hpp, lock_class.hpp);
   - the root (the contract every allocator implements) includes the root and mm/;
   - slub/, slab/, slob/ each include themselves, the root and mm/, never another allocator;
   - only make_allocator.* (which picks one by name) sees all three;
   - nothing in allocator/ includes sim/ or SimGrid, and only sim/engine includes SimGrid.
   The build checks the same lines at link time (allocator/CMakeLists.txt, layering_check_*).
2. No source file outside tests/ over 700 lines.
3. No function outside tests/ over 80 lines, except those in ALLOWED below: declarative tables,
   and functions that mirror one kernel function of that length.

Prints every problem, one a line, and exits 1 if there is any.
"""
import pathlib
import re
import subprocess
import sys

MAX_FILE_LINES = 700
MAX_FUNCTION_LINES = 80
# file:function -> why it may be longer than MAX_FUNCTION_LINES.
ALLOWED = {
    "sim/workload/workload_format.cpp:make_spec": "declarative table: the workload format",
    "sim/topology/topology_format.cpp:make_spec": "declarative table: the topology format",
    "allocator/strategy.cpp:make_presets": "declarative table: the strategy presets",
    "sim/run/headline_metrics.cpp:make_metrics": "declarative table: the headline metrics",
    "allocator/slub/slub_deactivate.cpp:deactivate_slab": "mirrors mm/slub.c deactivate_slab() (v5.10)",
    "allocator/slub/slub_deactivate_v6_1.cpp:deactivate_slab_v6_1": "mirrors mm/slub.c deactivate_slab() (v6.1)",
}

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
problems = []
include_re = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)


def folder_of(path):
    """The allocator/ folder a file belongs to: mm, slub, slab, slob or root."""
    parts = path.relative_to(root / "allocator").parts
    return parts[0] if len(parts) > 1 else "root"


def allowed_include(folder, path, target):
    if not target.startswith("allocator/"):
        return not target.startswith("sim/") and "simgrid" not in target
    parts = target.split("/")
    other = parts[1] if len(parts) > 2 else "root"
    if path.name.startswith("make_allocator."):
        return True
    if folder == "mm":
        return other == "mm" or target in ("allocator/environment.hpp", "allocator/lock_class.hpp")
    if folder == "root":
        return other in ("root", "mm")
    return other in (folder, "root", "mm")


for path in sorted((root / "allocator").rglob("*.[ch]pp")):
    folder = folder_of(path)
    for target in include_re.findall(path.read_text()):
        if not allowed_include(folder, path, target):
            problems.append(f"{path.relative_to(root)}: includes {target}, which "
                            f"allocator/{'' if folder == 'root' else folder + '/'} may not use")

for path in sorted((root / "sim").rglob("*.[ch]pp")):
    if path.parent.name == "engine":
        continue
    for target in include_re.findall(path.read_text()):
        if "simgrid" in target:
            problems.append(f"{path.relative_to(root)}: includes {target}; only sim/engine may")

sources = [p for d in ("allocator", "sim", "python") for p in (root / d).rglob("*")
           if p.suffix in (".cpp", ".hpp", ".py") and p.is_file()]
sources += [p for p in (root / "scripts").iterdir() if p.is_file()]
for path in sorted(sources):
    lines = len(path.read_text().splitlines())
    if lines > MAX_FILE_LINES:
        problems.append(f"{path.relative_to(root)}: {lines} lines, over {MAX_FILE_LINES}")

cxx = [str(p) for p in sources if p.suffix in (".cpp", ".hpp")]
tags = subprocess.run(["ctags", "--language-force=C++", "--kinds-C++=f", "--fields=+ne", "-o",
                       "-", *cxx], capture_output=True, text=True, check=True).stdout
seen = set()
for line in tags.splitlines():
    fields = line.split("\t")
    name, file = fields[0], pathlib.Path(fields[1]).resolve().relative_to(root)
    extra = dict(f.split(":", 1) for f in fields[3:] if ":" in f)
    if "line" not in extra or "end" not in extra:
        continue
    length = int(extra["end"]) - int(extra["line"]) + 1
    key = f"{file}:{name}"
    if length > MAX_FUNCTION_LINES and key not in ALLOWED:
        problems.append(f"{key}: {length} lines, over {MAX_FUNCTION_LINES}")
    seen.add(key)
for key in sorted(set(ALLOWED) - seen):
    problems.append(f"{key}: allowed to be long, but there is no such function: update ALLOWED")

for p in problems:
    print(p)
print(f"house: {len(problems)} problem{'s' if len(problems) != 1 else ''}")
sys.exit(1 if problems else 0)
