"""The README's table of benchmark figures is the last recorded run of scripts/bench.

scripts/bench rewrites results/machine-bench.txt; this test then fails until the README's table
carries the new figures, so that the two never disagree.
"""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]

# A headline row of machine_bench: the name, CPUs, ops/s, set-up share, floor, ratio, staggered
# floor, its ratio, the goal, "met" or "no", then the engine calls per operation.
ROW = re.compile(r"^(?P<name>\S.*?)\s{2,}(?P<cpus>\d+)\s+(?P<ops>\d+)\s+\S+%\s+\d+\s+"
                 r"(?P<ratio>[\d.]+x)\s+\d+\s+[\d.]+x\s+(?P<goal>\d+x)\s+(?P<met>met|no)\s")
MEMORY = re.compile(r"^host memory per live object: (?P<bytes>[\d.]+) bytes \(goal (?P<goal>\d+);")


def recorded_rows(text):
    """[(run, CPUs, ops/s, ratio, goal, met)] of the headline table, then the memory figure."""
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("workload "))
    rows = []
    for line in lines[first + 1:]:
        if not line.strip():
            break
        m = ROW.match(line)
        assert m, f"results/machine-bench.txt: a headline row this test cannot read: {line!r}"
        rows.append((m["name"], m["cpus"], f"{int(m['ops']) / 1e6:.3g} M", m["ratio"], m["goal"],
                     "met" if m["met"] == "met" else "**not met**"))
    memory = next(m for m in map(MEMORY.match, lines) if m)
    goal = int(memory["goal"])
    met = "met" if float(memory["bytes"]) <= goal else "**not met**"
    rows.append(("host memory per live object", "", f"{memory['bytes']} B", "", f"{goal} B", met))
    return rows


def readme_rows(text):
    head = text.index("| run | CPUs | ops/s | x floor | goal | |")
    rows = []
    for line in text[head:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append(tuple(c.strip() for c in line.strip("|").split("|")))
    return rows


def test_readme_carries_the_recorded_figures():
    recorded = recorded_rows((ROOT / "results" / "machine-bench.txt").read_text(encoding="utf-8"))
    readme = readme_rows((ROOT / "README.md").read_text(encoding="utf-8"))
    assert readme == recorded, "README.md's benchmark table differs from results/machine-bench.txt"


def test_the_reading_fails_on_a_changed_figure():
    text = (ROOT / "results" / "machine-bench.txt").read_text(encoding="utf-8")
    rows = recorded_rows(text)
    line = next(line for line in text.splitlines() if line.startswith(rows[0][0]))
    changed = text.replace(line, line.replace(rows[0][3], "1.00x", 1))
    assert recorded_rows(changed)[0][3] == "1.00x"
    assert recorded_rows(changed) != rows
