"""Export and import of bundles: every kind of collection and a shared file survive the round
trip on both databases; twice adds nothing; conflicts and malformed bundles write nothing."""

from __future__ import annotations

import json
import shutil
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from quanta.butler import Butler
from quanta.butler.export import export_bundle
from quanta.butler.import_ import import_bundle
from quanta.core import DataCoordinate, DatasetRef, Timespan
from quanta.core.collections import CollectionType
from quanta.core.errors import (
    BundleError,
    CalibrationOverlapError,
    CollectionNotFoundError,
    ConflictError,
    DatasetTypeNotFoundError,
)
from raw_layout_files import detector_raw, write_detectors
from repo_data import INSTRUMENT, NIGHT_START

RAW = "Cam/raw/all"
CALIB = "Cam/calib"
TAGGED = "Cam/picked"
CHAIN = "Cam/defaults"
HOUR = 3_600_000_000_000
#: The two validity ranges of the two bias runs: [start, start + 1 h) and from then on.
EARLY = Timespan(NIGHT_START, NIGHT_START + HOUR)
LATE = Timespan(NIGHT_START + HOUR, None)


@dataclass
class Source:
    """The repository exported, and the refs it holds by role."""

    butler: Butler
    raws: list[DatasetRef]
    shared: list[DatasetRef]
    biases: list[DatasetRef]
    paired: DatasetRef


def fill(butler: Butler, tmp_path: Path) -> Source:
    """Raws (one file each), three detectors sharing one file, a dataset with a free-form
    key, two runs of biases certified back to back, a TAGGED pick and a chain of all."""
    raw = butler.register_dataset_type("raw", ["instrument", "detector", "exposure"], "NumpyArray")
    raws = butler.put_many(
        [
            (np.full((3, 3), 10 * e + d), {"instrument": INSTRUMENT, "detector": d, "exposure": e})
            for e in (1, 2)
            for d in (0, 1)
        ],
        raw,
        run=RAW,
    )
    mef = butler.register_dataset_type("mef", ["instrument", "detector", "exposure"], "RawImage")
    path = write_detectors({f"S{i}": detector_raw(i) for i in (1, 2, 3)}, tmp_path / "mef.fits")
    shared = [
        DatasetRef.for_output(
            mef,
            DataCoordinate.standardize(
                {"instrument": INSTRUMENT, "detector": d, "exposure": 5}, mef.dimensions
            ),
            RAW,
        )
        for d in (1, 2, 3)
    ]
    butler.ingest([(path, ref, hdu) for ref, hdu in zip(shared, (1, 2, 3), strict=True)])
    pair = butler.register_dataset_type("pair", ["instrument", "detector"], "NumpyArray")
    np.save(tmp_path / "pair.npy", np.arange(3))
    paired = DatasetRef.for_output(
        pair,
        DataCoordinate.standardize(
            {"instrument": INSTRUMENT, "detector": 0}, pair.dimensions, extras={"pair": "1+2"}
        ),
        "u/pairs",
    )
    butler.ingest([(tmp_path / "pair.npy", paired)])
    bias = butler.register_dataset_type("bias", ["instrument", "detector"], "NumpyArray", True)
    biases = []
    for index, span in enumerate((EARLY, LATE)):
        run = f"u/bias/{index}"
        refs = [
            butler.put(
                np.full(2, 100 * index + d), bias, instrument=INSTRUMENT, detector=d, run=run
            )
            for d in (0, 1)
        ]
        butler.certify(CALIB, refs, span)
        biases += refs
    butler.registry.register_collection(TAGGED, CollectionType.TAGGED, "hand-picked")
    butler.registry.associate(TAGGED, [raws[0], raws[3]])
    butler.set_collection_chain(CHAIN, [TAGGED, CALIB, RAW, "u/pairs"])
    return Source(butler, raws, shared, biases, paired)


@pytest.fixture
def source(butler: Butler, tmp_path: Path) -> Source:
    return fill(butler, tmp_path)


@pytest.fixture
def target(db_url: str, tmp_path: Path) -> Butler:
    """An empty repository on each database."""
    return Butler.create(tmp_path / "target", db=db_url)


