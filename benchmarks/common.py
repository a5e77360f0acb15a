"""Shared helpers of the benchmark scripts: JSON output, medians, subprocess timing and
the W1 universe content (instrument Cam, 4 detectors, filters g/r/i, 100 exposures a night).
"""

from __future__ import annotations

import datetime
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

INSTRUMENT = "Cam"
DETECTORS = (0, 1, 2, 3)
BANDS = ("g", "r", "i")
EXPOSURES_PER_NIGHT = 100
FIRST_NIGHT = datetime.date(2025, 1, 1)
EXPOSURE_S = 30
CADENCE_S = 40
NS = 1_000_000_000
RAW_DIMENSIONS = ("instrument", "detector", "exposure")
RAW_STORAGE_CLASS = "NumpyArray"

#: Targets from the design review; every record that has one reports ``meets_target``.
TARGETS: dict[str, tuple[str, str, float]] = {
    "register": ("rate_per_s", ">=", 20_000),
    "query": ("seconds", "<", 1.0),
    "query_tracemalloc": ("peak_mb", "<", 300),
    "query_rss": ("rss_growth_mb", "<", 300),
    "import quanta.cli": ("seconds", "<", 0.3),
    "import quanta.cli.main": ("seconds", "<", 0.1),
    "import quanta.butler": ("seconds", "<", 0.2),
    "create": ("seconds", "<", 0.030),
    "put_single": ("rate_per_s", ">=", 3_000),
    "get_single": ("rate_per_s", ">=", 3_000),
}


def emit(record: Mapping[str, Any]) -> None:
    """Print one JSON object on its own line and flush, so partial output is usable."""
    print(json.dumps(record, default=str), flush=True)


def log(message: str) -> None:
    """Progress messages go to stderr; stdout holds only JSON lines."""
    print(message, file=sys.stderr, flush=True)


@contextmanager
def stopwatch() -> Iterator[dict[str, float]]:
    """``with stopwatch() as t: ...`` then ``t["seconds"]``."""
    result: dict[str, float] = {}
    start = time.perf_counter()
    try:
        yield result
    finally:
        result["seconds"] = time.perf_counter() - start


def summarize(
    bench: str,
    stage: str,
    runs: Sequence[Mapping[str, Any]],
    *,
    count: int | None = None,
    target: str | None = None,
    **fixed: Any,
) -> dict[str, Any]:
    """One output record: medians of every measured number over the runs, the runs' seconds,
    ``count`` and the derived ``rate_per_s``, and the comparison with ``TARGETS[target]``."""
    record: dict[str, Any] = {"bench": bench, "stage": stage, **fixed}
    measured = [k for k in runs[0] if isinstance(runs[0][k], int | float)]
    for key in measured:
        values = [run[key] for run in runs]
        record[key] = _round(statistics.median(values))
        record[f"{key}_runs" if key != "seconds" else "runs"] = [_round(v) for v in values]
    record["repeat"] = len(runs)
    if count is not None:
        record["count"] = count
        seconds = statistics.median(run["seconds"] for run in runs)
        record["rate_per_s"] = round(count / seconds, 1) if seconds > 0 else None
    spec = TARGETS.get(target) if target else None
    if spec is not None:
        metric, op, value = spec
        actual = record.get(metric)
        record["target"] = {"metric": metric, "op": op, "value": value}
        record["meets_target"] = (
            None if actual is None else (actual >= value if op == ">=" else actual < value)
        )
    return record


def _round(value: float) -> float:
    return round(value, 6) if isinstance(value, float) else value


