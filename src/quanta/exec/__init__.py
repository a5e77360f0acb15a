"""Executing quantum graphs: the driver, executors, the quantum runner and its jobs."""

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
