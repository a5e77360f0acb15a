"""``quanta convert``: a legacy repository into a quanta one, every dataset accounted for,
certified ranges as the legacy rules say, reruns as chains, the same twice and on both
databases."""

from __future__ import annotations

import itertools
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

from convert.legacy_fixture import COADD_TRACT, LegacyRepo, pixel_value
from quanta.butler import Butler
from quanta.cli.main import cli
from quanta.core.collections import CollectionType
from quanta.core.timespan import Timespan

INSTRUMENT = "SimCam"
SKYMAP = "legacySky"


def invoke(*args: object) -> Result:
    """``quanta`` in-process, with stdout and stderr apart."""
    return CliRunner().invoke(cli, [str(a) for a in args])


@dataclass(frozen=True)
class Converted:
    """A converted repository and what the command printed."""

    root: Path
    result: Result


@pytest.fixture(scope="module")
def converted(legacy: LegacyRepo, tmp_path_factory: pytest.TempPathFactory) -> Converted:
    """The fixture converted once into a new SQLite repository with a skymap, with two
    processes."""
    root = tmp_path_factory.mktemp("converted") / "repo"
    with_skymap(Butler.create(root))
    result = invoke("convert", root, legacy.root, "-j", 2, "--skymap", SKYMAP)
    return Converted(root, result)


