"""Quantum graph building for pairwise processing: option B1 (a group dimension) and B3
(task-defined quanta), at 10,000 flat pairs x 4 detectors.

The script makes one SQLite repository with 20,000 flat exposures (W1's nights of 100
exposures, 50 pairs a night, each pair at its own exposure time) and registers a
``postISRCCD`` ref per exposure and detector (80,000 refs, no files: graph building
needs none). For B1 it also defines the pairs as groups of an exclusive group system.
It then times ``build_graph`` of two-task pipelines, after a warm-up build restricted
to one detector:

* ``b1``: ``PtcGroupPairTask`` per (group, detector) and ``PtcSolveGroupsTask`` per
  detector, selected by ``group.system``: 40,004 quanta;
* ``b3``: ``PtcExtractPairTask``, whose generation hook pairs the flats of each
  detector by the flat-pair rule (``pair=<a>+<b>`` keys), and ``PtcSolveTask``:
  40,004 quanta.

Target (issue 5): each build under 5 s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from common import DETECTORS, INSTRUMENT, emit, exposure_ids, log, stopwatch, universe_records

RUN = "bench/isr"
SYSTEM = "pairs"
PIPELINES = {
    "b1": """\
tasks:
  ptcExtractGroupPair: quanta.cp.ptc_pairs.PtcGroupPairTask
  ptcSolve: quanta.cp.ptc_solve.PtcSolveGroupsTask
""",
    "b3": """\
tasks:
  ptcExtractPair: quanta.cp.ptc_pairs.PtcExtractPairTask
  ptcSolve: quanta.cp.ptc_solve.PtcSolveTask
""",
}
WHERE = {"b1": f"group.system = '{SYSTEM}'", "b3": "exposure.observation_type = 'flat'"}


def flat_records(n_exposures: int) -> list[tuple[str, list[dict[str, Any]]]]:
    """W1's records with every exposure a flat, consecutive pairs sharing a time."""
    records = universe_records(n_exposures)
    for element, rows in records:
        if element == "exposure":
            for i, row in enumerate(rows):
                row["observation_type"] = "flat"
                row["exposure_time"] = row["dark_time"] = 1.0 + (i // 2) % 50
    return records


def populate(root: Path, n_pairs: int) -> None:
    """The repository: records, 80,000 refs without files, and the B1 groups."""
    from quanta.butler import Butler
    from quanta.core import DataCoordinate, DatasetRef

    butler = Butler.create(root)
    for element, rows in flat_records(2 * n_pairs):
        butler.insert_dimension_records(element, rows)
    isr = butler.register_dataset_type(
        "postISRCCD", ["instrument", "detector", "exposure"], "Image"
    )
    butler.registry.register_run(RUN)
    exposures = exposure_ids(2 * n_pairs)
    refs = [
        DatasetRef.for_output(
            isr,
            DataCoordinate.standardize(
                {"instrument": INSTRUMENT, "detector": d, "exposure": e}, isr.dimensions
            ),
            RUN,
        )
        for e in exposures
        for d in DETECTORS
    ]
    butler.registry.insert_datasets(refs)
    pairs = list(zip(exposures[::2], exposures[1::2], strict=True))
    butler.insert_dimension_records(
        "group_system",
        [{"instrument": INSTRUMENT, "name": SYSTEM, "exclusive": True, "group_size": 2}],
    )
    butler.insert_dimension_records(
        "group",
        [
            {"instrument": INSTRUMENT, "group_system": SYSTEM, "name": f"{a}+{b}", "n_members": 2}
            for a, b in pairs
        ],
    )
    butler.registry.insert_join_rows(
        "group_membership",
        [
            {
                "instrument": INSTRUMENT,
                "group_system": SYSTEM,
                "group": f"{a}+{b}",
                "exposure": e,
                "position": i,
            }
            for a, b in pairs
            for i, e in enumerate((a, b))
        ],
    )
    butler.close()


def build(root: Path, design: str, repeat: int) -> dict[str, Any]:
    """Build one design's graph ``repeat`` times; the median and the quanta."""
    from quanta.butler import Butler
    from quanta.graph.builder import build_graph
    from quanta.pipe import Pipeline

    path = root.parent / f"{design}.yaml"
    path.write_text(PIPELINES[design])
    butler = Butler(root)
    pipeline = Pipeline.load(str(path)).resolve(butler.universe)
    build_graph(butler, pipeline, [RUN], "bench/out", f"{WHERE[design]} AND detector = 0")
    seconds, quanta = [], 0
    for _ in range(repeat):
        with stopwatch() as t:
            graph = build_graph(butler, pipeline, [RUN], "bench/out", WHERE[design])
        seconds.append(t["seconds"])
        quanta = len(graph)
    butler.close()
    median = statistics.median(seconds)
    return {
        "bench": "pairs_graph",
        "design": design,
        "quanta": quanta,
        "seconds": round(median, 3),
        "runs": [round(s, 3) for s in seconds],
        "target": {"seconds": ["<", 5.0]},
        "ok": median < 5.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000, help="Flat pairs (x 4 detectors).")
    parser.add_argument("--repeat", type=int, default=3, help="Builds per design (median).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pairs-") as tmp:
        root = Path(tmp) / "repo"
        log(f"populating {args.pairs} pairs x {len(DETECTORS)} detectors")
        with stopwatch() as t:
            populate(root, args.pairs)
        log(f"populated in {t['seconds']:.1f} s")
        for design in PIPELINES:
            emit(build(root, design, args.repeat))


if __name__ == "__main__":
    main()
