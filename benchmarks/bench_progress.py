"""What progress reporting costs per item: ``tracked`` over N items (default 1,000,000).

Stages: ``bare`` (a loop over the items), ``silent`` (``tracked`` with no callback, as a
library call without progress), ``lines`` (a ``StepProgress`` off a terminal: a plain line
every ten seconds) and ``bar`` (a ``StepProgress`` on a terminal: a rich bar, redrawn at
most every ``BAR_SECONDS``, drawn into memory). ``overhead_us`` is the stage's time per
item over ``bare``'s; the target, under 2 microseconds, keeps progress out of the cost of
any step whose items are files (reading a header or a checksum takes milliseconds).
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable
from typing import Any

from common import emit, log, stopwatch, summarize

from quanta.core.progress import ProgressCallback, tracked
from quanta.exec.progress import StepProgress

#: Most microseconds per item that progress may add.
TARGET_US = 2.0


class _Terminal(io.StringIO):
    """A stream that says it is a terminal, so that rich draws bars on it."""

    def isatty(self) -> bool:
        return True


def _loop(n: int, progress: ProgressCallback | None, wrap: bool) -> None:
    items = tracked(range(n), progress, "items", n) if wrap else range(n)
    for _ in items:
        pass


def _stage(n: int, make: Callable[[], StepProgress | None], wrap: bool) -> dict[str, Any]:
    shown = make()
    with stopwatch() as t:
        _loop(n, shown, wrap)
    if shown is not None:
        shown.close()
    return dict(t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="items per step")
    parser.add_argument("--repeat", type=int, default=3, help="runs per stage (median reported)")
    args = parser.parse_args()
    stages: dict[str, tuple[Callable[[], StepProgress | None], bool]] = {
        "bare": (lambda: None, False),
        "silent": (lambda: None, True),
        "lines": (lambda: StepProgress(True, io.StringIO()), True),
        "bar": (lambda: StepProgress(True, _Terminal()), True),
    }
    bare = None
    for stage, (make, wrap) in stages.items():
        log(f"progress: {stage} x {args.n}")
        runs = [_stage(args.n, make, wrap) for _ in range(args.repeat)]
        record = summarize("progress", stage, runs, count=args.n)
        if bare is None:
            bare = record["seconds"]
        else:
            overhead = (record["seconds"] - bare) / args.n * 1e6
            record["overhead_us"] = round(overhead, 3)
            record["target"] = {"metric": "overhead_us", "op": "<", "value": TARGET_US}
            record["meets_target"] = overhead < TARGET_US
        emit(record)


if __name__ == "__main__":
    main()
