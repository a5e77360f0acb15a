"""The Photon Transfer Curve against simulated truth, and its three pairwise designs.

The ``ptc`` preset (2 detectors x 4 amplifiers of 200 x 200 pixels, 20 flat pairs from
100 e- to 85% of the full well, brighter-fatter on, then a pair saturated everywhere and
one saturated on half of every amplifier) goes through the main job
(``quanta.demo.run_calibration_flow``: ingest, flat pairs as an exclusive group system,
master bias, dark and flat, PTC over groups), then the same repository runs the
task-defined pairs (B3) and in-task pairing (A) pipelines. A zero-noise ``quick``
simulation checks that identical flats give a variance of exactly zero.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from click.testing import CliRunner

from quanta.butler import Butler
from quanta.cli.main import cli
from quanta.core.timespan import Timespan
from quanta.demo import CALIB, RAW, FlowResult, certify_masters, run_calibration_flow
from quanta.exec import ExecutionSettings
from quanta.exec.workflow import run_pipeline
from quanta.graph.builder import build_graph
from quanta.graph.planning import RunRequest
from quanta.instruments import get_instrument
from quanta.instruments.groups.define import define_groups
from quanta.instruments.ingest import ingest_raws
from quanta.pipe.pipeline import Pipeline
from quanta.sim import simulate

FLATS = "exposure.observation_type = 'flat'"
#: 20 pairs of the curve, the saturated one (250 s) and the half-lit one (25 s).
N_PAIRS = 22
#: The full covariance model to lag 2, as ``-c`` options.
FULL_COVARIANCE = (("ptcInline", "model", "full-covariance"), ("ptcInline", "cov_max_lag", "2"))


@dataclass
class Flow:
    """The repository after the flow and the two other designs, with the truth."""

    result: FlowResult
    butler: Butler
    truth: dict[str, Any]
    runs: dict[str, str]

    def ptc(self, design: str, detector: int) -> dict[str, Any]:
        ptc = self.butler.get(
            "ptc", instrument="SimCam", detector=detector, collections=[self.runs[design]]
        )
        assert isinstance(ptc, dict)
        return ptc


def run(butler: Butler, pipeline: str, output: str, where: str, overrides: tuple = ()) -> str:
    request = RunRequest(output, pipeline, [RAW, CALIB], where, overrides=overrides)
    report = run_pipeline(butler, request, ExecutionSettings(), 2)
    assert report.ok, report.failures
    return report.run


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Flow:
    root = tmp_path_factory.mktemp("ptc")
    result = run_calibration_flow(root, design="groups", preset="ptc", processes=2)
    butler = Butler(result.repo)
    runs = {
        "groups": result.ptc_collection,
        "pairs": run(butler, "ptc_pairs", "u/test/pairs", FLATS),
        "inline": run(butler, "ptc_inline", "u/test/inline", FLATS),
        "inline_cov": run(butler, "ptc_inline", "u/test/inline_cov", FLATS, FULL_COVARIANCE),
    }
    truth = json.loads((root / "raws" / "truth.json").read_text())
    return Flow(result, butler, truth, runs)


def test_gain_noise_and_a00_match_the_truth(flow: Flow) -> None:
    # Tolerances: gain 0.5%, a00 10%, read noise 2% from the overscan (5% from the PTC
    # intercept). Each of the 21 measured pairs gives a variance over ~38,000 pixels
    # (0.7% each): the fit gives the gain to ~0.2% and a00 (~2e-6, a 17% effect at the
    # top) to ~5%. The overscan noise averages 32 x 200 pixels of each of 42 flats to
    # ~0.2%; the integer rounding of the raws adds up to ~0.8% to it for the quietest
    # amplifiers (1/12 ADU^2 beside 2-3 ADU of noise).
    assert len(flow.result.amps) == 2 * 4
    for amp in flow.result.amps:
        assert amp.gain == pytest.approx(amp.gain_truth, rel=0.005), amp
        assert amp.a00 == pytest.approx(amp.a00_truth, rel=0.10), amp
        assert amp.noise_overscan == pytest.approx(amp.noise_truth, rel=0.02), amp
        assert amp.noise == pytest.approx(amp.noise_truth, rel=0.05), amp
        assert amp.quality == "good", amp


def test_every_amplifier_recommends_the_overscan_noise(flow: Flow) -> None:
    for detector in (0, 1):
        for fit in flow.ptc("groups", detector)["amps"].values():
            assert fit["read_noise_source"] == "overscan"
            assert fit["read_noise"] == fit["noise_overscan"]
            # Its error: the gain's (0.2-0.3%) and the flats' scatter.
            assert 0 < fit["noise_overscan_err"] < 0.01 * fit["noise_overscan"]


def test_the_three_designs_give_identical_curves(flow: Flow) -> None:
    for detector in (0, 1):
        groups = flow.ptc("groups", detector)
        assert flow.ptc("pairs", detector) == groups
        assert flow.ptc("inline", detector) == groups
        for fit in groups["amps"].values():
            assert fit["n_pairs_used"] >= 15 and len(fit["pairs"]) == N_PAIRS


def test_the_full_covariance_model_runs_in_a_pipeline_on_the_same_points(flow: Flow) -> None:
    """``-c ptcInline:model=full-covariance``: the points are those of eq. 16 (same pairs,
    used, turnoff); every amplifier's eq. 20 fit is good, its gain within 3 of its errors
    (~0.3%; seed 0: up to 0.51% off, where eq. 16 is within 0.32%); a01, a10 and a00
    within 3 of their errors (25-40% of a01 at this size, the Cramer-Rao bound: the 15%
    proof is ``test_ptc_cov_truth.py``, with 800 x 800 pixels per amplifier)."""
    for detector in (0, 1):
        full, plain = flow.ptc("inline_cov", detector), flow.ptc("groups", detector)
        assert full["model"] == "full-covariance"
        truths = flow.truth["detectors"][str(detector)]["amps"]
        for amp, fit in full["amps"].items():
            for key in ("pairs", "used", "turnoff", "flags", "means", "variances"):
                assert fit[key] == plain["amps"][amp][key], key
            cov_fit, truth = fit["covariance_fit"], truths[amp]
            assert cov_fit["quality"] == "good" and fit["quality"] == "good"
            assert abs(fit["gain"] - truth["gain"]) < 3 * fit["gain_err"] < 0.01 * truth["gain"]
            for i, j in ((0, 0), (0, 1), (1, 0)):
                error, true = cov_fit["a_err"][i][j], truth["a"][i][j]
                assert abs(cov_fit["a"][i][j] - true) < 3 * error, (amp, i, j)
                assert error < 0.5 * abs(true), (amp, i, j)


def _pair_of(flow: Flow, exposure_time: float) -> str:
    """The name of the pair of flats taken with ``exposure_time``."""
    records = flow.butler.query_dimension_records("exposure", where=FLATS)
    first, second = sorted(r.id for r in records if r.exposure_time == exposure_time)
    return f"{first}+{second}"


def test_a_saturated_pair_is_a_flagged_point_and_the_curve_goes_on(flow: Flow) -> None:
    saturated = _pair_of(flow, 250.0)
    for design in ("groups", "pairs", "inline"):
        for detector in (0, 1):
            for fit in flow.ptc(design, detector)["amps"].values():
                i = fit["pairs"].index(saturated)
                assert fit["means"][i] is None and fit["variances"][i] is None
                assert fit["used"][i] is False and fit["flags"][i] == "not measured"
                assert fit["pair_flags"][i].startswith("too few usable pixels: 0 <")
    tables = flow.butler.query_datasets("ptcPair", [flow.runs["pairs"]])
    (ref,) = [r for r in tables if r.data_id["pair"] == saturated and r.data_id["detector"] == 0]
    table = flow.butler.get(ref)
    assert (
        table.column("variance").null_count == 4 and table.column("n_pixels").to_pylist() == [0] * 4
    )


def test_a_half_masked_pair_is_measured_used_and_flagged(flow: Flow) -> None:
    half = _pair_of(flow, 25.0)
    for detector in (0, 1):
        for fit in flow.ptc("inline", detector)["amps"].values():
            i = fit["pairs"].index(half)
            assert fit["pair_flags"][i].startswith("partly masked: 5")
            assert fit["used"][i] is True and abs(fit["residuals"][i]) < 0.03
            full = [n for n, f in zip(fit["n_pixels"], fit["pair_flags"], strict=True) if not f]
            assert fit["n_pixels"][i] == pytest.approx(min(full) / 2, rel=0.05)


def test_group_and_task_defined_pair_tables_are_bit_identical(flow: Flow) -> None:
    groups = flow.butler.query_datasets("ptcGroupPair", [flow.runs["groups"]])
    pairs = flow.butler.query_datasets("ptcPair", [flow.runs["pairs"]])
    assert len(groups) == len(pairs) == 2 * N_PAIRS
    by_key = {(r.data_id["detector"], r.data_id["pair"]): r for r in pairs}
    for ref in groups:
        table = flow.butler.get(ref)
        other = flow.butler.get(by_key[(ref.data_id["detector"], ref.data_id["group"])])
        assert isinstance(table, pa.Table) and table.equals(other)
        first, second = (int(e) for e in ref.data_id["group"].split("+"))
        assert table.column("exposure1").to_pylist() == [first] * 4
        assert table.column("exposure2").to_pylist() == [second] * 4


def test_provenance_shows_the_exposures_of_each_pair(flow: Flow) -> None:
    ref = flow.butler.query_datasets("ptcPair", [flow.runs["pairs"]], where="detector = 1")[0]
    first, second = ref.data_id["pair"].split("+")
    result = CliRunner().invoke(cli, ["provenance", str(flow.result.repo), str(ref.id)])
    assert result.exit_code == 0, result.output
    assert f"pair={ref.data_id['pair']}" in result.output
    for exposure in (first, second):
        assert f"postISRCCD {{instrument=SimCam,detector=1,exposure={exposure}}}" in result.output
        assert f"raw {{instrument=SimCam,detector=1,exposure={exposure}}}" in result.output


def test_plots_are_written_per_detector(flow: Flow) -> None:
    assert len(flow.result.plots) == 2
    for path in flow.result.plots:
        assert path.suffix == ".png" and path.read_bytes().startswith(b"\x89PNG")
        assert path.stat().st_size > 20_000


def test_a_group_with_a_missing_member_has_no_work_alone(flow: Flow) -> None:
    groups = flow.butler.query_dimension_records("group", where="group.system = 'flatPairs'")
    first, second = sorted(g.name for g in groups)[0].split("+")
    pipeline = Pipeline.load("ptc_groups").resolve(flow.butler.universe)
    where = f"group.system = 'flatPairs' AND exposure != {second}"
    graph = build_graph(flow.butler, pipeline, [RAW, CALIB], "u/test/missing", where=where)
    assert len(graph.task("ptcExtractGroupPair")) == 2 * (N_PAIRS - 1)
    assert len(graph.task("isr")) == 2 * (2 * N_PAIRS - 1)
    explained = graph.explain()
    assert f"2 dropped by adjust_quantum (group '{first}+{second}' has 1 flat(s)" in explained


def test_zero_noise_pairs_have_exactly_zero_variance(tmp_path: Path) -> None:
    raws = tmp_path / "raws"
    simulate(raws, preset="quick", seed=1, zero_noise=True)
    butler = Butler.create(tmp_path / "repo")
    get_instrument("SimCam").register(butler)
    assert not ingest_raws(butler, [raws]).refused
    certify_masters(butler)
    run_name = run(butler, "ptc_pairs#isr,ptcExtractPair", "u/test/zero", FLATS)
    tables = [butler.get(ref) for ref in butler.query_datasets("ptcPair", [run_name])]
    assert len(tables) == 2 * 6
    for table in tables:
        assert table.column("variance").to_pylist() == [0.0] * 4
        assert all(v == 0.0 for cov in table.column("cov").to_pylist() for v in cov)
        assert min(table.column("mean").to_pylist()) > 0


def flat_exposures(flow: Flow) -> list[int]:
    records = flow.butler.query_dimension_records("exposure", where=FLATS)
    return sorted(r.id for r in records)


def qgraph(flow: Flow, pairs_file: Path) -> Any:
    args = ["qgraph", str(flow.result.repo), "-p", "ptc_pairs#isr,ptcExtractPair"]
    args += ["-i", f"{RAW},{CALIB}", "-o", "u/test/file", "-d", FLATS]
    args += ["-c", f"ptcExtractPair:pairs_file={pairs_file}"]
    return CliRunner().invoke(cli, args)


def test_a_pairs_file_names_the_quanta(flow: Flow, tmp_path: Path) -> None:
    e = flat_exposures(flow)
    path = tmp_path / "pairs.csv"
    path.write_text(f"group,exposures\nlow,{e[0]},{e[1]}\n# a comment\nhigh,{e[-2]},{e[-1]}\n")
    result = qgraph(flow, path)
    assert result.exit_code == 0, result.output
    assert "task 'ptcExtractPair'" in result.output and "4 quanta" in result.output
    path = tmp_path / "pairs.yaml"
    path.write_text(f"groups:\n  - {{name: low, exposures: [{e[0]}, {e[1]}]}}\n")
    pipeline = Pipeline.load("ptc_pairs#isr,ptcExtractPair").with_overrides(
        [("ptcExtractPair", "pairs_file", str(path))]
    )
    graph = build_graph(
        flow.butler, pipeline.resolve(flow.butler.universe), [RAW, CALIB], "u/x", where=FLATS
    )
    extract = graph.task("ptcExtractPair")
    keys = {graph.quantum(extract.first + i).data_id.extras["pair"] for i in range(len(extract))}
    assert keys == {"low"} and len(extract) == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("low,{0},{1},{2}", "pairs.csv:3: pair 'low' has 3 exposure(s); a pair has 2"),
        (
            "low,{0},{1}\nmid,{1},{2}",
            "pairs.csv:4: exposure {1} of pair 'mid' is already in pair 'low'",
        ),
        ("low,{0},{1}\nlow,{2},{3}", "pairs.csv:4: group 'low' is already defined on line 3"),
        ("low,{0},99", "pairs.csv:3: exposure 99 of pair 'low' is not among the flats"),
        ("low,{0},x", "pairs.csv:3: exposure 'x' (column 3) of group 'low' is not an integer id"),
    ],
)
def test_a_bad_pairs_file_is_refused_naming_the_line(
    flow: Flow, tmp_path: Path, body: str, message: str
) -> None:
    e = flat_exposures(flow)
    path = tmp_path / "pairs.csv"
    path.write_text("group,exposures\n\n" + body.format(*e) + "\n")
    before = {c.name for c in flow.butler.registry.query_collections()}
    result = qgraph(flow, path)
    assert result.exit_code == 2
    assert message.format(*e) in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert {c.name for c in flow.butler.registry.query_collections()} == before


def test_pairs_of_two_group_systems_are_refused_naming_both(flow: Flow) -> None:
    define_groups(flow.butler, "flatPairsAgain", rule="flat-pairs", exclusive=True)
    args = ["qgraph", str(flow.result.repo), "-p", "ptc_groups", "-i", f"{RAW},{CALIB}"]
    args += ["-o", "u/test/twice"]
    both = CliRunner().invoke(cli, [*args, "-d", FLATS])
    assert both.exit_code == 2, both.output
    assert len(both.output.strip().splitlines()) == 1
    assert "group systems 'flatPairs' and 'flatPairsAgain'" in both.output
    other = CliRunner().invoke(cli, [*args, "-d", "group.system = 'flatPairsAgain'"])
    assert other.exit_code == 2, other.output
    assert "'flatPairsAgain' (configured: 'flatPairs')" in other.output
    chosen = ["-d", "group.system = 'flatPairsAgain'", "-c", "ptcSolve:group_system=flatPairsAgain"]
    assert CliRunner().invoke(cli, [*args, *chosen]).exit_code == 0


def test_a_certified_ptc_gives_isr_its_gains_and_read_noise(flow: Flow, tmp_path: Path) -> None:
    butler = flow.butler
    calib = "u/test/ptc-calib"
    butler.certify(calib, butler.query_datasets("ptc", [flow.runs["groups"]]), Timespan(None, None))
    pipeline = tmp_path / "isr_ptc.yaml"
    pipeline.write_text(
        "description: ISR with the gains and read noise of a certified PTC\n"
        "tasks:\n  isr:\n    class: quanta.cp.isr.IsrTask\n"
        "    config:\n      do_gains: true\n      connections: {gains: ptc}\n"
    )
    where = "exposure.observation_type = 'science' AND detector = 0"
    request = RunRequest("u/test/isr-ptc", str(pipeline), [RAW, CALIB, calib], where)
    report = run_pipeline(butler, request, ExecutionSettings(), 1)
    assert report.ok, report.failures
    (ref,) = butler.query_datasets("postISRCCD", [report.run])
    header = butler.get(ref).header
    fits = flow.ptc("groups", 0)["amps"]
    for amp, fit in fits.items():
        assert header[f"GAIN {amp}"] == fit["gain"]
    # A PTC amplifier whose fit is suspect is not used to calibrate.
    from quanta.cp.isr import IsrConfig, IsrTask

    suspect = {"amps": {a: {**f, "quality": "noise on its bound"} for a, f in fits.items()}}
    raw = butler.get("raw", ref.data_id, collections=[RAW])
    with pytest.raises(ValueError, match="not fit to calibrate with: noise on its bound"):
        IsrTask(IsrConfig(do_bias=False, do_dark=False, do_flat=False, do_gains=True)).run(
            raw, gains=suspect
        )
