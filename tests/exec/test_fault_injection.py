"""Fault injection: ``quanta run`` killed by SIGKILL at random points of a 252-quantum run,
resumed with ``--resume`` until it finishes, on each executor (inline, a process pool, a
local Parsl cluster). The finished run must hold the bytes an uninterrupted run writes,
``quanta verify`` must find nothing wrong (no orphan, no temporary file of a killed
write) and ``quanta report`` must count every quantum once, done or already done.

The kill points come from a seeded generator (``QUANTA_FAULT_SEED`` overrides the seed)
and every assertion names the seed, so a failure reproduces.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from exec import conftest
from exec.conftest import PIPELINE, make_graph, raw_value
from exec.drivers import Drivers, kill, poll, write_site
from quanta.butler import Butler
from quanta.cli.main import cli
from quanta.exec import InlineExecutor, execute
from repo_data import INSTRUMENT, NIGHT, exposure_timespan

SEED = int(os.environ.get("QUANTA_FAULT_SEED", "1207"))
EXPOSURES = range(100, 160)
DETECTORS = (0, 1, 2, 3)
#: One calexp quantum per raw: those above and the test repository's own.
CALEXPS = len(EXPOSURES) * len(DETECTORS) + len(conftest.EXPOSURES) * len(conftest.DETECTORS)
QUANTA_IN_RUN = CALEXPS + len(DETECTORS)
#: Options of each executor, and how many times its driver is killed (each kill but the
#: first of a resumed driver): a Parsl driver takes seconds to start its cluster, and a
#: resumed one waits out the killed one's grace period, so it is killed once.
EXECUTORS = {
    "inline": (["-j", "1"], 2),
    "pool": (["-j", "2"], 2),
    "parsl": (["-j", "1", "--executor", "parsl", "--site", "{site}"], 1),
}


@pytest.fixture
def drivers() -> Iterator[Drivers]:
    with Drivers() as started:
        yield started


@pytest.fixture
def big_repo(sqlite_repo: Butler) -> Butler:
    """The test repository with 60 more exposures and their raws on four detectors."""
    butler = sqlite_repo
    butler.insert_dimension_records(
        "exposure",
        [
            {
                "instrument": INSTRUMENT, "id": e, "obs_id": f"CAM_{NIGHT}_{e:04d}",
                "seq_num": e, "physical_filter": f"{INSTRUMENT}-g", "day_obs": NIGHT,
                "exposure_time": 30.0, "dark_time": 30.0, "observation_type": "science",
                "timespan": exposure_timespan(e),
            }
            for e in EXPOSURES
        ],
    )  # fmt: skip
    butler.register_dataset_type("raw", ["instrument", "detector", "exposure"], "NumpyArray")
    butler.put_many(
        [
            (raw_value(e, d), {"instrument": INSTRUMENT, "detector": d, "exposure": e})
            for e in EXPOSURES
            for d in DETECTORS
        ],
        "raw",
        run="raw",
    )
    return butler


def _output_bytes(butler: Butler, collection: str) -> dict[str, bytes]:
    """The bytes of every calexpLike and summary file of a collection, by data ID."""
    return {
        f"{name} {ref.data_id}": butler.datastore.path(butler._stored(ref)).read_bytes()
        for name in ("calexpLike", "summary")
        for ref in butler.query_datasets(name, [collection])
    }


#: The files of the uninterrupted run, by data ID; every test's repository holds the same
#: raws, so it is made once.
_REFERENCE: dict[str, bytes] = {}


def _uninterrupted(butler: Butler) -> dict[str, bytes]:
    """The files an uninterrupted inline run of the pipeline writes, by data ID."""
    if not _REFERENCE:
        graph = make_graph(butler, "reference/run", output="reference")
        assert execute(butler, graph, InlineExecutor()).ok
        _REFERENCE.update(_output_bytes(butler, "reference"))
    return _REFERENCE


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _invoke(*args: object) -> Result:
    """A ``quanta`` command run in this process (no interpreter to start)."""
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.mark.parametrize("executor", list(EXECUTORS))
def test_killed_and_resumed_run_equals_an_uninterrupted_one(
    big_repo: Butler, drivers: Drivers, tmp_path: Path, executor: str
) -> None:
    rng = random.Random(f"{SEED}-{executor}")
    site = write_site(tmp_path / "site.yaml")
    counter, log = tmp_path / "started.txt", tmp_path / "driver.log"
    root, output = big_repo.root, f"out/{executor}"
    command = [
        "run", str(root), "-p", str(PIPELINE), "-i", "raw", "-o", output, "--no-progress",
        "-c", f"calexp:counter={counter}",
        *(arg.format(site=site) for arg in EXECUTORS[executor][0]),
    ]  # fmt: skip
    kills = []
    for number in range(EXECUTORS[executor][1]):
        started = _lines(counter)
        target = started + rng.randint(1, CALEXPS // 2)
        driver = drivers.start([*command, *["--resume"] * (number > 0)], log)
        poll(lambda t=target, d=driver: _lines(counter) >= t or d.poll() is not None, 300)
        time.sleep(rng.uniform(0.0, 0.5))
        if driver.poll() is None:
            kill(driver)
            kills.append(_lines(counter) - started)
        where = f"seed {SEED}, {executor}, kill {number + 1} after {kills} quanta started"
        assert driver.returncode in (0, -9), f"{where}: {log.read_text()}"

    resumed = drivers.start([*command, "--resume"], log)
    assert poll(lambda: resumed.poll() is not None, 300), f"{where}: {log.read_text()}"
    assert resumed.returncode == 0, f"{where}: {log.read_text()}"
    assert kills, f"{where}: no driver was killed"

    expected = _uninterrupted(big_repo)
    assert len(expected) == QUANTA_IN_RUN
    assert _output_bytes(big_repo, output) == expected, where

    verified = _invoke("verify", root)
    assert verified.exit_code == 0, f"{where}: {verified.output}"
    for problem in ("missing", "corrupt", "orphans", "temporaries"):
        assert f"{problem}: 0\n" in verified.stdout, f"{where}: {verified.stdout}"

    report = _invoke("report", root, output, "--format", "json")
    assert report.exit_code == 0, f"{where}: {report.output}"
    summary = json.loads(report.stdout)
    assert summary["failures"] == [], f"{where}: {report.stdout}"
    counts = {task.pop("task"): task for task in summary["tasks"]}
    assert set(counts) == {"calexp", "summary"}, report.stdout
    for label, n in (("calexp", CALEXPS), ("summary", len(DETECTORS))):
        done = {status: k for status, k in counts[label].items() if k}
        assert set(done) <= {"done", "skipped_existing"}, f"{where}: {label} {done}"
        assert sum(done.values()) == n, f"{where}: {label} {done}"
