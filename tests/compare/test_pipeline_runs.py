"""``compare`` on quanta's own runs: parity between executors and between the three PTC
designs, and a one-pixel change traced through the PTC.

One repository (the ``quick`` preset through ``quanta.demo.run_calibration_flow``, every
step inline) is shared by the module; its PTC run (``ptc_pairs``, one process) is the
reference the other runs are compared with.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pytest

from quanta.butler import Butler
from quanta.compare import (
    CompareOptions,
    ImageDiff,
    StructuredDiff,
    TableDiff,
    compare_collections,
)
from quanta.cp.headers import amp_sections
from quanta.demo import CALIB, RAW, run_calibration_flow
from quanta.exec import ExecutionSettings
from quanta.exec.workflow import run_pipeline
from quanta.graph.planning import RunRequest

FLATS = "exposure.observation_type = 'flat'"
PAIRS = "group.system = 'flatPairs'"
#: What one ptc_pairs run writes, with the number of datasets (2 detectors, 6 pairs each).
PTC_PAIRS_OUTPUTS = {
    "isr_config": 1,
    "postISRCCD": 24,
    "ptc": 2,
    "ptcExtractPair_config": 1,
    "ptcPair": 12,
    "ptcPlot": 2,
    "ptcSolve_config": 1,
}
TIMINGS = [
    f"{task}_{kind}"
    for task in ("isr", "ptcExtractPair", "ptcSolve")
    for kind in ("log", "metadata")
]


@dataclass
class Repo:
    """The shared repository and the reference PTC run (ptc_pairs, one process)."""

    butler: Butler
    reference: str


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repo]:
    root = tmp_path_factory.mktemp("parity")
    flow = run_calibration_flow(root, design="pairs", preset="quick", processes=1)
    butler = Butler(flow.repo)
    yield Repo(butler, flow.ptc_collection)
    butler.close()


def run(
    butler: Butler,
    pipeline: str,
    output: str,
    where: str,
    processes: int = 1,
    inputs: Sequence[str] = (RAW, CALIB),
) -> str:
    request = RunRequest(output, pipeline, list(inputs), where)
    report = run_pipeline(butler, request, ExecutionSettings(), processes)
    assert report.ok, report.failures
    return report.run


def test_one_process_and_two_processes_give_identical_datasets(repo: Repo) -> None:
    parallel = run(repo.butler, "ptc_pairs", "u/test/pairs-j2", FLATS, processes=2)
    report = compare_collections(repo.butler, repo.reference, repo.butler, parallel)
    assert report.status == "identical" and not report.differs
    counts = {s.name: (s.n_a, s.n_b, s.n_identical) for s in report.dataset_types}
    assert counts == {name: (n, n, n) for name, n in PTC_PAIRS_OUTPUTS.items()}
    # Logs and metadata are left out by default because they hold timings: named, they differ.
    assert report.skipped_types == sorted(TIMINGS)
    timed = compare_collections(
        repo.butler, repo.reference, repo.butler, parallel, ["ptcSolve_metadata"]
    )
    assert timed.summary("ptcSolve_metadata").n_different == 2


def test_the_three_pairwise_designs_give_identical_curves(repo: Repo) -> None:
    runs = {
        "pairs": repo.reference,
        "groups": run(repo.butler, "ptc_groups", "u/test/groups", PAIRS),
        "inline": run(repo.butler, "ptc_inline", "u/test/inline", FLATS),
    }
    for first, second in combinations(runs, 2):
        report = compare_collections(
            repo.butler, runs[first], repo.butler, runs[second], ["ptc", "ptcPlot", "postISRCCD"]
        )
        ptc = report.summary("ptc")
        assert (ptc.status, ptc.n_identical) == ("identical", 2), (first, second)
        assert report.summary("ptcPlot").n_identical == 2
        assert report.summary("postISRCCD").n_identical == 24
        assert report.status == "identical"


def test_a_one_ulp_change_of_one_pixel_is_traced_to_one_amplifier(repo: Repo) -> None:
    """One pixel of one ISR'd flat goes up by one float32 step (``np.nextafter``): at
    about 2,100 ADU that is 2.4e-4 ADU, a relative change of 1.2e-7. A relative change
    of 1e-8 would be below float32 resolution (about 6e-8) and round back to the same
    value. The step survives the pair measurement, whose means are float64 sums: the
    amplifier's row of that pair's ``ptcPair`` table changes (its means, and with them
    the covariances), then that amplifier's fit in ``ptc``; nothing else does (the plot
    cannot show a change this small)."""
    butler = repo.butler
    ref = butler.query_datasets("postISRCCD", [repo.reference], where="detector = 1")[3]
    exposure = int(ref.data_id["exposure"])
    flat = butler.get(ref)
    section = amp_sections(flat.header)["C01"]
    y, x = (section.y0 + section.y1) // 2, (section.x0 + section.x1) // 2
    before = flat.image[y, x]
    flat.image[y, x] = np.nextafter(before, np.float32(np.inf))
    step = float(flat.image[y, x]) - float(before)
    assert 0 < step / before < 2e-7
    butler.put(flat, ref.dataset_type, ref.data_id, run="u/test/perturbed")
    rerun = run(
        butler,
        "ptc_pairs#ptcExtractPair,ptcSolve",
        "u/test/perturbed-ptc",
        FLATS,
        inputs=["u/test/perturbed", repo.reference],
    )
    assert butler.get_collection_chain("u/test/perturbed-ptc")[:2] == [rerun, "u/test/perturbed"]

    report = compare_collections(
        butler,
        repo.reference,
        butler,
        "u/test/perturbed-ptc",
        ["postISRCCD", "ptcPair", "ptc", "ptcPlot"],
        options=CompareOptions(match_columns=("amp",)),
    )
    changed = {s.name: [d.data_id for d in s.datasets] for s in report.dataset_types}
    pair = next(
        r.data_id.extras["pair"]
        for r in butler.query_datasets("ptcPair", [rerun], where="detector = 1")
        if str(exposure) in r.data_id.extras["pair"].split("+")
    )
    assert changed == {
        "postISRCCD": [ref.data_id.key()],
        "ptcPair": [f"instrument=SimCam,detector=1,pair={pair}"],
        "ptc": ["instrument=SimCam,detector=1"],
        "ptcPlot": [],
    }
    assert all(s.n_a == s.n_b == s.n_identical + len(s.datasets) for s in report.dataset_types)

    image = report.summary("postISRCCD").datasets[0].detail
    assert isinstance(image, ImageDiff) and image.n_header_differ == 0
    pixels, mask, variance = image.planes
    assert (pixels.n_differ, pixels.n_total) == (1, flat.image.size)
    assert pixels.differing_at == [[y, x]] and pixels.max_abs_at == [y, x]
    assert pixels.max_abs == step
    assert mask.status == variance.status == "identical"

    table = report.summary("ptcPair").datasets[0].detail
    assert isinstance(table, TableDiff) and table.n_matched == 4
    differing = {c.name: c.rows for c in table.columns if c.status != "identical"}
    which = "mean1" if pair.startswith(str(exposure)) else "mean2"
    assert {which, "mean"} <= differing.keys() <= {which, "mean", "variance", "cov"}
    assert all(rows == ["amp=C01"] for rows in differing.values())

    ptc = report.summary("ptc").datasets[0].detail
    assert isinstance(ptc, StructuredDiff) and ptc.n_paths == len(ptc.paths)
    paths = {d.path for d in ptc.paths}
    assert all(p.startswith("amps.C01.") for p in paths)
    reference = butler.get("ptc", instrument="SimCam", detector=1, collections=[repo.reference])
    index = reference["amps"]["C01"]["pairs"].index(pair)
    assert {"amps.C01.gain", "amps.C01.noise", f"amps.C01.means[{index}]"} <= paths
