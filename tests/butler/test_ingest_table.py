"""Ingest of files listed in a CSV or ECSV table: every row checked before anything is
written, errors naming the row, and the same table twice adding nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from quanta.butler import Butler
from quanta.butler.ingest_table import ingest_table
from quanta.core.errors import ConfigError, ConflictError, DatasetTypeNotFoundError
from raw_layout_files import detector_raw, write_detectors
from repo_data import INSTRUMENT

RUN = "u/files"


def write_arrays(directory: Path, rows: list[tuple[int, int]]) -> list[str]:
    """One .npy file per (detector, exposure), holding 10 x exposure + detector."""
    directory.mkdir(exist_ok=True)
    names = []
    for detector, exposure in rows:
        name = f"a_{detector}_{exposure}.npy"
        np.save(directory / name, np.full(2, 10 * exposure + detector))
        names.append(f"{directory.name}/{name}")
    return names


def write_csv(path: Path, header: str, lines: list[str]) -> Path:
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


def snapshot(butler: Butler) -> tuple[list[str], list[str]]:
    """Dataset types and stored files, read through a new connection."""
    reopened = Butler(butler.root)
    types = [dt.name for dt in reopened.registry.query_dataset_types()]
    files = sorted(reopened.datastore.walk_files())
    reopened.close()
    return types, files


def test_a_csv_registers_the_type_and_ingests_once(butler: Butler, tmp_path: Path) -> None:
    names = write_arrays(tmp_path / "arrays", [(0, 1), (1, 1), (0, 2)])
    table = write_csv(
        tmp_path / "t.csv",
        "file,instrument,detector,exposure",
        [f"{n},{INSTRUMENT},{n.split('_')[1]},{n.split('_')[2][0]}" for n in names],
    )
    report = ingest_table(butler, "arrays", RUN, table, storage_class="NumpyArray")
    assert (report.ingested, report.already_present, report.registered) == (3, 0, True)
    assert butler.registry.get_dataset_type("arrays").dimensions.required == (
        "instrument",
        "detector",
        "exposure",
    )
    got = butler.get("arrays", instrument=INSTRUMENT, detector=1, exposure=1, collections=RUN)
    assert got.tolist() == [11, 11]
    again = ingest_table(butler, "arrays", RUN, table)
    assert (again.ingested, again.already_present, again.registered) == (0, 3, False)
    assert butler.verify().ok and len(list(butler.datastore.walk_files())) == 3


def test_an_ecsv_with_hdus_shares_one_file_and_direct_leaves_it(
    butler: Butler, tmp_path: Path
) -> None:
    mef = write_detectors({f"S{i}": detector_raw(i) for i in (1, 2)}, tmp_path / "mef.fits")
    butler.register_dataset_type("raw", ["instrument", "detector", "exposure"], "RawImage")
    table = Table(
        {
            "file": [str(mef), str(mef)],
            "instrument": [INSTRUMENT] * 2,
            "detector": [1, 2],
            "exposure": [5, 5],
            "hdu": [1, 2],
        }
    )
    table.write(tmp_path / "t.ecsv", format="ascii.ecsv")
    report = ingest_table(butler, "raw", RUN, tmp_path / "t.ecsv", "direct")
    assert report.ingested == 2
    refs = butler.query_datasets("raw", RUN)
    files = butler.registry.get_files([r.id for r in refs])
    assert {(f.path, f.hdu) for f in files.values()} == {(str(mef), 1), (str(mef), 2)}
    assert list(butler.datastore.walk_files()) == []
    assert butler.get(refs[0]).amps[0].geometry.name.startswith("S")


BAD_ROWS = {
    "missing file": (["arrays/a_0_1.npy", "arrays/a_1_3.npy"], "row 2: no such file"),
    "unknown exposure": (["arrays/a_0_1.npy", "arrays/a_0_99.npy"], "row 2: no exposure record"),
    "repeated data ID": (["arrays/a_0_1.npy", "arrays/a_0_1.npy"], "row 2: data ID"),
    "bad detector": (["arrays/a_x_1.npy"], "row 1: invalid value for data ID key 'detector'"),
}


@pytest.mark.parametrize("case", BAD_ROWS)
def test_a_bad_row_is_named_and_nothing_is_written(
    case: str, butler: Butler, tmp_path: Path
) -> None:
    write_arrays(tmp_path / "arrays", [(0, 1), (0, 99)])
    (tmp_path / "arrays" / "a_x_1.npy").write_bytes(b"")
    files, message = BAD_ROWS[case]
    table = write_csv(
        tmp_path / "t.csv",
        "file,instrument,detector,exposure",
        [f"{f},{INSTRUMENT},{f.split('_')[1]},{f.split('_')[2].split('.')[0]}" for f in files],
    )
    before = snapshot(butler)
    with pytest.raises(ConfigError, match=message):
        ingest_table(butler, "arrays", RUN, table, storage_class="NumpyArray")
    assert snapshot(butler) == before


def test_relative_paths_are_refused_with_direct(butler: Butler, tmp_path: Path) -> None:
    names = write_arrays(tmp_path / "arrays", [(0, 1)])
    table = write_csv(
        tmp_path / "t.csv", "file,instrument,detector,exposure", [f"{names[0]},{INSTRUMENT},0,1"]
    )
    with pytest.raises(ConfigError, match=r"row 1: relative path .* with 'direct'"):
        ingest_table(butler, "arrays", RUN, table, "direct", storage_class="NumpyArray")


def test_the_type_must_exist_or_be_described(butler: Butler, tmp_path: Path) -> None:
    names = write_arrays(tmp_path / "arrays", [(0, 1)])
    table = write_csv(
        tmp_path / "t.csv", "file,instrument,detector,exposure", [f"{names[0]},{INSTRUMENT},0,1"]
    )
    with pytest.raises(DatasetTypeNotFoundError, match="give --storage-class"):
        ingest_table(butler, "arrays", RUN, table)
    butler.register_dataset_type("arrays", ["instrument", "detector"], "NumpyArray")
    with pytest.raises(ConfigError, match="columns exposure are not dimensions of arrays"):
        ingest_table(butler, "arrays", RUN, table)
    with pytest.raises(ConflictError, match="storage class NumpyArray, not Image"):
        ingest_table(butler, "arrays", RUN, table, storage_class="Image")
    odd = write_csv(
        tmp_path / "odd.csv", "file,instrument,colour", [f"{names[0]},{INSTRUMENT},red"]
    )
    with pytest.raises(ConfigError, match="columns colour are not dimensions"):
        ingest_table(butler, "new", RUN, odd, storage_class="NumpyArray")
