"""The proof of bundles: the whole calibration flow (``quick`` preset) exported and imported
into a fresh PostgreSQL repository (directory bundle) and a fresh SQLite one (zip bundle),
where ``compare`` finds every dataset of every run identical, every file has the same bytes,
every certification the same validity and every flat pair the same members."""

from __future__ import annotations

from pathlib import Path

import pytest

from quanta.butler import Butler
from quanta.butler.export import export_bundle
from quanta.butler.import_ import import_bundle
from quanta.compare import CompareOptions, compare_collections
from quanta.core.collections import CollectionType
from quanta.demo import CALIB, run_calibration_flow

#: Compare every dataset type, logs and metadata included: they were copied, not rerun.
EVERYTHING = CompareOptions(skip_types=())


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Butler:
    result = run_calibration_flow(tmp_path_factory.mktemp("flow"), preset="quick", processes=1)
    return Butler(result.repo)


def runs(butler: Butler) -> list[str]:
    return [r.name for r in butler.registry.query_collections(types=[CollectionType.RUN])]


def assert_same(source: Butler, target: Butler) -> None:
    """Every run's datasets identical by compare and by checksum, chains and certifications
    equal."""
    assert runs(target) == runs(source)
    for run in runs(source):
        report = compare_collections(source, run, target, run, options=EVERYTHING)
        assert report.status == "identical", (run, report.status)
        assert all(s.n_a == s.n_b == s.n_identical > 0 for s in report.dataset_types), run
    ids = [f.dataset_id for f in source.registry.all_files()]
    assert len(ids) > 100
    theirs = target.registry.get_files(ids)
    for dataset_id, mine in source.registry.get_files(ids).items():
        assert (theirs[dataset_id].checksum, theirs[dataset_id].hdu) == (mine.checksum, mine.hdu)
    for chain in source.registry.query_collections(types=[CollectionType.CHAINED]):
        assert target.get_collection_chain(chain.name) == source.get_collection_chain(chain.name)
    for calibration in ("bias", "dark", "flat"):
        dataset_type = source.registry.get_dataset_type(calibration)
        mine = source.registry.certifications(CALIB, dataset_type)
        assert mine and target.registry.certifications(CALIB, dataset_type) == mine
    members = source.registry.query_group_members("SimCam", "flatPairs")
    assert members and target.registry.query_group_members("SimCam", "flatPairs") == members
    assert target.verify().ok


@pytest.mark.postgres
def test_the_flow_moves_into_postgresql_unchanged(
    source: Butler, postgres_url: str, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle"
    export_bundle(source, bundle, ["u/demo/*", CALIB])
    target = Butler.create(tmp_path / "pg", db=postgres_url)
    summary = import_bundle(target, bundle)
    assert summary.already_present == 0 and summary.certifications > 0
    assert_same(source, target)
    target.close()


def test_the_flow_moves_between_sqlite_repositories_through_a_zip(
    source: Butler, tmp_path: Path
) -> None:
    export_bundle(source, tmp_path / "flow.zip", ["u/demo/*", CALIB])
    target = Butler.create(tmp_path / "copy")
    import_bundle(target, tmp_path / "flow.zip")
    assert_same(source, target)
    assert import_bundle(target, tmp_path / "flow.zip").datasets == 0
