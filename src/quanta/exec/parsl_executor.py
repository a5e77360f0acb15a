"""Running jobs on a Parsl cluster: ``ParslExecutor``, the only module that imports Parsl.

One HighThroughputExecutor on the site's provider (``sites.py``) runs each job through
``parsl_app.run_jobs``. Workers get plain job records and the repository's path; they
read and write files on the shared filesystem and return result records, and only the
driver opens the registry (invariant 1). The driver bounds the jobs in
flight to the site's ``max_in_flight``. A job whose worker is lost (killed, out of
memory, its node gone) fails its unfinished quanta, which the driver retries if asked.
Parsl itself is imported only when a cluster starts.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from .job import QuantumJob, QuantumResult
from .parsl_app import run_jobs
from .sites import Site

if TYPE_CHECKING:
    from parsl.config import Config

log = logging.getLogger("quanta.exec")

#: Directory under a repository's root for Parsl's logs, one numbered directory per start.
RUN_DIR = ".parsl"
#: The executor label jobs are submitted to.
LABEL = "quanta"
#: What starts a worker pool (before Parsl's own command): the guard that kills it once
#: the interchange has been unreachable for the heartbeat threshold. Parsl fills in the
#: fields; ``python3`` is the workers' environment's, like ``process_worker_pool.py``.
_WATCH_WORKERS = (
    "python3 -m quanta.exec.guard watch {addresses} {worker_port} "
    "{heartbeat_period} {heartbeat_threshold} "
)


class ParslSettings(BaseModel):
    """Settings of the Parsl executor: the validated site it runs on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site: Site = Field(description="Batch system and resources (``-j`` sets workers_per_node).")


class ParslExecutor:
    """Submits jobs to a Parsl site started for this executor and stopped by ``shutdown``.

    Each start gets a numbered directory under ``run_dir`` (on the shared filesystem)
    for Parsl's log, the workers' logs and the partial results of jobs in flight.
    """

    Settings = ParslSettings
    can_interrupt = False

    def __init__(self, site: Site, run_dir: Path) -> None:
        from parsl.app.app import python_app
        from parsl.dataflow.dflow import DataFlowKernel

        self.max_in_flight = site.in_flight
        self.grace_seconds = site.grace_seconds
        self._cores = site.cores_per_quantum
        # Parsl logs everything at DEBUG into run_dir/NNN/parsl.log; not to the terminal.
        logging.getLogger("parsl").propagate = False
        self._dfk = DataFlowKernel(parsl_config(site, run_dir))
        self._partial_dir = Path(self._dfk.run_dir) / "partial"
        self._partial_dir.mkdir(parents=True, exist_ok=True)
        self._app = python_app(run_jobs, data_flow_kernel=self._dfk, executors=[LABEL])
        self._futures: dict[Any, tuple[Sequence[QuantumJob], Path | None, int]] = {}
        self._count = 0

    @classmethod
    def from_settings(cls, settings: ParslSettings, root: Path) -> ParslExecutor:
        """Start the site's cluster, with Parsl's files under ``root/.parsl``."""
        return cls(settings.site, root / RUN_DIR)

    def submit(self, jobs: Sequence[QuantumJob]) -> None:
        """Send one job to the cluster."""
        partial = None
        if len(jobs) > 1:
            self._count += 1
            partial = self._partial_dir / f"{self._count}.jsonl"
        # A quantum maps its items over the cores the site gives each worker.
        batch = [replace(job, workers=self._cores) for job in jobs]
        future = self._app(batch, str(partial) if partial else None)
        self._futures[future] = (jobs, partial, time.time_ns())

    def wait(self, timeout: float | None = None) -> list[QuantumResult]:
        """Results of the jobs finished since the last call; waits up to ``timeout``."""
        if not self._futures:
            return []
        done, _ = concurrent.futures.wait(
            list(self._futures), timeout, return_when=concurrent.futures.FIRST_COMPLETED
        )
        results: list[QuantumResult] = []
        for future in done:
            jobs, partial, start_ns = self._futures.pop(future)
            try:
                results.extend(future.result())
            except Exception as err:
                results.extend(_salvage(jobs, partial, _describe(err), start_ns))
            if partial is not None:
                partial.unlink(missing_ok=True)
        return results

    def shutdown(self) -> None:
        """Stop the interchange and the workers; unfinished jobs are abandoned."""
        self._futures.clear()
        with contextlib.suppress(Exception):
            self._dfk.cleanup()


