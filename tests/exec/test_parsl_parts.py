"""The pieces of cluster execution that run outside the driver: the worker function that
leaves a partial-results trail, and the guard that ties Parsl's interchange to its driver."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from exec.conftest import make_graph
from quanta.butler import Butler
from quanta.exec.factory import JobFactory
from quanta.exec.job import QuantumResult
from quanta.exec.parsl_app import run_jobs


def test_run_jobs_appends_each_result_as_it_finishes(sqlite_repo: Butler, tmp_path: Path) -> None:
    graph = make_graph(sqlite_repo, "out/run", fail_on=[(10, 1)])
    factory = JobFactory(sqlite_repo, graph, graph.header.pipeline, None)
    calexp = graph.task("calexp")
    jobs = [factory.make(calexp.first + i).job for i in range(len(calexp))]
    partial = tmp_path / "partial.jsonl"
    results = run_jobs(jobs, str(partial))
    assert [r.index for r in results] == [job.index for job in jobs]
    assert sorted(r.status for r in results) == ["done"] * 7 + ["failed"]
    lines = partial.read_text().splitlines()
    assert [QuantumResult.from_json(json.loads(line)) for line in lines] == results
    assert run_jobs(jobs[:1])[0].status == "done"  # without a trail: results only


def test_guarded_command_dies_with_its_parent(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            "child = subprocess.Popen([sys.executable, '-m', 'quanta.exec.guard', "
            "'/bin/sleep', '120'])\n"
            f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
            "time.sleep(120)\n",
        ]
    )
    try:
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        child = int(pid_file.read_text())
        while _program(child) != b"/bin/sleep" and time.monotonic() < deadline:
            time.sleep(0.05)  # the guard imports quanta.exec, then becomes sleep
        assert _program(child) == b"/bin/sleep"
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 10
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(child)


def _program(pid: int) -> bytes:
    """The first word of a process's command line (empty while it is being replaced)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return b""


def _running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" and os.path.exists(f"/proc/{pid}")