def contents(butler: Butler) -> dict[str, Any]:
    """Everything a bundle carries, as comparable plain values, read back from a repository."""
    registry = butler.registry
    reopened = Butler(butler.root)
    registry = reopened.registry
    datasets = {}
    files = {}
    for dt in registry.query_dataset_types():
        for collection in registry.query_collections(types=[CollectionType.RUN]):
            for ref in registry.query_datasets(dt, [collection.name], find_first=False):
                datasets[ref.id] = (dt.name, ref.run, ref.data_id.key())
    for dataset_id, stored in registry.get_files(list(datasets)).items():
        files[dataset_id] = (stored.checksum, stored.size, stored.hdu)
    collections = {}
    for record in registry.query_collections():
        if record.type == CollectionType.CHAINED:
            detail: Any = registry.get_collection_chain(record.name)
        elif record.type == CollectionType.TAGGED:
            detail = sorted(
                str(r.id)
                for dt in registry.query_dataset_types()
                for r in registry.query_datasets(dt, [record.name], find_first=False)
            )
        elif record.type == CollectionType.CALIBRATION:
            detail = sorted(
                (str(i), key, span.begin, span.end)
                for dt in registry.query_dataset_types()
                if dt.is_calibration
                for i, key, span in registry.certifications(record.name, dt)
            )
        else:
            detail = None
        collections[record.name] = (record.type.name, detail)
    exposures = sorted(
        repr(r) for r in reopened.query_dimension_records("exposure") if r.id in (1, 2, 5)
    )
    types = sorted(dt.describe() for dt in registry.query_dataset_types())
    stored_files = sorted(reopened.datastore.walk_files())
    reopened.close()
    return {
        "datasets": datasets,
        "files": files,
        "collections": collections,
        "exposures": exposures,
        "types": types,
        "stored_files": stored_files,
    }