def repeat_runs(repeat: int, fn: Callable[[], Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Call ``fn`` ``repeat`` times and collect what it measured."""
    return [dict(fn()) for _ in range(repeat)]


def python_child(code: str, *args: str, timeout: float = 600) -> tuple[str, float]:
    """Run ``python -c code args`` in a fresh interpreter; its stdout and the wall seconds."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise ChildError(tail[0], proc.stderr)
    return proc.stdout, seconds


class ChildError(RuntimeError):
    """A benchmark child process failed; ``args[0]`` is the last line of its stderr."""

    def __init__(self, summary: str, stderr: str) -> None:
        super().__init__(summary)
        self.stderr = stderr


_IMPORT_CODE = """
import importlib, sys, time
start = time.perf_counter()
module = importlib.import_module(sys.argv[1])
print(time.perf_counter() - start, getattr(module, "__file__", None) is None)
"""


def time_import(module: str) -> dict[str, Any]:
    """Import ``module`` in a fresh interpreter: the import's own seconds (measured inside
    the child), the wall seconds of the whole process, and whether it is an empty
    namespace package (a directory without ``__init__.py``)."""
    out, wall = python_child(_IMPORT_CODE, module)
    seconds, namespace = out.split()
    return {"seconds": float(seconds), "process_seconds": wall, "namespace": namespace == "True"}


# -- W1 universe content -------------------------------------------------------------------


def tai_ns(day: datetime.date, seconds: int = 0) -> int:
    """TAI nanoseconds of ``day`` 00:00 (TAI) plus ``seconds``."""
    epoch = datetime.date(1970, 1, 1)
    return ((day - epoch).days * 86_400 + seconds) * NS


def night(index: int) -> tuple[datetime.date, int]:
    """The date of night ``index`` (0-based) and its day_obs integer YYYYMMDD."""
    day = FIRST_NIGHT + datetime.timedelta(days=index)
    return day, int(day.strftime("%Y%m%d"))


def exposure_ids(n_exposures: int) -> list[int]:
    """IDs of the first ``n_exposures`` exposures: ``day_obs * 100000 + seq``."""
    ids = []
    for i in range(n_exposures):
        _, day_obs = night(i // EXPOSURES_PER_NIGHT)
        ids.append(day_obs * 100_000 + i % EXPOSURES_PER_NIGHT + 1)
    return ids


def universe_records(n_exposures: int) -> list[tuple[str, list[dict[str, Any]]]]:
    """W1 dimension records in insertion order: instrument, band, physical_filter, detector,
    day_obs and ``n_exposures`` science exposures (filters cycling g, r, i by exposure)."""
    from quanta.core import Timespan

    n_nights = -(-n_exposures // EXPOSURES_PER_NIGHT)
    day_obs_records = []
    for k in range(n_nights):
        day, day_obs = night(k)
        # An observing night runs from noon to noon (TAI, for simplicity).
        span = Timespan(tai_ns(day, 12 * 3600), tai_ns(day, 36 * 3600))
        day_obs_records.append({"instrument": INSTRUMENT, "id": day_obs, "timespan": span})
    exposures = []
    for i in range(n_exposures):
        day, day_obs = night(i // EXPOSURES_PER_NIGHT)
        seq = i % EXPOSURES_PER_NIGHT + 1
        begin = tai_ns(day, 20 * 3600 + (seq - 1) * CADENCE_S)
        exposures.append(
            {
                "instrument": INSTRUMENT,
                "id": day_obs * 100_000 + seq,
                "obs_id": f"{INSTRUMENT}_{day_obs}_{seq:06d}",
                "physical_filter": f"{INSTRUMENT}-{BANDS[i % len(BANDS)]}",
                "day_obs": day_obs,
                "exposure_time": float(EXPOSURE_S),
                "dark_time": float(EXPOSURE_S),
                "observation_type": "science",
                "seq_num": seq,
                "timespan": Timespan(begin, begin + EXPOSURE_S * NS),
            }
        )
    return [
        ("instrument", [{"name": INSTRUMENT, "detector_max": len(DETECTORS)}]),
        ("band", [{"name": b} for b in BANDS]),
        (
            "physical_filter",
            [{"instrument": INSTRUMENT, "name": f"{INSTRUMENT}-{b}", "band": b} for b in BANDS],
        ),
        ("detector", [{"instrument": INSTRUMENT, "id": d} for d in DETECTORS]),
        ("day_obs", day_obs_records),
        ("exposure", exposures),
    ]


def raw_data_ids(n_exposures: int) -> Iterator[dict[str, Any]]:
    """Data IDs of every raw: each exposure times each detector."""
    for exposure in exposure_ids(n_exposures):
        for detector in DETECTORS:
            yield {"instrument": INSTRUMENT, "detector": detector, "exposure": exposure}
