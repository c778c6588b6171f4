"""`slabsim compare --format markdown|text`, as someone pasting it into a mail meets it: no line
of the text format is wider than 80 columns, whatever strategies, allocators and files are
compared, and the command it prints to reproduce it, run as printed, prints the same thing."""

import os
import pathlib
import shlex
import subprocess

import pytest

BIN = os.environ["SLABSIM_BIN"]
ROOT = pathlib.Path(__file__).resolve().parents[2]
PRESETS = ["mutex_only", "hotplug_lock_sysfs", "hotplug_lock", "shrink_slab_mutex",
           "slab_nodes", "slab_nodes_nocpu", "v6.1"]

# What a comparison may be: strategies (presets and a file), allocators, workloads, machines.
COMPARISONS = {
    "three-strategies": ["-w", "node-online", "-s", "hotplug_lock,slab_nodes,slab_nodes_nocpu"],
    "every-preset": ["-w", "node-online", "-s", ",".join(PRESETS)],
    "allocators-by-strategies": ["-w", "node-online", "-a", "slub,slab,slob",
                                 "-s", "hotplug_lock,slab_nodes_nocpu"],
    "a-strategy-file": ["-w", "steady-local", "-t", "four-socket-xeon-e7", "-s",
                        "hotplug_lock,workloads/strategies/slab_nodes_no_reuse.json",
                        "--seed", "3", "--quantum", "5000", "--slab-nomerge"],
    "one-strategy": ["-w", "steady-local"],
}


def compare(args, fmt):
    r = subprocess.run([BIN, "compare", *args, "--format", fmt], cwd=ROOT, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode in (0, 3), r.stderr
    return r


def printed_command(out, fmt):
    """The command as printed: the text's lines after "Reproduce with:", the Markdown's code block."""
    lines = out.splitlines()
    if fmt == "text":
        return "\n".join(lines[lines.index("Reproduce with:") + 1:]) + "\n"
    start = lines.index("```sh", lines.index("Reproduce with:")) + 1
    assert lines[start + 1] == "```"
    return lines[start] + "\n"


def run_printed_command(out, fmt):
    """Runs the printed command in a shell, as pasted, with slabsim the build's."""
    command = printed_command(out, fmt)
    assert command.lstrip().startswith("slabsim compare "), command
    command = command.replace("slabsim", shlex.quote(BIN), 1)
    return subprocess.run(["sh", "-c", command], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def command_words(out, fmt):
    """The printed command's words, as a shell splits them (dropping each backslash-newline)."""
    return shlex.split(printed_command(out, fmt).replace("\\\n", ""))


@pytest.fixture(scope="module", params=sorted(COMPARISONS))
def text_output(request):
    return request.param, compare(COMPARISONS[request.param], "text")


def test_every_line_of_the_text_format_fits_80_columns(text_output):
    name, r = text_output
    too_wide = [line for line in r.stdout.splitlines() if len(line) > 80]
    assert not too_wide, f"{name}: lines wider than 80 columns:\n" + "\n".join(too_wide)
    assert r.stdout.isascii(), name


def test_the_text_format_names_every_column_and_strategy(text_output):
    name, r = text_output
    args = COMPARISONS[name]
    strategies = args[args.index("-s") + 1].split(",") if "-s" in args else ["slab_nodes_nocpu"]
    for s in strategies:
        assert pathlib.Path(s).stem in r.stdout, (name, s)
    assert "Strategies (kernel; commit):" in r.stdout
    assert "\nReproduce with:\n  slabsim compare " in r.stdout


def test_the_printed_command_reproduces_the_text(text_output):
    name, r = text_output
    again = run_printed_command(r.stdout, "text")
    assert again.returncode == r.returncode, again.stderr
    assert again.stdout == r.stdout, name


@pytest.mark.parametrize("name", ["three-strategies", "a-strategy-file"])
def test_the_printed_command_reproduces_the_markdown(name):
    r = compare(COMPARISONS[name], "markdown")
    again = run_printed_command(r.stdout, "markdown")
    assert again.returncode == r.returncode, again.stderr
    assert again.stdout == r.stdout, name


def test_the_command_pins_what_the_workload_chose():
    """Without -t and --seed, the command still names the machine and the seed the run had."""
    r = compare(["-w", "steady-local"], "text")
    words = command_words(r.stdout, "text")
    assert words[words.index("-t") + 1] == "two-socket-intel"
    assert words[words.index("--seed") + 1] == "1"
    assert words[words.index("-s") + 1] == "slab_nodes_nocpu"


def test_a_bad_format_is_refused_before_any_run():
    r = subprocess.run([BIN, "compare", "--format", "html"], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2
    assert "--format: html not in {table,markdown,text}" in r.stderr + r.stdout


def test_the_readme_example_is_what_slabsim_prints():
    """README's example of the text format, rows cut at "[...]": each piece, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("```\n$ build/slabsim compare ") + len("```\n$ build/slabsim ")
    end = readme.index("\n```\n", start)
    command, example = readme[start:end].split("\n", 1)
    r = subprocess.run([BIN, *shlex.split(command)], cwd=ROOT, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    at = 0
    for piece in example.split("[...]\n"):
        found = r.stdout.find(piece, at)
        assert found >= 0, f"not in the output (after character {at}):\n{piece}"
        at = found + len(piece)
    assert r.stdout.endswith(example.split("[...]\n")[-1] + "\n")
