"""Parameter sweeps from Python: the points of a sweep plan, run in this process or on a Dask
cluster, optionally kept in a directory of point files shared with ``slabsim sweep``.

The points come from the C++ core, as ``slabsim sweep PLAN --list`` prints them, so point N is
the same run for the CLI and for Python; a point file is what ``slabsim sweep --index N -o DIR``
writes, byte for byte outside its ``host`` block.
"""

import json
import os
import tempfile

from . import _slabsim
from .results import Result
from .simulate import _input

__all__ = ["sweep"]

POINT_COLUMNS = ["index", "topology", "workload", "allocator", "strategy", "seed", "jitter_ns",
                 "quantum_ns"]


def _run_point(point):
    """Runs one point and returns its result document as JSON text.

    A top-level function of an importable module, so that Dask's process workers can unpickle
    it; the result goes back as text, which pickles cheaply.
    """
    inputs = point["inputs"]
    out = _slabsim.run(inputs["topology"], False, inputs["workload"], False,
                       inputs["strategy"], False, point["allocator"], point["seed"],
                       point["jitter_ns"], point["quantum_ns"], None, True)
    return out["result"]


def _point_path(directory, index):
    return os.path.join(directory, _slabsim.sweep_point_file_name(index))


def _save(directory, index, result_text):
    """Writes a point's file atomically (a temporary file beside it, then a rename), as the CLI
    does, so that an interrupted sweep never leaves half a file that looks finished."""
    path = _point_path(directory, index)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(_slabsim.result_file_text(result_text))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _row(point, result):
    identity = {"allocator", "strategy", "workload", "seed", "topology"}
    summary = result.summary.iloc[0].to_dict()
    return {**{c: point[c] for c in POINT_COLUMNS},
            **{k: v for k, v in summary.items() if k not in identity}}


def sweep(plan, client=None, directory=None):
    """Runs every point of a sweep plan and returns one row per point as a pandas DataFrame.

    ``plan``: a sweep plan file (``workloads/sweeps/README.md``) or a dict with the same
    contents (its relative paths are then relative to the working directory).
    ``client``: a ``dask.distributed.Client``; the points are then run on its cluster (use
    workers with one thread each: a process runs one simulation at a time). Without one, the
    points run here, one after the other.
    ``directory``: where each finished point is saved as ``point-N.json``, as
    ``slabsim sweep -o DIR`` saves it; points whose file is already there are loaded instead of
    run, so an interrupted sweep resumes, and the CLI and Python can share the directory.

    The columns: the point's ``index``, its parameters as the plan writes them (``topology``,
    ``workload``, ``allocator``, ``strategy``, ``seed``, ``jitter_ns``, ``quantum_ns``;
    ``allocator`` is ``"slub"`` when the plan has no such key), then the columns of
    :attr:`slabsim.Result.summary` (``simulated_ns``, ``allocations``, ... ``findings``). The
    whole results are the point files (``slabsim.Result.load(directory / "point-N.json")``).

    Bad input raises :class:`slabsim.ConfigError`, before anything runs; so does a point file in
    ``directory`` that holds a run of other inputs.
    """
    import pandas as pd

    text, is_json = _input(plan, "plan")
    points = json.loads(_slabsim.sweep_points(text, is_json))["points"]
    # Only the summary rows are kept: a sweep may have thousands of points, and each result is
    # in its point file when a directory is given.
    rows = {}
    if directory is not None:
        directory = os.fspath(directory)
        os.makedirs(directory, exist_ok=True)
        for index in _slabsim.sweep_done(text, is_json, directory):
            rows[index] = _row(points[index], Result.load(_point_path(directory, index)))
    not_done = [p for p in points if p["index"] not in rows]

    def finished(point, result_text):
        if directory is not None:
            _save(directory, point["index"], result_text)
        rows[point["index"]] = _row(point, Result.from_json(result_text))

    if client is None:
        for point in not_done:
            finished(point, _run_point(point))
    elif not_done:
        from distributed import as_completed

        futures = client.map(_run_point, not_done, pure=False)
        by_key = {f.key: p for f, p in zip(futures, not_done)}
        try:
            # Saved as each one arrives: an interrupted sweep keeps what was finished.
            for future, result_text in as_completed(futures, with_results=True):
                finished(by_key[future.key], result_text)
        finally:
            client.cancel(futures)

    ordered = [rows[p["index"]] for p in points]
    columns = POINT_COLUMNS + [c for c in ordered[0] if c not in POINT_COLUMNS]
    return pd.DataFrame(ordered, columns=columns)
