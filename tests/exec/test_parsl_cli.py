"""``quanta run --executor parsl`` as a user runs it: the driver killed by SIGKILL half
way and the run finished with ``--resume``; bad sites, an unreachable database and
refused options stopped before any work starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from click.testing import CliRunner, Result

from exec.conftest import PIPELINE, make_graph
from quanta.butler import Butler
from quanta.cli.main import cli
from quanta.exec import InlineExecutor, execute

QUANTA = Path(sys.executable).parent / "quanta"
TESTS = Path(__file__).parents[1]


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def _run_command(root: Path, *extra: str) -> list[str]:
    return [
        str(QUANTA), "run", str(root), "-p", str(PIPELINE), "-i", "raw", "-o", "out",
        "--executor", "parsl", "-j", "2", "--no-progress", *extra,
    ]  # fmt: skip


def _environment() -> dict[str, str]:
    """The test tasks must be importable by the driver and by its workers."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH")]))
    return env


def _wait_for_some_recorded(butler: Butler, driver: subprocess.Popen[bytes], counter: Path) -> str:
    """Poll until the driver has recorded two quanta while some have not even started (so
    the kill is half way); the run's name."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and driver.poll() is None:
        runs = [c.name for c in butler.registry.query_collections("out/*")]
        started = len(counter.read_text().splitlines()) if counter.exists() else 0
        if runs and len(butler.registry.query_quanta(runs[0])) >= 2:
            assert started < 8, "every quantum started before two were recorded"
            return runs[0]
        time.sleep(0.1)
    raise AssertionError(f"the driver recorded nothing in time (exit code {driver.poll()})")


def test_driver_killed_half_way_then_resumed(pg_repo: Butler, tmp_path: Path) -> None:
    counter = tmp_path / "attempts.txt"
    config = ["-c", "calexp:delay=2.0", "-c", f"calexp:counter={counter}"]
    driver = subprocess.Popen(
        _run_command(pg_repo.root, *config), env=_environment(), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        run = _wait_for_some_recorded(pg_repo, driver, counter)
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    before = {
        (r.data_id["exposure"], r.data_id["detector"])
        for r in pg_repo.registry.query_quanta(run)
        if r.label == "calexp"
    }
    assert 2 <= len(before) < 8, "the driver must die half way"

    resumed = subprocess.run(
        _run_command(pg_repo.root, *config, "--resume"), env=_environment(),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert f"run: {run}; output: out" in resumed.stdout

    records = pg_repo.registry.query_quanta(run)
    assert len(records) == 10
    assert {r.status for r in records if r.label == "calexp"} <= {"done", "skipped_existing"}
    calexps = pg_repo.query_datasets("calexpLike", run)
    assert len(calexps) == 8 and len({str(r.data_id) for r in calexps}) == 8
    assert len(pg_repo.query_datasets("summary", run)) == 2
    started = [tuple(map(int, line.split())) for line in counter.read_text().splitlines()]
    for exposure, detector in before:  # recorded before the kill: never run again
        assert started.count((exposure, detector)) == 1
    verified = invoke("verify", pg_repo.root)
    assert verified.exit_code == 0, verified.output
    assert "missing: 0" in verified.stdout and "orphans: 0" in verified.stdout

    reference = make_graph(pg_repo, "inline/run", output="inline")
    assert execute(pg_repo, reference, InlineExecutor()).ok
    for ref in calexps:
        (twin,) = pg_repo.query_datasets("calexpLike", "inline/run", where=_where(ref.data_id))
        assert (pg_repo.get(ref) == pg_repo.get(twin)).all()


def _where(data_id: object) -> str:
    values = dict(data_id)  # type: ignore[call-overload]
    return f"exposure = {values['exposure']} AND detector = {values['detector']}"


def test_malformed_site_file_stops_before_any_work(sqlite_repo: Butler, tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text("provider: slurm\npartition: short\nwalltime: two hours\n")
    result = invoke(
        "run", sqlite_repo.root, "-p", PIPELINE, "-i", "raw", "-o", "out",
        "--executor", "parsl", "--site", site,
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {site}:3: field 'walltime': 'two hours' is not HH:MM:SS"
    )
    assert sqlite_repo.registry.find_collection("out") is None
    assert not (sqlite_repo.root / ".parsl").exists()


def test_unreachable_database_stops_before_any_work(pg_repo: Butler) -> None:
    config_path = pg_repo.root / "quanta.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["registry"]["db"] = "postgresql+psycopg://quanta:secret@127.0.0.1:9/nowhere"
    config_path.write_text(yaml.safe_dump(config))
    result = invoke(
        "run", pg_repo.root, "-p", PIPELINE, "-i", "raw", "-o", "out", "--executor", "parsl"
    )
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: cannot connect to postgresql+psycopg://quanta:***@127.0.0.1:9")
    assert "secret" not in line
    assert not (pg_repo.root / ".parsl").exists()


def test_options_parsl_cannot_honour_are_refused(sqlite_repo: Butler) -> None:
    base = ["run", sqlite_repo.root, "-p", PIPELINE, "-i", "raw", "-o", "out"]
    no_parsl = invoke(*base, "--site", "local")
    assert no_parsl.exit_code == 2 and "--site needs --executor parsl" in no_parsl.stderr
    timeout = invoke(*base, "--executor", "parsl", "--timeout", "5")
    assert timeout.exit_code == 2 and "--timeout needs local worker processes" in timeout.stderr
    cluster = invoke(*base, "--executor", "parsl", "--cluster-by", "detecter")
    assert cluster.exit_code == 2 and "cannot cluster by 'detecter'" in cluster.stderr
    assert not (sqlite_repo.root / ".parsl").exists()
    assert sqlite_repo.registry.find_collection("out") is None
