"""Import time of quanta's entry points, each in a fresh interpreter.

For every module: the import's own seconds measured inside the child (median of
``--repeat`` fresh processes), the child's whole wall time, and the heaviest top-level
imports it pulls in (from ``python -X importtime``). A ``python -c pass`` record gives
the interpreter's start-up time for reference.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

from common import ChildError, emit, log, python_child, summarize, time_import

MODULES = ("quanta", "quanta.butler.butler", "quanta.cli", "quanta.cli.main")
_IMPORTTIME = re.compile(r"^import time:\s+\d+\s+\|\s+(\d+)\s+\|\s*(\S+)")


def _import_times(code: str) -> dict[str, int]:
    """Cumulative import microseconds of each top-level package while running ``code``."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True
    )
    totals: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match is not None and "." not in match[2]:
            totals[match[2]] = max(totals.get(match[2], 0), int(match[1]))
    return totals


def heaviest_imports(module: str, top: int = 8) -> list[dict[str, object]]:
    """Top-level packages (not quanta's, not the interpreter's start-up ones) by cumulative
    import milliseconds, wherever in the import tree they were first imported."""
    startup = _import_times("pass")
    totals = {
        name: us
        for name, us in _import_times(f"import {module}").items()
        if name not in startup and not name.startswith(("_", "quanta"))
    }
    ranked = sorted(totals.items(), key=lambda kv: kv[1], reverse=True)[:top]
    return [{"package": name, "ms": round(us / 1000, 1)} for name, us in ranked]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, default=7, help="fresh processes per module (at least 5)"
    )
    parser.add_argument("--modules", nargs="+", default=list(MODULES), help="modules to time")
    args = parser.parse_args(argv)
    args.repeat = max(args.repeat, 5)

    baseline = [{"seconds": python_child("pass")[1]} for _ in range(args.repeat)]
    emit(summarize("import", "python -c pass", baseline, note="interpreter start-up"))
    for module in args.modules:
        stage = f"import {module}"
        log(f"bench_import: {module}")
        try:
            runs = [time_import(module) for _ in range(args.repeat)]
        except ChildError as err:
            emit({"bench": "import", "stage": stage, "error": str(err), "skipped": True})
            continue
        extra: dict[str, object] = {"heaviest": heaviest_imports(module)}
        if runs[0].pop("namespace"):
            extra["note"] = "empty namespace package (no __init__.py): nothing to import yet"
        for run in runs[1:]:
            run.pop("namespace")
        emit(summarize("import", stage, runs, target=stage, **extra))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
