"""Removing runs, datasets and collections on both databases, without losing a calibration.

The repository of every test: biases certified in ``calib`` (and one tagged in ``best``),
raws, ISR outputs made from both (with provenance), and a summary made from the ISR
outputs in a third run, so removals have every kind of dependency to report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from quanta.butler import Butler
from quanta.core import Timespan
from quanta.core.data_id import DataCoordinate
from quanta.core.errors import (
    CollectionTypeError,
    ConflictError,
    DatasetNotFoundError,
    FileRemovalError,
)
from quanta.core.provenance import QuantumOutcome
from quanta.core.refs import DatasetRef
from quanta.core.status import QuantumStatus
from repo_data import INSTRUMENT
from undeletable import undeletable

EXPOSURES = (9, 10)
DETECTORS = (0, 1)


@dataclass
class Lifecycle:
    """The refs of the test repository, by kind."""

    biases: list[DatasetRef]
    raws: list[DatasetRef]
    calexps: list[DatasetRef]
    summary: DatasetRef


def _outcome(
    butler: Butler, label: str, values: dict, inputs: list, outputs: list
) -> QuantumOutcome:
    data_id = DataCoordinate.standardize(values, universe=butler.universe)
    return QuantumOutcome(label, data_id, QuantumStatus.DONE, 1, inputs=inputs, outputs=outputs)


def make_lifecycle(butler: Butler) -> Lifecycle:
    """Biases in ``calib/bias`` certified in ``calib``, raws in ``raw``, calexps in ``isr``
    (from raw and bias), a summary in ``coadd`` (from the calexps); chains and a tag."""
    exposure_dims = ["instrument", "detector", "exposure"]
    butler.register_dataset_type("bias", ["instrument", "detector"], "NumpyArray", True)
    butler.register_dataset_type("raw", exposure_dims, "NumpyArray")
    butler.register_dataset_type("calexp", exposure_dims, "NumpyArray")
    butler.register_dataset_type("summary", ["instrument"], "StructuredData")
    biases = [
        butler.put(np.full(2, d), "bias", instrument=INSTRUMENT, detector=d, run="calib/bias")
        for d in DETECTORS
    ]
    butler.certify("calib", biases, Timespan(None, None))
    butler.associate("best", biases[:1])
    raws, calexps, outcomes = [], [], []
    for e in EXPOSURES:
        for d in DETECTORS:
            values = {"instrument": INSTRUMENT, "detector": d, "exposure": e}
            raw = butler.put(np.full(2, e), "raw", values, run="raw")
            calexp = butler.put(np.full(2, e - d), "calexp", values, run="isr")
            outcomes.append(_outcome(butler, "isr", values, [raw.id, biases[d].id], [calexp.id]))
            raws.append(raw)
            calexps.append(calexp)
    butler.registry.record_quanta("isr", outcomes)
    summary = butler.put({"n": 4}, "summary", instrument=INSTRUMENT, run="coadd")
    butler.registry.record_quanta(
        "coadd",
        [
            _outcome(
                butler, "coadd", {"instrument": INSTRUMENT}, [c.id for c in calexps], [summary.id]
            )
        ],
    )
    butler.set_collection_chain("defaults", ["isr", "raw", "calib"])
    butler.set_collection_chain("calib/all", ["calib", "calib/bias"])
    return Lifecycle(biases, raws, calexps, summary)


def paths(butler: Butler, refs: list[DatasetRef]) -> list[Path]:
    """The files of some datasets, in order."""
    files = butler.registry.get_files([r.id for r in refs])
    return [butler.datastore.path(files[r.id]) for r in refs]


def bias_for(butler: Butler, exposure: int) -> DatasetRef:
    """The bias ISR of an exposure would find in ``calib``."""
    return butler.find_dataset(
        "bias", instrument=INSTRUMENT, detector=0, exposure=exposure, collections="calib"
    )


def collection_names(butler: Butler) -> list[str]:
    return [r.name for r in butler.registry.query_collections()]


# -- what depends on what --------------------------------------------------------------------


def test_dependencies_of_a_bias_run(butler: Butler) -> None:
    make_lifecycle(butler)
    deps = butler.run_dependencies(["calib/bias"])
    assert deps.datasets == 2
    assert deps.certified == {"calib": 2}
    assert deps.tagged == {"best": 1}
    assert deps.chains == {"calib/all": ["calib/bias"]}
    # The calexps read the biases; the summary read the calexps (through them, too).
    assert deps.downstream == {"isr": 4, "coadd": 1}
    assert deps.describe() == [
        "certified in CALIBRATION collection(s): calib (2)",
        "members of TAGGED collection(s): best (1)",
        "inputs, by recorded provenance, of datasets in run(s): coadd (1), isr (4)",
        "named by CHAINED collection(s), which lose them: calib/all (calib/bias)",
    ]


def test_dependencies_of_datasets_leave_out_the_removed_ones(butler: Butler) -> None:
    repo = make_lifecycle(butler)
    deps = butler.dataset_dependencies([*repo.raws[:2], *repo.calexps[:2]])
    assert deps.datasets == 4
    assert (deps.certified, deps.tagged, deps.chains) == ({}, {}, {})
    # calexps 0 and 1 are removed themselves: only the summary is downstream.
    assert deps.downstream == {"coadd": 1}


def test_removing_several_runs_counts_only_what_stays(butler: Butler) -> None:
    make_lifecycle(butler)
    deps = butler.run_dependencies(["raw", "isr"])
    assert deps.datasets == 8
    assert deps.downstream == {"coadd": 1}
    assert deps.chains == {"defaults": ["isr", "raw"]}


# -- remove-runs -----------------------------------------------------------------------------


def test_removing_a_certified_run_is_refused_and_changes_nothing(butler: Butler) -> None:
    repo = make_lifecycle(butler)
    files = paths(butler, repo.biases)
    with pytest.raises(
        ConflictError, match=r"certified in CALIBRATION collection\(s\) calib \(2\)"
    ):
        butler.remove_runs(["calib/bias"])
    assert bias_for(butler, 9) == repo.biases[0]
    assert all(f.exists() for f in files)
    assert butler.get_collection_chain("calib/all") == ["calib", "calib/bias"]
    assert [r.id for r in butler.query_datasets("bias", "best")] == [repo.biases[0].id]


def test_decertify_removes_the_certifications_and_nothing_else(butler: Butler) -> None:
    repo = make_lifecycle(butler)
    files = paths(butler, repo.biases)
    removal = butler.remove_runs(["calib/bias"], decertify=True)
    assert removal.files_deleted == 2 and removal.left_behind == []
    assert removal.dependencies.certified == {"calib": 2}
    assert not any(f.exists() for f in files)
    with pytest.raises(DatasetNotFoundError):
        bias_for(butler, 9)
    assert butler.registry.certifications("calib", butler.registry.get_dataset_type("bias")) == []
    # The collections that named the run stay, without it; the outputs made from it stay.
    assert "calib/bias" not in collection_names(butler)
    assert {"calib", "best", "calib/all"} <= set(collection_names(butler))
    assert butler.query_datasets("bias", "best") == []
    assert butler.get_collection_chain("calib/all") == ["calib"]
    assert len(butler.query_datasets("calexp", "isr")) == 4
    assert butler.get(repo.calexps[3])[0] == 9


def test_removing_an_uncertified_run_needs_no_flag(butler: Butler) -> None:
    repo = make_lifecycle(butler)
    removal = butler.remove_runs(["raw"])
    assert removal.files_deleted == 4
    assert removal.dependencies.downstream == {"isr": 4, "coadd": 1}
    assert butler.get_collection_chain("defaults") == ["isr", "calib"]
    assert bias_for(butler, 9) == repo.biases[0]


def test_a_file_that_cannot_be_deleted_keeps_every_row_and_file(butler: Butler) -> None:
    repo = make_lifecycle(butler)
    files = paths(butler, repo.raws)
    with undeletable(files[-1].parent):
        with pytest.raises(FileRemovalError, match="cannot delete 2 file"):
            butler.remove_runs(["raw"])
        assert all(f.exists() for f in files)
        assert len(butler.query_datasets("raw", "raw")) == 4
        assert butler.get_collection_chain("defaults") == ["isr", "raw", "calib"]
        assert butler.verify().ok
    assert butler.remove_runs(["raw"]).files_deleted == 4
    assert not any(f.exists() for f in files)


def test_a_file_that_vanished_is_not_an_error(butler: Butler) -> None:
    repo = make_lifecycle(butler)
    files = paths(butler, repo.raws)
    files[0].unlink()
    assert butler.remove_runs(["raw"]).files_deleted == 4
    assert not any(f.exists() for f in files)


# -- datasets --------------------------------------------------------------------------------


def test_purge_refuses_certified_and_tagged_datasets_unless_asked(butler: Butler) -> None:
    repo = make_lifecycle(butler)
    with pytest.raises(ConflictError, match="--decertify"):
        butler.purge_datasets(repo.biases)
    with pytest.raises(ConflictError, match=r"TAGGED collection\(s\) best \(1\)"):
        butler.purge_datasets(repo.biases, decertify=True)
    assert bias_for(butler, 9) == repo.biases[0]
    removal = butler.purge_datasets(repo.biases[1:], decertify=True)
    assert removal.files_deleted == 1
    assert bias_for(butler, 9) == repo.biases[0]
    removal = butler.purge_datasets(repo.biases, decertify=True, untag=True)
    assert removal.files_deleted == 1
    assert butler.query_datasets("bias", "calib/bias") == []
    assert butler.query_datasets("bias", "best") == []


def test_purge_keeps_the_run_and_the_other_datasets(butler: Butler) -> None:
    repo = make_lifecycle(butler)
    files = paths(butler, repo.calexps)
    removal = butler.purge_datasets(repo.calexps[:2])
    assert removal.dependencies.downstream == {"coadd": 1}
    assert [f.exists() for f in files] == [False, False, True, True]
    assert [r.id for r in butler.query_datasets("calexp", "isr")] == [
        r.id for r in repo.calexps[2:]
    ]


def test_purge_with_an_undeletable_file_changes_nothing(butler: Butler) -> None:
    repo = make_lifecycle(butler)
    files = paths(butler, repo.calexps)
    with undeletable(files[0].parent), pytest.raises(FileRemovalError):
        butler.purge_datasets(repo.calexps)
    assert len(butler.query_datasets("calexp", "isr")) == 4
    assert all(f.exists() for f in files)


def test_associate_decertify_and_disassociate(butler: Butler) -> None:
    repo = make_lifecycle(butler)
    assert butler.associate("picked", repo.raws[:3]) == 3
    assert butler.associate("picked", repo.raws) == 1
    assert butler.disassociate("picked", repo.raws[:2]) == 2
    assert [r.id for r in butler.query_datasets("raw", "picked")] == [r.id for r in repo.raws[2:]]
    with pytest.raises(ConflictError, match="already exists as RUN"):
        butler.associate("raw", repo.raws)
    assert butler.decertify_datasets("calib", repo.biases[:1]) == 1
    with pytest.raises(DatasetNotFoundError):
        bias_for(butler, 9)
    assert (
        butler.find_dataset(
            "bias", instrument=INSTRUMENT, detector=1, exposure=9, collections="calib"
        )
        == repo.biases[1]
    )


# -- collections -----------------------------------------------------------------------------


def test_remove_collections_keeps_datasets_and_refuses_what_a_chain_names(butler: Butler) -> None:
    repo = make_lifecycle(butler)
    with pytest.raises(CollectionTypeError, match="remove_runs"):
        butler.remove_collections(["raw"])
    with pytest.raises(ConflictError, match=r"chained collection\(s\) calib/all, defaults"):
        butler.remove_collections(["calib"])
    with pytest.raises(ConflictError, match="defaults"):
        butler.remove_collections(["calib/all", "calib"])
    everything = ["calib/all", "calib", "best", "defaults"]
    with pytest.raises(ConflictError, match=r"calib \(2\) still certify datasets"):
        butler.remove_collections(everything)
    removed = butler.remove_collections(everything, decertify=True)
    assert [c.describe() for c in removed] == [
        "calib/all (CHAINED, 2 child(ren))",
        "calib (CALIBRATION, 2 dataset(s))",
        "best (TAGGED, 1 dataset(s))",
        "defaults (CHAINED, 3 child(ren))",
    ]
    assert collection_names(butler) == ["calib/bias", "coadd", "isr", "raw"]
    assert [r.id for r in butler.query_datasets("bias", "calib/bias")] == [
        r.id for r in repo.biases
    ]
    assert butler.get(repo.biases[0])[0] == 0
    butler.certify("calib", repo.biases, Timespan(None, None))
    assert bias_for(butler, 9) == repo.biases[0]
