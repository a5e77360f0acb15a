"""Pairing flats by measured signal, for a lamp that drifts 2 % between the flats of one
exposure time, run by ``quanta run`` in steps (ISR and flatStats, then the pairs and the
fit) in one run; against pairing by exposure time on the same raws.

One detector of two 200 x 200 amplifiers, 22 exposure times of 3 flats each (one
saturated, one half lit): the fit's gain error is about 0.34 % per amplifier (its own
``gain_err``), so the 0.5 % bound is about 1.5 sigma; a 3-sigma bound would need four
times the pixels, too slow for a unit test.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from astropy.io import fits
from click.testing import CliRunner

from quanta.butler import Butler
from quanta.cli.main import cli
from quanta.core.errors import DatasetNotFoundError
from quanta.core.timespan import Timespan
from quanta.demo import CALIB, RAW, _register
from quanta.exec import ExecutionSettings, InlineExecutor
from quanta.exec.driver import ExecutionReport
from quanta.exec.reports import lineage_trees
from quanta.exec.workflow import run_pipeline
from quanta.graph.builder import build_graph
from quanta.graph.output_checks import RunMismatchError
from quanta.graph.planning import RunRequest
from quanta.graph.steps import first_step
from quanta.instruments.groups import define_groups
from quanta.instruments.ingest import ingest_raws
from quanta.pipe.pipeline import Pipeline
from quanta.sim import simulate

DRIFT = 0.02
FLATS = "exposure.observation_type = 'flat'"


def _run(
    butler: Butler, pipeline: str, inputs: list[str], output: str, where: str, **kw: Any
) -> ExecutionReport:
    request = RunRequest(output, pipeline, inputs, where, overrides=kw.pop("overrides", ()))
    report = run_pipeline(butler, request, ExecutionSettings(), executor=InlineExecutor())
    assert report.ok, report.failures
    return report


@pytest.fixture(scope="module")
def drifting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Butler, dict[str, Any]]]:
    """A repository of the drifting night with its master bias and dark certified."""
    root = tmp_path_factory.mktemp("drift")
    summary = simulate(
        root / "raws",
        "ptc",
        detectors=1,
        amps=2,
        lamp_drift=DRIFT,
        photodiode=True,
    )
    butler = Butler.create(root / "repo")
    _register(butler, "SimCam", None)
    ingest_raws(butler, [root / "raws"])
    for calibration in ("bias", "dark"):
        inputs = [RAW] if calibration == "bias" else [RAW, CALIB]
        where = f"exposure.observation_type = '{calibration}'"
        run = _run(butler, f"cp_{calibration}", inputs, f"u/{calibration}", where).run
        butler.certify(CALIB, butler.query_datasets(calibration, [run]), Timespan(None, None))
    yield butler, json.loads(summary.truth_path.read_text())
    butler.close()


def _pairs(butler: Butler, run: str) -> list[dict[str, Any]]:
    return [
        row
        for ref in butler.query_datasets("ptcPair", [run])
        for row in butler.get(ref).to_pylist()
    ]


def _gains(butler: Butler, run: str) -> dict[str, tuple[float, float]]:
    (ref,) = butler.query_datasets("ptc", [run])
    return {amp: (fit["gain"], fit["gain_err"]) for amp, fit in butler.get(ref)["amps"].items()}


@pytest.fixture(scope="module")
def signal_run(
    drifting: tuple[Butler, dict[str, Any]],
) -> tuple[ExecutionReport, Counter[str]]:
    """``ptc_signal`` run by one call, counting the FITS files opened (by name)."""
    butler, _ = drifting
    opened: Counter[str] = Counter()
    real_open = fits.open

    def counting_open(name: Any, *args: Any, **kwargs: Any) -> Any:
        opened[Path(str(name)).name] += 1
        return real_open(name, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fits, "open", counting_open)
        report = _run(butler, "ptc_signal", [RAW, CALIB], "u/signal", FLATS)
    return report, opened


def test_pairs_by_signal_match_where_pairs_by_time_do_not(
    drifting: tuple[Butler, dict[str, Any]], signal_run: tuple[ExecutionReport, Counter[str]]
) -> None:
    butler, truth = drifting
    report, opened = signal_run
    # One command, one run: ISR and flatStats ran, then the pairs and the fit.
    assert report.counts["flatStats"]["done"] == 66
    assert report.counts["ptcSolve"]["done"] == 1
    # Each raw was read once (by ISR); each ISR'd image once by flatStats and at most
    # once more by its pair.
    raws = [name for name in opened if name.startswith("raw_")]
    assert len(raws) == 66 and all(opened[name] == 1 for name in raws)
    images = [name for name in opened if name.startswith("postISRCCD")]
    assert len(images) == 66 and all(1 <= opened[name] <= 2 for name in images)

    # Provenance: each pair's quantum read the statistics that made the pair.
    pair_ref = butler.query_datasets("ptcPair", [report.run])[0]
    (tree,) = lineage_trees(butler, [pair_ref.id])
    read = [node["dataset_type"] for node in tree["produced_by"]["inputs"]]
    assert sorted(read) == ["flatStats", "flatStats", "postISRCCD", "postISRCCD"]
    by_signal = _pairs(butler, report.run)
    time_run = _run(butler, "ptc_pairs", [RAW, CALIB], "u/time", FLATS).run
    by_time = _pairs(butler, time_run)
    lamp = {e["expid"]: e["signal"] for e in truth["exposures"]}

    def mismatch(row: dict[str, Any]) -> float:
        signals = lamp[row["exposure1"]], lamp[row["exposure2"]]
        return max(signals) / min(signals) - 1

    unsaturated = [r for r in by_time if r["mean"] is not None and r["flag"] == ""]
    assert unsaturated and all(mismatch(r) == pytest.approx(DRIFT) for r in unsaturated)
    assert by_signal and all(mismatch(r) == 0 for r in by_signal)
    gains = _gains(butler, report.run)
    amps = truth["detectors"]["0"]["amps"]
    for amp, (gain, error) in gains.items():
        assert gain == pytest.approx(amps[amp]["gain"], rel=0.005), (amp, gain, error)
        assert error < 0.005 * gain
    # The flux-scaled difference cancels a mismatch to first order (2 % changes a pair's
    # variance by 1e-4), so pairing by time does not bias the gain beyond its error here.
    for amp, (gain, error) in _gains(butler, time_run).items():
        assert gain == pytest.approx(amps[amp]["gain"], abs=3 * error)


def test_define_groups_by_signal_reads_the_statistics_of_a_collection(
    drifting: tuple[Butler, dict[str, Any]], signal_run: tuple[ExecutionReport, Counter[str]]
) -> None:
    butler, _ = drifting
    report, _ = signal_run
    made = {row["pair"] for row in _pairs(butler, report.run)}
    by_signal = define_groups(
        butler, "bySignal", rule="flat-pairs --by-signal 0.005", stats=["u/signal"]
    )
    by_diode = define_groups(butler, "byDiode", rule="flat-pairs --by-photodiode 0.005")
    by_time = define_groups(butler, "byTime", rule="flat-pairs")
    assert by_signal.system.rule == "flat-pairs --by-signal 0.005"
    # The same pairs as the pipeline made; the saturated flats have no signal (all
    # masked), so their pair is made by photodiode charge and by exposure time only.
    signal_groups = set(butler.registry.query_group_members("SimCam", "bySignal"))
    assert made == signal_groups and by_signal.new == 21
    diode_groups = set(butler.registry.query_group_members("SimCam", "byDiode"))
    assert signal_groups < diode_groups and by_diode.new == by_time.new == 22
    assert not diode_groups & set(butler.registry.query_group_members("SimCam", "byTime"))


def test_pairing_by_signal_without_statistics_is_one_clear_line(
    drifting: tuple[Butler, dict[str, Any]],
) -> None:
    butler, _ = drifting
    result = CliRunner().invoke(
        cli,
        [
            "define-groups",
            str(butler.root),
            "--system",
            "nostats",
            "--rule",
            "flat-pairs --by-signal 0.01",
            "--stats",
            "u/nothing",
        ],
    )
    assert result.exit_code == 2
    assert "no flatStats to pair by signal" in result.output
    assert "u/nothing" in result.output and "Traceback" not in result.output


def test_building_the_whole_graph_at_once_says_to_run_in_steps(
    drifting: tuple[Butler, dict[str, Any]],
) -> None:
    butler, _ = drifting
    pipeline = Pipeline.load("ptc_signal").resolve(butler.universe)
    step = first_step(pipeline)
    assert step is not None and step.labels == ["isr", "flatStats"]
    with pytest.raises(DatasetNotFoundError, match="does not exist yet; run the pipeline with"):
        build_graph(butler, pipeline, [RAW, CALIB], "u/at-once/run", where=FLATS)


def test_a_run_in_steps_resumes_and_refuses_changed_configs(
    drifting: tuple[Butler, dict[str, Any]], signal_run: tuple[ExecutionReport, Counter[str]]
) -> None:
    butler, _ = drifting
    request = RunRequest("u/signal", "ptc_signal", [RAW, CALIB], FLATS)
    again = run_pipeline(butler, request, ExecutionSettings(resume=True), executor=InlineExecutor())
    assert again.ok and again.run == signal_run[0].run
    assert all(counts["done"] == 0 for counts in again.counts.values())
    changed = RunRequest(
        "u/signal", "ptc_signal", [RAW, CALIB], FLATS, overrides=[("flatStats", "bad_mask", [])]
    )
    with pytest.raises(RunMismatchError, match="task flatStats config differs in bad_mask"):
        run_pipeline(butler, changed, ExecutionSettings(resume=True), executor=InlineExecutor())
