"""Running one quantum: ``run_job`` turns a ``QuantumJob`` into a ``QuantumResult``.

The same function runs in the driver's process (inline), in pool workers and on cluster
workers, so it is importable from the installed package and needs nothing but the job
and the repository's files. It never opens the registry. Besides the task's outputs it
writes the quantum's log records (``_log``) and its metadata (``_metadata``: timings,
host, peak memory, workers) unless the attempt failed, in which case everything it wrote is
deleted again. The task maps over the ``workers`` its job names (``quanta.pipe.parallel``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import socket
import time
import traceback
from pathlib import Path
from typing import Any

from ..butler.quantum_io import ButlerQuantumIO, InputBinding, OutputBinding
from ..butler.repo_files import RepoFiles, open_repo_files
from ..core.implicit import LOG, METADATA
from ..core.status import QuantumStatus
from ..pipe import parallel
from ..pipe.resolved import import_task_class
from ..pipe.task import NoWorkFound, PipelineTask
from .job import QuantumJob, QuantumResult

_HOST = socket.gethostname()


def run_job(job: QuantumJob) -> QuantumResult:
    """Run one quantum and report what happened; never raises for a task's failure."""
    start = time.time_ns()
    cpu = time.process_time()
    _reset_peak_memory()
    capture = _LogCapture(f"quanta.task.{job.label}")
    result = QuantumResult(job.index, QuantumStatus.DONE, start_ns=start, host=_HOST)
    qio: ButlerQuantumIO | None = None
    with capture:
        try:
            qio = _quantum_io(job, _repo_files(job.repo))
            with parallel.given(parallel.Workers(job.workers)):
                _make_task(job).run_quantum(qio)
        except NoWorkFound as err:
            result.status, result.message = QuantumStatus.NO_WORK, str(err) or "no work found"
            capture.logger.info("no work found: %s", result.message)
        except Exception as err:
            _failed(result, err)
    result.end_ns = time.time_ns()
    result.peak_memory_bytes = _peak_memory()
    result.logs = capture.records
    if qio is None:
        return result
    if result.status != QuantumStatus.DONE:
        qio.discard()
    if result.status != QuantumStatus.FAILED:
        metadata = {
            "start_ns": result.start_ns,
            "end_ns": result.end_ns,
            "duration_s": (result.end_ns - result.start_ns) / 1e9,
            "cpu_s": time.process_time() - cpu,
            "host": _HOST,
            "peak_memory_bytes": result.peak_memory_bytes,
            "workers": job.workers,
        }
        try:
            qio.put(result.logs, LOG)
            qio.put(metadata, METADATA)
        except Exception as err:
            qio.discard()
            _failed(result, err)
    result.outputs = qio.written
    result.cpu_s = time.process_time() - cpu
    return result


def _failed(result: QuantumResult, err: Exception) -> None:
    """Mark ``result`` failed by ``err`` (called inside its ``except`` block)."""
    result.status = QuantumStatus.FAILED
    result.message = f"{type(err).__name__}: {err}"
    result.traceback = traceback.format_exc()


@functools.lru_cache(maxsize=8)
def _repo_files(repo: str) -> RepoFiles:
    """The universe and datastore of a repository, made once per process."""
    return open_repo_files(Path(repo))


@functools.lru_cache(maxsize=64)
def _task_class(path: str, label: str) -> type[PipelineTask]:
    return import_task_class(path, f"task {label!r}")


def _make_task(job: QuantumJob) -> PipelineTask:
    task_class = _task_class(job.task_class, job.label)
    config = task_class.ConfigClass.model_validate(job.config)
    return task_class(config=config, label=job.label)


def _quantum_io(job: QuantumJob, files: RepoFiles) -> ButlerQuantumIO:
    universe = files.universe
    inputs: dict[str, InputBinding] = {}
    outputs: dict[str, OutputBinding] = {}
    for conn in job.connections:
        refs = conn.make_refs(universe)
        if conn.is_input:
            inputs[conn.name] = InputBinding(
                refs, conn.make_files(), conn.multiple, conn.defer_load
            )
        else:
            outputs[conn.name] = OutputBinding(refs, conn.multiple)
    return files.quantum_io(job.data_id(universe), inputs, outputs, hidden=(METADATA, LOG))


class _LogCapture(logging.Handler):
    """Collects the records of a task's logger (and its children) while a quantum runs.

    The logger is set to INFO and stops propagating for that time, so the records go to
    the ``_log`` dataset and not to the terminal of the process running the quantum.
    """

    def __init__(self, name: str) -> None:
        super().__init__(logging.INFO)
        self.logger = logging.getLogger(name)
        self.records: list[dict[str, Any]] = []
        self._saved = (self.logger.level, self.logger.propagate)

    def emit(self, record: logging.LogRecord) -> None:
        entry: dict[str, Any] = {
            "name": record.name,
            "level": record.levelname,
            "message": record.getMessage(),
            "time": record.created,
        }
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info))
        self.records.append(entry)

    def __enter__(self) -> _LogCapture:
        self._saved = (self.logger.level, self.logger.propagate)
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self)
        self.logger.setLevel(self._saved[0])
        self.logger.propagate = self._saved[1]


def _reset_peak_memory() -> None:
    """Reset the kernel's peak-RSS mark (Linux), so the next reading is this quantum's."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_memory() -> int | None:
    """Peak resident memory in bytes since the last reset (or of the process, elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import resource
    except ImportError:
        return None
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
