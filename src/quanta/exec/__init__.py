"""Executing quantum graphs: the driver, executors, the quantum runner and its jobs.

The names below are imported on first use: a worker imports ``quanta.exec.runner`` (or
an executor module) and must not pay for the driver, the graph model or the registry.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .driver import ExecutionReport as ExecutionReport
    from .driver import ExecutionSettings as ExecutionSettings
    from .driver import execute as execute
    from .executors import Executor as Executor
    from .executors import InlineExecutor as InlineExecutor
    from .executors import ProcessPoolExecutor as ProcessPoolExecutor
    from .job import QuantumJob as QuantumJob
    from .job import QuantumResult as QuantumResult
    from .runner import run_job as run_job

_HOMES = {
    "ExecutionReport": "driver",
    "ExecutionSettings": "driver",
    "execute": "driver",
    "Executor": "executors",
    "InlineExecutor": "executors",
    "ProcessPoolExecutor": "executors",
    "QuantumJob": "job",
    "QuantumResult": "job",
    "run_job": "runner",
}


def __getattr__(name: str) -> Any:
    """The public name ``name``, imported from its module when first asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{home}", __name__), name)
