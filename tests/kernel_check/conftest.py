"""kernel-check tests: the harness package lives in kernel-check/harness."""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "kernel-check"))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "kernel: boots the real kernel under QEMU (about a minute; "
        "select with -m kernel, leave out with -m 'not kernel')")
