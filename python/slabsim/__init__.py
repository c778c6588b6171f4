"""slabsim from Python: NUMA machines, simulation runs and their results as pandas frames.

>>> import slabsim
>>> slabsim.presets()[:2]
['amd-epyc-rome-nps4', 'eight-socket']
>>> slabsim.load_topology("two-socket-intel")["distance"]["slit"]
[[10, 21], [21, 10]]
>>> r = slabsim.run(workload="node-online", strategy="hotplug_lock")
>>> r.lock_stat.head()                                  # doctest: +SKIP
>>> slabsim.compare(strategies=["hotplug_lock", "slab_nodes"])  # doctest: +SKIP
>>> slabsim.compare(strategies=["hotplug_lock"], allocators=["slub", "slab", "slob"])  # doctest: +SKIP
"""

import json

from . import _slabsim
from ._slabsim import ConfigError
from . import plot
from .results import Result, cache_layout_fields
from .simulate import allocators, compare, defaults, run, scenarios, strategy_presets
from .sweep import sweep

__version__ = _slabsim.__version__
__all__ = ["ConfigError", "Result", "allocators", "cache_layout_fields", "compare", "defaults", "plot", "default_preset", "latency_frame",
           "load_topology", "presets", "run", "scenarios", "show_topology", "strategy_presets",
           "sweep"]


def presets():
    """Names of the topology presets compiled into slabsim, sorted."""
    return list(_slabsim.presets())


def default_preset():
    """The preset `slabsim` uses when given no topology."""
    return _slabsim.default_preset()


def load_topology(path_or_preset):
    """The resolved machine (a dict, as result files record it) from a file path or preset name.

    Raises ConfigError (a ValueError) whose ``diagnostics`` list names the file, the JSON pointer
    and what was expected for every problem found.
    """
    return json.loads(_slabsim.topology_json(str(path_or_preset)))


def show_topology(path_or_preset):
    """The text `slabsim topology show` prints: numactl --hardware and slabsim's additions."""
    return _slabsim.show_topology(str(path_or_preset))


def latency_frame(path_or_preset):
    """Node-to-node latency in ns as a tidy pandas DataFrame: cpu_node, mem_node, latency_ns, slit."""
    import pandas as pd

    topo = load_topology(path_or_preset)
    rows = []
    for i, (lat_row, slit_row) in enumerate(zip(topo["distance"]["latency_ns"],
                                                topo["distance"]["slit"])):
        for k, (lat, slit) in enumerate(zip(lat_row, slit_row)):
            rows.append({"cpu_node": i, "mem_node": k, "latency_ns": lat, "slit": slit})
    return pd.DataFrame(rows)
