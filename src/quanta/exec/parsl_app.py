"""What a Parsl worker runs: the quanta of one job, one after another.

Parsl ships functions to workers by reference, so this lives in the installed package
and imports nothing but the runner. A job of several quanta also appends each result to
a file as it finishes: if the worker dies half way, the driver still learns which quanta
finished (their files are in place) and reruns only the others.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from .job import QuantumJob, QuantumResult
from .runner import run_job


def run_jobs(jobs: Sequence[QuantumJob], partial: str | None = None) -> list[QuantumResult]:
    """Run each quantum; with ``partial``, append each result there as one JSON line."""
    results = []
    for job in jobs:
        result = run_job(job)
        results.append(result)
        if partial is not None:
            with open(partial, "a") as stream:
                stream.write(json.dumps(result.to_json()) + "\n")
    return results