def test_a_directory_bundle_carries_every_kind_of_collection(
    source: Source, target: Butler, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle"
    summary = export_bundle(source.butler, bundle, [CHAIN])
    assert (summary.collections, summary.datasets, summary.files) == (7, 12, 10)
    # The file of three detectors is in the bundle once.
    assert sum(1 for p in bundle.rglob("*") if p.is_file()) == 1 + 10

    first = import_bundle(target, bundle)
    assert (first.datasets, first.already_present, first.collections) == (12, 0, 7)
    assert first.certifications == 4
    expected = contents(source.butler)
    got = contents(target)
    for key in ("datasets", "files", "collections", "exposures", "types"):
        assert got[key] == expected[key], key
    assert len(got["stored_files"]) == 10
    # Calibrations are found by time as in the source, the shared file by HDU.
    assert target.get(
        "bias", instrument=INSTRUMENT, detector=1, exposure=1, collections=CHAIN
    ).tolist() == [1, 1]
    assert target.get(
        "bias", instrument=INSTRUMENT, detector=1, collections=CHAIN, timespan=LATE
    ).tolist() == [101, 101]
    for ref in source.shared:
        np.testing.assert_array_equal(
            target.get(ref).amps[0].pixels, source.butler.get(ref).amps[0].pixels
        )
    assert target.get(source.paired).tolist() == [0, 1, 2]
    assert target.verify().ok

    again = import_bundle(target, bundle)
    assert (again.datasets, again.already_present, again.collections, again.certifications) == (
        0,
        12,
        0,
        0,
    )
    assert contents(target) == got


def test_a_zip_bundle_round_trips_and_symlinks_from_a_directory(
    sqlite_butler: Butler, tmp_path: Path
) -> None:
    source = fill(sqlite_butler, tmp_path)
    export_bundle(source.butler, tmp_path / "b.zip", [CHAIN])
    export_bundle(source.butler, tmp_path / "dir", ["Cam/*"])
    assert zipfile.is_zipfile(tmp_path / "b.zip")
    zipped = Butler.create(tmp_path / "zipped")
    import_bundle(zipped, tmp_path / "b.zip")
    assert contents(zipped) == {**contents(source.butler), "stored_files": ANY_FILES}
    assert not any(p.name.startswith(".import") for p in zipped.root.iterdir())
    with pytest.raises(BundleError, match="cannot symlink files out of the zip"):
        import_bundle(Butler.create(tmp_path / "nolinks"), tmp_path / "b.zip", "symlink")

    linked = Butler.create(tmp_path / "linked")
    import_bundle(linked, tmp_path / "dir", "symlink")
    stored = linked.registry.get_files([source.raws[0].id])[source.raws[0].id]
    assert linked.datastore.path(stored).is_symlink()
    assert linked.get(source.raws[0]).tolist() == source.butler.get(source.raws[0]).tolist()


class _AnyFiles:
    """Equal to any list of stored files (their paths differ between repositories)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, list)


ANY_FILES = _AnyFiles()


def test_dataset_type_globs_choose_what_goes_in(source: Source, tmp_path: Path) -> None:
    summary = export_bundle(source.butler, tmp_path / "b", [CHAIN], ["ra*", "pair"])
    assert summary.datasets == 5
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert {d["dataset_type"] for d in manifest["datasets"]} == {"raw", "pair"}
    calib = next(c for c in manifest["collections"] if c["name"] == CALIB)
    assert calib["certifications"] == []
    with pytest.raises(DatasetTypeNotFoundError, match="did you mean 'bias'"):
        export_bundle(source.butler, tmp_path / "c", [CHAIN], ["bias_"])


def test_an_unknown_collection_is_refused_with_the_closest_names(
    source: Source, tmp_path: Path
) -> None:
    with pytest.raises(CollectionNotFoundError, match="did you mean 'Cam/calib'"):
        export_bundle(source.butler, tmp_path / "b", ["Cam/calibs"])
    assert not (tmp_path / "b").exists()
    export_bundle(source.butler, tmp_path / "b", [RAW])
    with pytest.raises(BundleError, match="already exists"):
        export_bundle(source.butler, tmp_path / "b", [RAW])


def _put_other_raw(target: Butler, source: Source) -> None:
    """The same raw (same run and data ID, hence the same ID) with other pixels."""
    ref = source.raws[0]
    target.register_dataset_type(ref.dataset_type)
    target.transfer_from(source.butler, [source.raws[1], source.raws[2]])
    target.put(np.zeros((3, 3)), ref.dataset_type, ref.data_id, run=ref.run)


def _tag_another_raw(target: Butler, source: Source) -> None:
    """The TAGGED collection already holds another raw for a data ID the bundle tags: found
    only while writing, after the files are placed, which then go again."""
    ref = source.raws[0]
    target.transfer_from(source.butler, [source.raws[1], source.raws[2]])
    other = target.put(np.zeros((3, 3)), ref.dataset_type, ref.data_id, run="u/other")
    target.registry.register_collection(TAGGED, CollectionType.TAGGED)
    target.registry.associate(TAGGED, [other])


def _tag_calib(target: Butler, source: Source) -> None:
    target.registry.register_collection(CALIB, CollectionType.TAGGED)


def _certify_another_bias(target: Butler, source: Source) -> None:
    bias = source.biases[0]
    target.transfer_from(source.butler, [bias])
    other = target.put(np.ones(2), bias.dataset_type, bias.data_id, run="u/other")
    target.certify(CALIB, [other], Timespan(NIGHT_START - HOUR, NIGHT_START + 1))


def _redefine_raw(target: Butler, source: Source) -> None:
    target.register_dataset_type("raw", ["instrument", "detector", "exposure"], "ArrowTable")


def _record_otherwise(target: Butler, source: Source) -> None:
    """Exposure 1 is known here under another obs_id."""
    for element in ("instrument", "band", "physical_filter", "day_obs"):
        target.insert_dimension_records(element, source.butler.query_dimension_records(element))
    (exposure,) = source.butler.query_dimension_records("exposure", where="exposure = 1")
    target.insert_dimension_records("exposure", [{**exposure.to_dict(), "obs_id": "ELSE"}])


def _rechain(target: Butler, source: Source) -> None:
    target.set_collection_chain(CHAIN, [])


CONFLICTS: dict[str, tuple[Callable[[Butler, Source], None], type[Exception], str]] = {
    "same ID, other bytes": (_put_other_raw, ConflictError, "with other content"),
    "another dataset tagged": (_tag_another_raw, ConflictError, "already holds another"),
    "collection of another kind": (_tag_calib, ConflictError, "is TAGGED in"),
    "overlapping certification": (_certify_another_bias, CalibrationOverlapError, "certified"),
    "dataset type defined otherwise": (_redefine_raw, ConflictError, "ArrowTable"),
    "dimension record differing": (_record_otherwise, ConflictError, "obs_id"),
    "chain searching something else": (_rechain, ConflictError, "searches []"),
}


@pytest.mark.parametrize("case", CONFLICTS)
def test_a_conflict_is_refused_with_its_reason_and_writes_nothing(
    case: str, source: Source, target: Butler, tmp_path: Path
) -> None:
    export_bundle(source.butler, tmp_path / "b", [CHAIN])
    prepare, error, message = CONFLICTS[case]
    prepare(target, source)
    before = contents(target)
    with pytest.raises(error, match=message.replace("[", r"\[").replace("]", r"\]")):
        import_bundle(target, tmp_path / "b")
    assert contents(target) == before


def test_a_run_that_exists_with_other_datasets_is_fine(
    source: Source, target: Butler, tmp_path: Path
) -> None:
    export_bundle(source.butler, tmp_path / "b", [RAW])
    target.transfer_from(source.butler, [source.raws[0]])
    target.register_dataset_type("other", ["instrument", "detector"], "NumpyArray")
    extra = target.put(np.ones(1), "other", instrument=INSTRUMENT, detector=0, run=RAW)
    summary = import_bundle(target, tmp_path / "b")
    assert (summary.datasets, summary.already_present) == (6, 1)
    assert len(target.query_datasets("raw", RAW)) == 4 and target.exists(extra)


def _manifest(bundle: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((bundle / "manifest.json").read_text())
    return data


def _save(bundle: Path, manifest: dict[str, Any]) -> None:
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def _remove_a_file(bundle: Path) -> None:
    path = _manifest(bundle)["files"][3]["path"]
    (bundle / path).unlink()


def _corrupt_a_file(bundle: Path) -> None:
    path = bundle / _manifest(bundle)["files"][2]["path"]
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def _bad_id(bundle: Path) -> None:
    manifest = _manifest(bundle)
    manifest["datasets"][4]["id"] = "not-a-uuid"
    _save(bundle, manifest)


def _escaping_path(bundle: Path) -> None:
    manifest = _manifest(bundle)
    manifest["files"][1]["path"] = "files/../../etc/passwd"
    _save(bundle, manifest)


def _unknown_member(bundle: Path) -> None:
    manifest = _manifest(bundle)
    tagged = next(c for c in manifest["collections"] if c["type"] == "TAGGED")
    tagged["datasets"].append(str(uuid.uuid4()))
    _save(bundle, manifest)


def _bad_data_id(bundle: Path) -> None:
    manifest = _manifest(bundle)
    manifest["datasets"][0]["data_id"]["detector"] = "zero"
    _save(bundle, manifest)


def _no_manifest(bundle: Path) -> None:
    (bundle / "manifest.json").unlink()


MALFORMED: dict[str, tuple[Callable[[Path], None], str]] = {
    "missing file": (_remove_a_file, r"files\[3\] files/.*: missing from the bundle"),
    "corrupt file": (_corrupt_a_file, r"files\[2\] .*: its size or checksum differs"),
    "bad dataset ID": (_bad_id, r"datasets\[4\]\.id: "),
    "path leaving the bundle": (_escaping_path, r"files\[1\]\.path: .*not a relative path"),
    "unknown TAGGED member": (_unknown_member, r"collections\[\d\] Cam/picked: dataset .* is not"),
    "bad data ID value": (_bad_data_id, r"datasets\[0\] .*: invalid value for data ID key"),
    "no manifest": (_no_manifest, "is not a bundle: it has no manifest.json"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_bundle_names_the_entry_and_writes_nothing(
    case: str, sqlite_butler: Butler, tmp_path: Path
) -> None:
    source = fill(sqlite_butler, tmp_path)
    bundle = tmp_path / "b"
    export_bundle(source.butler, bundle, [CHAIN])
    spoil, message = MALFORMED[case]
    spoil(bundle)
    target = Butler.create(tmp_path / "target")
    before = contents(target)
    with pytest.raises(BundleError, match=message):
        import_bundle(target, bundle)
    assert contents(target) == before
    left = [p.name for p in target.root.iterdir() if not p.name.startswith("registry.sqlite3")]
    assert sorted(left) == ["dimensions.yaml", "quanta.yaml"]
    shutil.rmtree(bundle)
