"""Quantum provenance on both databases: bulk upserts, queries, lineage, removal."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from quanta.butler import Butler
from quanta.core.data_id import DataCoordinate
from quanta.core.provenance import QuantumOutcome
from quanta.registry.provenance import quantum_id
from repo_data import INSTRUMENT


def _outcome(label: str, data_id: DataCoordinate, **fields: Any) -> QuantumOutcome:
    """A finished quantum with timings and a host, as an executor would record it."""
    defaults: dict[str, Any] = {
        "status": "done",
        "attempts": 1,
        "start_ns": 100,
        "end_ns": 200,
        "host": "node1",
        "peak_memory_bytes": 1 << 20,
    }
    return QuantumOutcome(label, data_id, **{**defaults, **fields})


def _data_id(butler: Butler, exposure: int | None = None, **extras: str) -> DataCoordinate:
    values = {"instrument": INSTRUMENT, "detector": 1}
    if exposure is not None:
        values["exposure"] = exposure
    coordinate = DataCoordinate.standardize(values, universe=butler.universe)
    return coordinate.with_extras(extras) if extras else coordinate


def _chain(butler: Butler) -> tuple[list, list]:
    """raw -> calexp (exposures 5, 6) -> summary, recorded in run ``out``."""
    butler.register_dataset_type("raw", ["instrument", "detector", "exposure"], "NumpyArray")
    raws = [
        butler.put(np.zeros(2), "raw", instrument=INSTRUMENT, detector=1, exposure=e, run="raw")
        for e in (5, 6)
    ]
    butler.register_dataset_type("calexp", ["instrument", "detector", "exposure"], "NumpyArray")
    butler.register_dataset_type("summary", ["instrument", "detector"], "StructuredData")
    calexps = [
        butler.put(np.ones(2), "calexp", instrument=INSTRUMENT, detector=1, exposure=e, run="out")
        for e in (5, 6)
    ]
    summary = butler.put({"n": 2}, "summary", instrument=INSTRUMENT, detector=1, run="out")
    outcomes = [
        _outcome("calexp", _data_id(butler, e), inputs=[raw.id], outputs=[calexp.id])
        for e, raw, calexp in zip((5, 6), raws, calexps, strict=True)
    ]
    outcomes.append(
        _outcome(
            "summary",
            _data_id(butler),
            inputs=[c.id for c in calexps],
            outputs=[summary.id],
        )
    )
    butler.registry.record_quanta("out", outcomes)
    return [*raws, *calexps, summary], outcomes


def test_record_and_query_a_run(butler: Butler) -> None:
    refs, outcomes = _chain(butler)
    raws, calexps, summary = refs[:2], refs[2:4], refs[4]
    provenance = butler.registry._provenance
    assert provenance.summary("out") == {"calexp": {"done": 2}, "summary": {"done": 1}}
    records = provenance.quanta("out")
    assert [(r.label, r.data_id_key) for r in records] == [
        ("calexp", "instrument=Cam,detector=1,exposure=5"),
        ("calexp", "instrument=Cam,detector=1,exposure=6"),
        ("summary", "instrument=Cam,detector=1"),
    ]
    first = records[0]
    assert first.id == quantum_id("out", "calexp", outcomes[0].data_id)
    assert first.data_id == {"instrument": INSTRUMENT, "detector": 1, "exposure": 5}
    assert (first.start_ns, first.end_ns, first.host, first.run) == (100, 200, "node1", "out")
    summary_quantum = provenance.producers([summary.id])[summary.id]
    assert sorted(provenance.inputs_of([summary_quantum])[summary_quantum]) == sorted(
        c.id for c in calexps
    )
    assert provenance.outputs_of([summary_quantum]) == {summary_quantum: [summary.id]}
    assert provenance.producers([r.id for r in raws]) == {}
    assert provenance.statuses("out")[("summary", "instrument=Cam,detector=1")] == "done"


def test_recording_again_updates_and_skipped_never_replaces(butler: Butler) -> None:
    _, outcomes = _chain(butler)
    provenance = butler.registry._provenance
    provenance.record("out", outcomes)
    assert len(provenance.quanta("out")) == 3
    failed = replace(outcomes[0], status="failed", error="boom", outputs=(), attempts=3)
    provenance.record("out", [failed])
    (record,) = provenance.quanta("out", statuses=["failed"])
    assert (record.error, record.attempts) == ("boom", 3)
    assert provenance.outputs_of([record.id]) == {}
    provenance.record("out", [replace(outcomes[1], status="skipped_existing", start_ns=None)])
    (kept,) = provenance.quanta("out", label="calexp", statuses=["done"])
    assert kept.start_ns == 100
    new = _outcome("calexp", _data_id(butler, 7), status="skipped_existing", outputs=[uuid.uuid4()])
    provenance.record("out", [new])
    assert provenance.summary("out")["calexp"] == {"failed": 1, "done": 1, "skipped_existing": 1}
    with pytest.raises(ValueError, match="unknown quantum status 'weird'"):
        provenance.record("out", [replace(outcomes[0], status="weird")])


def test_free_form_keys_are_kept_and_distinguish_quanta(butler: Butler) -> None:
    butler.registry.register_run("pairs")
    provenance = butler.registry._provenance
    one = _data_id(butler, pair="5+6")
    two = _data_id(butler, pair="7+8")
    provenance.record("pairs", [_outcome("ptc", one), _outcome("ptc", two)])
    records = provenance.quanta("pairs")
    assert [r.extras for r in records] == [{"pair": "5+6"}, {"pair": "7+8"}]
    assert records[0].data_id_key == "instrument=Cam,detector=1,pair=5+6"
    assert quantum_id("pairs", "ptc", one) != quantum_id("pairs", "ptc", two)


def test_lineage_walks_back_to_the_raws(butler: Butler) -> None:
    refs, _ = _chain(butler)
    stranger = uuid.uuid4()
    butler.registry.record_quanta(
        "out",
        [
            _outcome(
                "calexp", _data_id(butler, 5), inputs=[refs[0].id, stranger], outputs=[refs[2].id]
            )
        ],
    )
    lineage = butler.registry.lineage([refs[4].id])
    assert set(lineage.producers) == {r.id for r in refs[2:]}
    assert {q.label for q in lineage.quanta.values()} == {"calexp", "summary"}
    assert lineage.datasets[refs[0].id].dataset_type == "raw"
    assert lineage.datasets[refs[0].id].run == "raw"
    assert stranger in lineage.inputs[lineage.producers[refs[2].id]]
    assert stranger not in lineage.datasets  # an input this repository does not hold


def test_removing_a_run_removes_its_provenance(butler: Butler) -> None:
    _chain(butler)
    butler.remove_runs(["out"])
    table = butler.registry._tables.quantum_dataset
    with butler.registry._db.connect() as conn:
        assert conn.execute(table.select()).all() == []
        assert conn.execute(butler.registry._tables.quantum.select()).all() == []