def with_skymap(butler: Butler) -> None:
    """Register the skymap of the fixture's coadd (4 x 4 patches a tract), then close."""
    with butler:
        butler.insert_dimension_records(
            "skymap",
            [{"name": SKYMAP, "hash": "0", "tract_max": 1, "patch_nx_max": 4, "patch_ny_max": 4}],
        )
        butler.insert_dimension_records(
            "tract", [{"skymap": SKYMAP, "id": COADD_TRACT, "ra": 0.0, "dec": 0.0}]
        )
        butler.insert_dimension_records(
            "patch",
            [
                {"skymap": SKYMAP, "tract": COADD_TRACT, "id": i, "cell_x": i % 4, "cell_y": i // 4}
                for i in range(16)
            ],
        )


def contents(root: Path) -> dict[str, Any]:
    """The registry's contents as plain values: datasets with their files' checksums,
    collections with their chains and certifications, exposure and visit records."""
    with Butler(root) as butler:
        registry = butler.registry
        types = registry.query_dataset_types()
        datasets = {}
        runs = registry.query_collections(types=[CollectionType.RUN])
        for dt in types:
            for ref in registry.query_datasets(dt, [r.name for r in runs], find_first=False):
                datasets[ref.id] = (dt.name, ref.run, ref.data_id.key())
        checksums = {i: f.checksum for i, f in registry.get_files(list(datasets)).items()}
        collections: dict[str, Any] = {}
        for record in registry.query_collections():
            detail: Any = None
            if record.type == CollectionType.CHAINED:
                detail = registry.get_collection_chain(record.name)
            elif record.type == CollectionType.CALIBRATION:
                detail = sorted(
                    (str(i), key, span.begin, span.end)
                    for dt in types
                    if dt.is_calibration
                    for i, key, span in registry.certifications(record.name, dt)
                )
            collections[record.name] = (record.type.name, detail)
        records = {
            element: sorted(repr(r) for r in butler.query_dimension_records(element))
            for element in ("exposure", "visit", "day_obs")
        }
        described = sorted(dt.describe() for dt in types)
    return {
        "datasets": datasets,
        "checksums": checksums,
        "collections": collections,
        "records": records,
        "types": described,
    }


def lines(text: str, prefix: str) -> list[str]:
    """The lines of ``text`` that start with ``prefix``."""
    return [line for line in text.splitlines() if line.startswith(prefix)]


def test_every_dataset_is_accounted_for(legacy: LegacyRepo, converted: Converted) -> None:
    result = converted.result
    assert result.exit_code == 0, result.output + result.stderr
    skipped = lines(result.stderr, "skipped: ")
    assert len(skipped) == len(legacy.stray) + len(legacy.rows_without_files)
    assert all(any(p in line and "no template" in line for line in skipped) for p in legacy.stray)
    for visit, ccd in legacy.rows_without_files:
        assert any(f"visit={visit} ccd={ccd}: no such file" in line for line in skipped)
    unregistered = lines(result.stderr, "not in the raw registry")
    assert [line.rsplit(" ", 1)[1] for line in unregistered] == legacy.files_without_rows
    with Butler(converted.root) as butler:
        raws = butler.query_datasets("raw", collections=f"{INSTRUMENT}/raw/all")
        assert len(raws) == len(legacy.raws)
        calibs = sum(
            len(butler.query_datasets(t, f"{INSTRUMENT}/calib", find_first=False))
            for t in ("bias", "dark", "flat", "defects")
        )
        assert calibs == len(legacy.calibs)
        for rerun in legacy.reruns.values():
            chain = "u/alice" if "private" in rerun.path else f"{INSTRUMENT}/runs/proc"
            run = f"{chain}/legacy"
            found = [
                ref
                for kind in ("calexp", "postISRCCD", "deepCoadd")
                if kind in {k for k, _ in rerun.files.values()}
                for ref in butler.query_datasets(kind, collections=run)
            ]
            assert len(found) == len(rerun.files)
        (coadd,) = butler.query_datasets("deepCoadd", f"{INSTRUMENT}/runs/proc")
        assert (
            coadd.data_id.key()
            == butler.registry.expand_data_id(
                {"skymap": SKYMAP, "tract": COADD_TRACT, "patch": 2 * 4 + 1, "band": "r"},
                coadd.dataset_type.dimensions.names,
            ).key()
        )


def test_legacy_numbers_become_the_ids_the_headers_give(
    legacy: LegacyRepo, converted: Converted
) -> None:
    with Butler(converted.root) as butler:
        for path, (kind, data_id) in legacy.reruns["rerun/shared/proc"].files.items():
            if kind == "deepCoadd":
                continue
            detector = next(d for d, c in legacy.ccd_of_detector.items() if c == data_id["ccd"])
            key = "exposure" if kind == "postISRCCD" else "visit"
            image = butler.get(
                kind,
                instrument=INSTRUMENT,
                detector=detector,
                **{key: data_id["visit"]},
                collections=f"{INSTRUMENT}/runs/proc",
            )
            expected = pixel_value(int(data_id["visit"]), int(data_id["ccd"]))
            assert np.all(image.image == expected), path


def _spans(butler: Butler, kind: str, detector: int) -> dict[str, Timespan]:
    """The certified validity of each calibration date of one type and detector."""
    registry = butler.registry
    dataset_type = registry.get_dataset_type(kind)
    found = {}
    for dataset_id, _, span in registry.certifications(f"{INSTRUMENT}/calib", dataset_type):
        (ref,) = registry.get_refs([dataset_id])
        if ref.data_id["detector"] == detector:
            found[ref.run.rsplit("/", 1)[1]] = span
    return found


def test_certified_ranges_follow_the_legacy_rules(legacy: LegacyRepo, converted: Converted) -> None:
    with Butler(converted.root) as butler:
        for detector in legacy.ccd_of_detector:
            bias = _spans(butler, "bias", detector)
            dark = _spans(butler, "dark", detector)
            defects = _spans(butler, "defects", detector)
            # The overlap is cut at the later range's start (a warning says so) ...
            (_, earlier, later) = legacy.overlaps[0]
            assert (
                bias[earlier].end
                == bias[later].begin
                == Timespan.from_iso("2026-02-25", "2026-02-26").begin
            )
            # ... a 6-hour gap is closed by stretching the earlier range, a 2-day one kept.
            (_, earlier, later) = legacy.short_gaps[0]
            assert dark[earlier].end == dark[later].begin
            (_, earlier, later) = legacy.long_gaps[0]
            assert dark[later].begin - dark[earlier].end >= 86_400 * 10**9
            # Defects run from their date to the next one's, the last to 2037-12-31.
            dates = sorted(defects)
            for first, second in itertools.pairwise(dates):
                assert defects[first].end == defects[second].begin
                assert defects[second].begin == Timespan.from_iso(second, second).begin
            assert defects[dates[-1]].end == Timespan.from_iso("2037-12-31", "2037-12-31").begin
            for ranges in (bias, dark, defects):
                ordered = sorted(ranges.values(), key=lambda span: span.to_db()[0])
                assert all(not a.overlaps(b) for a, b in itertools.pairwise(ordered))
    stderr = converted.result.stderr
    assert len(lines(stderr, "warning: bias")) == len(legacy.ccd_of_detector)
    assert len(lines(stderr, "info: dark")) == len(legacy.ccd_of_detector)


def test_reruns_chain_their_parents_in_order(legacy: LegacyRepo, converted: Converted) -> None:
    with Butler(converted.root) as butler:
        assert butler.get_collection_chain("u/alice") == ["u/alice/legacy", "SimCam/runs/proc"]
        assert butler.get_collection_chain("SimCam/runs/proc") == [
            "SimCam/runs/proc/legacy",
            "SimCam/legacy",
        ]
        assert butler.get_collection_chain("SimCam/legacy") == ["SimCam/raw/all", "SimCam/calib"]
        shared = legacy.reruns["rerun/shared/proc"].files.values()
        visits = sorted({d["visit"] for kind, d in shared if kind == "calexp"})
        redone = {d["visit"] for _, d in legacy.reruns["rerun/private/alice"].files.values()}
        for visit in visits:
            ref = butler.find_dataset(
                "calexp",
                {"instrument": INSTRUMENT, "detector": 0, "visit": visit},
                collections="u/alice",
            )
            assert ref is not None
            assert ref.run == ("u/alice/legacy" if visit in redone else "SimCam/runs/proc/legacy")
        # Raws and calibrations are found through the private rerun's chain too.
        bias = butler.find_dataset(
            "bias",
            {"instrument": INSTRUMENT, "detector": 0},
            collections="u/alice",
            timespan=Timespan.from_iso("2026-03-02", "2026-03-02T00:00:01"),
        )
        assert bias is not None and bias.run == "SimCam/calib/2026-03-01"


def test_converting_twice_changes_nothing(legacy: LegacyRepo, converted: Converted) -> None:
    before = contents(converted.root)
    again = invoke("convert", converted.root, legacy.root, "--skymap", SKYMAP)
    assert again.exit_code == 0, again.stderr
    assert "raws: 0 ingested" in again.output
    assert "certified: 0 new" in again.output
    assert all(" 0 new," in line for line in lines(again.output, "SimCam/"))
    assert contents(converted.root) == before


@pytest.mark.postgres
def test_postgresql_holds_what_sqlite_holds(
    legacy: LegacyRepo, converted: Converted, postgres_url: str, tmp_path: Path
) -> None:
    root = tmp_path / "pg"
    with_skymap(Butler.create(root, db=postgres_url))
    result = invoke("convert", root, legacy.root, "--skymap", SKYMAP)
    assert result.exit_code == 0, result.stderr
    assert contents(root) == contents(converted.root)


def test_dry_run_prints_the_plan_and_writes_nothing(legacy: LegacyRepo, tmp_path: Path) -> None:
    root = tmp_path / "never"
    result = invoke("convert", root, legacy.root, "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert not root.exists()
    assert f"{len(legacy.raws)} raw file(s) -> SimCam/raw/all" in result.output
    assert "chain u/alice over rerun/shared/proc" in result.output
    certified = lines(result.output, "    certify ")
    assert len(certified) == len(legacy.calibs)


def test_one_rerun_brings_the_reruns_it_sits_on(legacy: LegacyRepo, tmp_path: Path) -> None:
    result = invoke(
        "convert", tmp_path / "r", legacy.root, "--reruns", "private/alice", "--dry-run"
    )
    assert result.exit_code == 0, result.stderr
    assert "rerun rerun/shared/proc" in result.output
    assert "rerun rerun/private/alice" in result.output
    missing = invoke("convert", tmp_path / "r", legacy.root, "--reruns", "private/bob")
    assert missing.exit_code == 2
    assert "no rerun 'private/bob'" in missing.stderr
    assert "found: private/alice, shared/proc" in missing.stderr


@pytest.fixture
def damaged(legacy: LegacyRepo, tmp_path: Path) -> Path:
    """A copy of the legacy repository to break."""
    root = tmp_path / "legacy"
    shutil.copytree(legacy.root, root, symlinks=True)
    return root


def test_an_unknown_mapper_stops_everything_in_one_line(damaged: Path, tmp_path: Path) -> None:
    (damaged / "_mapper").write_text("lsst.obs.hsc.HscMapper\n")
    result = invoke("convert", tmp_path / "out", damaged)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "unknown legacy mapper 'lsst.obs.hsc.HscMapper'" in result.stderr
    assert not (tmp_path / "out").exists()


def test_bad_items_are_named_and_the_rest_goes_in(
    legacy: LegacyRepo, damaged: Path, tmp_path: Path
) -> None:
    raw = damaged / sorted(legacy.raws)[1]
    raw.write_bytes(raw.read_bytes()[:5000])
    calib = damaged / "CALIB" / sorted(p for p, (t, _) in legacy.calibs.items() if t == "flat")[0]
    calib.write_bytes(b"SIMPLE  = garbage")
    policy = tmp_path / "policy.yaml"
    policy.write_text(legacy.policy.read_text().replace("CORR-%(visit)07d", "CORR-%(visit)07q"))
    out = tmp_path / "out"
    result = invoke("convert", out, damaged, "--policy", policy)
    assert result.exit_code == 1, result.stderr
    errors = lines(result.stderr, "error: ")
    assert len(errors) == 3, errors
    assert any(str(raw) in e for e in errors)
    assert any(calib.name in e for e in errors)
    assert any("'calexp'" in e and "%q" in e for e in errors)
    assert "errors: 3" in result.output
    with Butler(out) as butler:
        raws = butler.query_datasets("raw", collections="SimCam/raw/all")
        assert len(raws) == len(legacy.raws) - 1
        flats = butler.query_datasets("flat", "SimCam/calib", find_first=False)
        assert len(flats) == sum(1 for t, _ in legacy.calibs.values() if t == "flat") - 1
    # A second run adds nothing and names the same problems.
    before = contents(out)
    again = invoke("convert", out, damaged, "--policy", policy)
    assert again.exit_code == 1
    assert lines(again.stderr, "error: ") == errors
    assert contents(out) == before


def test_a_calibration_table_with_an_unknown_column_is_left_out(
    legacy: LegacyRepo, damaged: Path, tmp_path: Path
) -> None:
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(damaged / "CALIB" / "calibRegistry.sqlite3")) as db, db:
        db.execute("ALTER TABLE dark ADD COLUMN exptime DOUBLE")
    result = invoke("convert", tmp_path / "out", damaged)
    assert result.exit_code == 1
    (error,) = lines(result.stderr, "error: ")
    assert "table 'dark' has an unexpected column 'exptime'" in error
    darks = [p for p, (t, _) in legacy.calibs.items() if t == "dark"]
    left_out = [s for s in lines(result.stderr, "skipped: ") if "no calibration table 'dark'" in s]
    assert len(left_out) == len(darks)
    with Butler(tmp_path / "out") as butler:
        assert len(butler.query_datasets("bias", collections="SimCam/calib")) > 0
        assert "dark" not in {dt.name for dt in butler.registry.query_dataset_types()}


def test_calibrations_elsewhere_stay_where_they_are_with_direct(
    legacy: LegacyRepo, tmp_path: Path
) -> None:
    calibs = tmp_path / "calibs"
    shutil.copytree(legacy.root / "CALIB", calibs)
    out = tmp_path / "out"
    result = invoke("convert", out, legacy.root, "--calibs", calibs, "--transfer", "direct")
    assert result.exit_code == 0, result.stderr
    with Butler(out) as butler:
        refs = butler.query_datasets("flat", "SimCam/calib", find_first=False)
        assert len(refs) == sum(1 for t, _ in legacy.calibs.values() if t == "flat")
        for ref in refs:
            assert butler.get_uri(ref).startswith(calibs.as_uri() + "/")
        raw = butler.query_datasets("raw", "SimCam/raw/all")[0]
        assert butler.get_uri(raw).startswith(legacy.root.as_uri() + "/")
    assert not any(out.rglob("*.fits"))
    (coadd,) = [line for line in lines(result.stderr, "skipped: ") if "deepCoadd/" in line]
    assert coadd.endswith("needs the skymap it belongs to: give --skymap")
    refused = invoke("convert", tmp_path / "new", legacy.root, "--skymap", SKYMAP)
    assert refused.exit_code == 2 and "--skymap names a skymap registered" in refused.stderr
    assert not (tmp_path / "new").exists()
