"""Executing quantum graphs: the driver, executors, the quantum runner and its jobs.

The names below are imported on first use: a worker imports ``quanta.exec.runner`` (or
an executor module) and must not pay for the driver, the graph model or the registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.lazy import lazy_exports

if TYPE_CHECKING:
    from .driver import ExecutionReport as ExecutionReport
    from .driver import ExecutionSettings as ExecutionSettings
    from .driver import execute as execute
    from .executor_choice import ExecutorChoice as ExecutorChoice
    from .executor_choice import choose_executor as choose_executor
    from .executors import Executor as Executor
    from .executors import InlineExecutor as InlineExecutor
    from .executors import ProcessPoolExecutor as ProcessPoolExecutor
    from .job import QuantumJob as QuantumJob
    from .job import QuantumResult as QuantumResult
    from .runner import run_job as run_job

__getattr__ = lazy_exports(
    __name__,
    {
        "ExecutionReport": ".driver",
        "ExecutionSettings": ".driver",
        "execute": ".driver",
        "ExecutorChoice": ".executor_choice",
        "choose_executor": ".executor_choice",
        "Executor": ".executors",
        "InlineExecutor": ".executors",
        "ProcessPoolExecutor": ".executors",
        "QuantumJob": ".job",
        "QuantumResult": ".job",
        "run_job": ".runner",
    },
)