def parsl_config(site: Site, run_dir: Path) -> Config:
    """The Parsl configuration of ``site``: one HighThroughputExecutor on its provider.

    Workers find ``process_worker_pool.py`` through PATH, so the driver's environment
    comes first there (a shared filesystem holds the same environment on every node);
    the interchange and the worker pools run under ``quanta.exec.guard`` so that they
    die with the driver. A block that ends while jobs are outstanding (killed, a lost
    node) is replaced, on every site, and only three failed blocks in a row fail the
    outstanding jobs: with no replacement the driver would wait for them forever.
    """
    from parsl.config import Config
    from parsl.executors import HighThroughputExecutor
    from parsl.executors.high_throughput.executor import DEFAULT_LAUNCH_CMD
    from parsl.jobs.error_handlers import windowed_error_handler

    bin_dir = Path(sys.executable).parent
    executor = HighThroughputExecutor(
        label=LABEL,
        provider=_provider(site, f'export PATH="{bin_dir}:$PATH"'),
        address=site.address or ("127.0.0.1" if site.provider == "local" else None),
        max_workers_per_node=site.workers_per_node,
        cores_per_worker=site.cores_per_quantum,
        mem_per_worker=site.memory_per_quantum,
        heartbeat_period=site.heartbeat_period,
        heartbeat_threshold=site.heartbeat_threshold,
        block_error_handler=windowed_error_handler,
        launch_cmd=_WATCH_WORKERS + DEFAULT_LAUNCH_CMD,
        interchange_launch_cmd=[
            sys.executable,
            "-m",
            "quanta.exec.guard",
            "parent",
            str(os.getpid()),
            str(bin_dir / "interchange.py"),
        ],
    )
    return Config(
        executors=[executor],
        run_dir=str(run_dir),
        retries=0,
        strategy="simple",
        usage_tracking=0,
    )


def _provider(site: Site, path_line: str) -> Any:
    """The Parsl execution provider of ``site``."""
    from parsl import providers

    init = "\n".join([path_line, *site.worker_init])
    blocks: dict[str, Any] = {
        "nodes_per_block": site.nodes_per_block,
        "init_blocks": site.init_blocks,
        "min_blocks": site.min_blocks,
        "max_blocks": site.max_blocks,
        "worker_init": init,
    }
    cores = max(1, round(site.cores_per_quantum * site.workers_per_node))
    memory = site.memory_per_quantum and site.memory_per_quantum * site.workers_per_node
    if site.provider == "local":
        return providers.LocalProvider(**blocks)
    batch: dict[str, Any] = {"walltime": site.walltime, "scheduler_options": site.scheduler_options}
    if site.provider == "slurm":
        return providers.SlurmProvider(
            partition=site.partition,
            account=site.account,
            cores_per_node=cores,
            mem_per_node=int(memory) if memory else None,
            **batch,
            **blocks,
        )
    if site.provider == "pbs":
        return providers.PBSProProvider(
            account=site.account, queue=site.queue, cpus_per_node=cores, **batch, **blocks
        )
    return providers.CondorProvider(
        project=site.account or "",
        requirements=site.requirements,
        cores_per_slot=cores,
        mem_per_slot=memory,
        **batch,
        **blocks,
    )


def _salvage(
    jobs: Sequence[QuantumJob], partial: Path | None, message: str, start_ns: int
) -> list[QuantumResult]:
    """The results of a job that failed as a whole: those its worker wrote before it
    died, and a failure for every other quantum."""
    finished: dict[int, QuantumResult] = {}
    if partial is not None and partial.is_file():
        for line in partial.read_text().splitlines():
            with contextlib.suppress(ValueError, KeyError):
                result = QuantumResult.from_json(json.loads(line))
                finished[result.index] = result
    end_ns = time.time_ns()
    return [
        finished.get(job.index) or QuantumResult.failure(job, message, start_ns, end_ns)
        for job in jobs
    ]


def _describe(err: BaseException) -> str:
    """One line on why a job failed as a whole."""
    from parsl.executors.high_throughput.errors import WorkerLost

    if isinstance(err, WorkerLost):
        return f"worker process died ({err})"
    return f"job failed on the cluster: {type(err).__name__}: {err}"
