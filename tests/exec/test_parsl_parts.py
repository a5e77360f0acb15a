"""The pieces of cluster execution that run outside the driver: the worker function that
leaves a partial-results trail, and the guard that ties Parsl's interchange and worker
pools to their driver."""

from __future__ import annotations

import json
import os
import signal
import socket
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
            "import os, subprocess, sys, time\n"
            "child = subprocess.Popen([sys.executable, '-m', 'quanta.exec.guard', 'parent', "
            "str(os.getpid()), '/bin/sleep', '120'])\n"
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


def test_guard_refuses_to_start_when_its_parent_is_already_gone() -> None:
    # The driver died while the guard was starting: the command must not run orphaned.
    result = subprocess.run(
        [sys.executable, "-m", "quanta.exec.guard", "parent", "1", "/bin/echo", "started"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "started" not in result.stdout
    assert "parent process 1 is gone" in result.stderr


def test_watched_pool_stops_when_the_interchange_port_closes() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    # The "pool" starts a grandchild of its own, in the group the guard made for it.
    pool = "import subprocess, time; subprocess.Popen(['/bin/sleep', '120']); time.sleep(120)"
    guard = subprocess.Popen(
        [sys.executable, "-m", "quanta.exec.guard", "watch", "127.0.0.1", str(port), "1", "3",
         sys.executable, "-c", pool],
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while len(_group_of(guard.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        members = _group_of(guard.pid)
        assert len(members) == 2, members
        time.sleep(4)  # past the threshold: the port was open, so the pool keeps running
        assert guard.poll() is None and all(map(_running, members))
        listener.close()
        closed = time.monotonic()
        guard.wait(timeout=3 + 10)
        assert time.monotonic() - closed >= 2  # it waited for the threshold, give or take
    finally:
        listener.close()
        if guard.poll() is None:
            guard.kill()
            guard.wait()
    assert b"no interchange at port" in guard.stderr.read()  # type: ignore[union-attr]
    assert not any(map(_running, members))


def _group_of(guard: int) -> list[int]:
    """The processes whose parent is ``guard`` or one of its children's, in their group."""
    children = [p for p in _all() if _stat(p)[1] == guard]
    return [p for p in _all() if children and _stat(p)[2] == children[0]]


def _all() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _stat(pid: int) -> tuple[str, int, int]:
    """State, parent and process group of ``pid`` (zeros once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return "X", 0, 0
    return fields[0], int(fields[1]), int(fields[2])


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
