"""The whole calibration flow (bias, dark, flat, PTC over groups) on the quick preset meets
the shipped expectations; a narrower range, a failed quantum and allowed failures are
reported precisely.

The four steps are checked at once through a chain of their outputs, newest first, as
the shipped file's header says. The failure is made by deleting one flat's raw file and
running the PTC again into another output, so the flow itself stays intact.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest
from click.testing import CliRunner, Result

from check.conftest import WriteYaml
from quanta.butler import Butler
from quanta.cli.main import cli
from quanta.demo import CALIB, RAW, FlowResult, run_calibration_flow

ALL = "u/demo/all"
STEPS = ("ptc", "flat", "dark", "bias")
BROKEN = "u/demo/broken"


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> FlowResult:
    """The flow, with ``u/demo/all`` chaining the outputs of its four steps."""
    result = run_calibration_flow(
        tmp_path_factory.mktemp("flow"), design="groups", preset="quick", processes=1
    )
    chained = invoke("collection-chain", result.repo, ALL, *(f"u/demo/{s}" for s in STEPS))
    assert chained.exit_code == 0, chained.output
    return result


@dataclass(frozen=True)
class Broken:
    """The PTC run in which the ISR of one flat failed, and what the failure said."""

    run: str
    isr: str
    group: str
    error: str


@pytest.fixture(scope="module")
def broken(flow: FlowResult) -> Broken:
    """Delete the raw file of detector 1 of the first flat of the second pair, then run
    the PTC again into ``u/demo/broken``."""
    butler = Butler(flow.repo)
    try:
        where = "exposure.observation_type = 'flat' AND detector = 1"
        flats = sorted(
            butler.query_datasets("raw", RAW, where=where), key=lambda r: r.data_id["exposure"]
        )
        first, second = (int(r.data_id["exposure"]) for r in flats[2:4])
        Path(url2pathname(urlparse(butler.get_uri(flats[2])).path)).unlink()
        ran = invoke(
            "run", flow.repo, "-p", "ptc_groups", "-i", f"{RAW},{CALIB}", "-o", BROKEN,
            "-d", "group.system = 'flatPairs'", "--no-progress",
        )  # fmt: skip
        assert ran.exit_code == 1, ran.output
        run = butler.get_collection_chain(BROKEN)[0]
        (failed,) = butler.registry.query_quanta(run, statuses=["failed"])
    finally:
        butler.close()
    assert failed.label == "isr" and failed.error.startswith("DatastoreError: cannot read ")
    isr = f"{{instrument=SimCam,detector=1,exposure={first}}}"
    group = f"{{instrument=SimCam,detector=1,group_system=flatPairs,group={first}+{second}}}"
    return Broken(run, isr, group, failed.error.splitlines()[0])


def _step_runs(repo: Path) -> list[str]:
    butler = Butler(repo)
    try:
        return [butler.get_collection_chain(f"u/demo/{step}")[0] for step in STEPS]
    finally:
        butler.close()


def test_the_whole_flow_meets_the_shipped_expectations(flow: FlowResult) -> None:
    result = invoke("check", flow.repo, ALL, "--expect", "calibration_quick")
    assert result.exit_code == 0, result.output
    runs = _step_runs(flow.repo)
    assert runs[0] == flow.ptc_collection
    assert result.stdout.splitlines() == [
        f"graphs checked: {', '.join(runs)}",
        "17 expectations checked, 0 failed",
    ]


def test_a_narrower_range_names_every_value_outside_it(
    flow: FlowResult, write_yaml: WriteYaml
) -> None:
    expect = write_yaml('datasets:\n  ptc:\n    fields:\n      "amps.*.gain": [1.5, 3.0]\n')
    result = invoke("check", flow.repo, ALL, "--expect", expect)
    assert result.exit_code == 1, result.output
    low = [a for a in flow.amps if a.gain < 1.5]
    assert low and len(low) < len(flow.amps)
    assert result.stdout.splitlines()[:-2] == [
        f"ptc {{instrument=SimCam,detector={a.detector}}}: amps.{a.amp}.gain = {a.gain:.6g}, "
        "expected in [1.5, 3]"
        for a in low
    ]
    assert result.stdout.splitlines()[-1] == "6 expectations checked, 1 failed"


def _missing(broken: Broken) -> dict[str, list[str]]:
    """The problems the broken run has, by the task whose outputs they are."""
    run, isr = broken.run, broken.isr
    solve = "{instrument=SimCam,detector=1}"
    blocked = f"was blocked by failed quantum isr {isr}"

    def line(name: str, data_id: str, quantum: str, fate: str) -> str:
        return f"{name} {data_id}: predicted but missing in run {run}; quantum {quantum} {fate}"

    return {
        "isr": [
            line(name, isr, f"isr {isr}", f"failed: {broken.error}")
            for name in ("postISRCCD", "isr_metadata", "isr_log")
        ],
        "ptcExtractGroupPair": [
            line(name, broken.group, f"ptcExtractGroupPair {broken.group}", blocked)
            for name in ("ptcGroupPair", "ptcExtractGroupPair_metadata", "ptcExtractGroupPair_log")
        ],
        "ptcSolve": [
            line(name, solve, f"ptcSolve {solve}", blocked)
            for name in ("ptc", "ptcPlot", "ptcSolve_metadata", "ptcSolve_log")
        ],
    }


def test_a_failed_quantum_is_reported_with_every_quantum_it_blocked(
    flow: FlowResult, broken: Broken
) -> None:
    result = invoke("check", flow.repo, broken.run)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    expected = [problem for problems in _missing(broken).values() for problem in problems]
    assert sorted(lines[:-2]) == sorted(expected)
    assert lines[-2:] == [f"graphs checked: {broken.run}", "1 expectations checked, 1 failed"]


def test_allowed_failures_silence_exactly_the_allowed_quanta(
    flow: FlowResult, broken: Broken, write_yaml: WriteYaml
) -> None:
    exposure = broken.isr.split("exposure=")[1].rstrip("}")
    only_isr = write_yaml(
        "allowed_failures:\n"
        f"  - {{task: isr, data_id: {{detector: 1, exposure: {exposure}}}}}\n"
        "  - {task: ptcExtractGroupPair, data_id: {detector: 0}}\n"
    )
    result = invoke("check", flow.repo, BROKEN, "--expect", only_isr)
    assert result.exit_code == 1, result.output
    missing = _missing(broken)
    blocked = missing["ptcExtractGroupPair"] + missing["ptcSolve"]
    assert sorted(result.stdout.splitlines()[:-2]) == sorted(blocked)

    group = broken.group.split("group=")[1].rstrip("}")
    everything = write_yaml(
        "datasets:\n"
        "  ptc:\n"
        "    min_count: 1\n"
        "    fields: {'amps.*.gain': [1.0, 2.0]}\n"
        "allowed_failures:\n"
        f"  - {{task: isr, data_id: {{detector: 1, exposure: {exposure}}}}}\n"
        f"  - {{task: ptcExtractGroupPair, data_id: '*detector=1,*group={group}'}}\n"
        "  - {task: ptcSolve, data_id: {detector: 1}, reason: its pair is gone}\n"
    )
    result = invoke("check", flow.repo, BROKEN, "--expect", everything)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"graphs checked: {broken.run}",
        "3 expectations checked, 0 failed",
    ]
