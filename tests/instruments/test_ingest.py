"""Raw ingest: records, idempotency, transfer modes, refused files, parallel reading."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from instruments.simcam_raws import (
    AMP_SIZE,
    DAY_OBS,
    N_AMPS,
    amp_pixels,
    exposure_id,
    exposure_ids,
    header,
    write_bad_files,
    write_exposures,
    write_raw,
)
from quanta.butler import Butler
from quanta.core.errors import DatastoreError
from quanta.core.ids import raw_dataset_id
from quanta.core.raw import RawImage
from quanta.instruments import get_instrument
from quanta.instruments.ingest import IngestError, IngestReport, ingest_raws
from quanta.instruments.simcam_layout import amp_geometry

RUN = "SimCam/raw/all"


def raw_ids(butler: Butler) -> set[tuple[int, int]]:
    """(exposure, detector) of every raw in the SimCam run."""
    refs = butler.query_datasets("raw", RUN) if _has_raw(butler) else []
    return {(ref.data_id["exposure"], ref.data_id["detector"]) for ref in refs}


def _has_raw(butler: Butler) -> bool:
    return any(dt.name == "raw" for dt in butler.registry.query_dataset_types())


def test_ingest_records_exposures_and_is_idempotent(simcam_butler: Butler, tmp_path: Path) -> None:
    files = write_exposures(tmp_path / "raws")
    report = ingest_raws(simcam_butler, [tmp_path / "raws"])
    assert (len(report.ingested), report.already_present, report.refused) == (6, [], [])
    assert raw_ids(simcam_butler) == {(exposure_id(s), d) for s in (1, 2, 3) for d in (0, 1)}
    ref = simcam_butler.find_dataset(
        "raw", instrument="SimCam", detector=1, exposure=exposure_id(2), collections=RUN
    )
    assert ref.id == raw_dataset_id("SimCam", f"SC_{DAY_OBS}_000002", 1)
    assert ref.dataset_type.storage_class == "RawImage"
    (record,) = simcam_butler.query_dimension_records(
        "exposure", where="exposure.seq_num = 2", data_id={"instrument": "SimCam"}
    )
    info = get_instrument("SimCam").translate(header(2, 0))
    assert record.values == {
        "instrument": "SimCam",
        "id": exposure_id(2),
        "physical_filter": "SimCam-r",
        "day_obs": DAY_OBS,
        "obs_id": f"SC_{DAY_OBS}_000002",
        "seq_num": 2,
        "exposure_time": 15.0,
        "dark_time": 15.5,
        "observation_type": "science",
        "observation_reason": None,
        "group_name": "group1",
        "science_program": None,
        "target_name": "field1",
        "timespan": info.timespan,
    }
    (night,) = simcam_butler.query_dimension_records("day_obs", data_id={"instrument": "SimCam"})
    assert (night.id, night.timespan) == (DAY_OBS, None)

    again = ingest_raws(simcam_butler, [*files, tmp_path / "raws"])
    assert (again.ingested, len(again.already_present), again.refused) == ([], 6, [])
    assert len(raw_ids(simcam_butler)) == 6 and len(exposure_ids(simcam_butler)) == 3


@pytest.mark.parametrize("transfer", ["copy", "move", "link", "symlink", "direct"])
def test_transfer_modes_and_read_back(sqlite_simcam: Butler, tmp_path: Path, transfer: str) -> None:
    files = write_exposures(tmp_path / "raws", seqs=(4, 5))
    report = ingest_raws(sqlite_simcam, files, transfer=transfer)
    assert len(report.ingested) == 4 and not report.refused
    uri = Path(sqlite_simcam.get_uri(report.ingested[0]).removeprefix("file://"))
    source = files[0]
    assert source.exists() == (transfer != "move")
    assert (uri == source) == (transfer == "direct")
    assert uri.is_symlink() == (transfer == "symlink")
    if transfer == "link":
        assert os.path.samefile(uri, source)
    raw = sqlite_simcam.get(
        "raw", instrument="SimCam", detector=1, exposure=exposure_id(5), collections=RUN
    )
    assert isinstance(raw, RawImage)
    assert raw.header == header(5, 1)
    assert [a.geometry for a in raw.amps] == amp_geometry(N_AMPS, *AMP_SIZE)
    for index, amp in enumerate(raw.amps):
        assert amp.pixels.dtype == np.uint16
        np.testing.assert_array_equal(amp.pixels, amp_pixels(5, 1, index))
        assert amp.header == {"GAIN": 1.5 + index / 10}


def test_bad_files_are_refused_and_leave_no_record(simcam_butler: Butler, tmp_path: Path) -> None:
    directory = tmp_path / "night"
    write_exposures(directory, seqs=(1, 2))
    expected = write_bad_files(directory)
    report = ingest_raws(simcam_butler, [directory])
    assert len(report.ingested) == 4
    assert [path.name for path, _ in report.refused] == sorted(expected)
    for path, reason in report.refused:
        assert reason.startswith(expected[path.name]), reason
    assert exposure_ids(simcam_butler) == {exposure_id(1), exposure_id(2)}
    assert raw_ids(simcam_butler) == {(exposure_id(s), d) for s in (1, 2) for d in (0, 1)}
    later = simcam_butler.query_dimension_records(
        "exposure", where="exposure.seq_num >= 10", data_id={"instrument": "SimCam"}
    )
    assert later == []


def test_parallel_reading_gives_the_same_result(tmp_path: Path) -> None:
    directory = tmp_path / "night"
    write_exposures(directory, seqs=(1, 2, 3, 4))
    expected = write_bad_files(directory)
    reports: list[IngestReport] = []
    for jobs in (1, 2):
        butler = Butler.create(tmp_path / f"repo{jobs}")
        get_instrument("SimCam").register(butler)
        reports.append(ingest_raws(butler, [directory], jobs=jobs))
    serial, parallel = reports
    assert parallel.refused == serial.refused and len(serial.refused) == len(expected)
    assert sorted(r.id for r in parallel.ingested) == sorted(r.id for r in serial.ingested)
    assert len(serial.ingested) == 8


def test_an_exposure_keeps_its_record_when_one_of_its_files_is_refused(
    sqlite_simcam: Butler, tmp_path: Path
) -> None:
    good = write_raw(tmp_path / "d0.fits", header(6, 0))
    bad = write_raw(tmp_path / "d1.fits", header(6, 1, DARKTIME=None))
    report = ingest_raws(sqlite_simcam, [good, bad])
    assert report.refused == [(bad, "missing keyword DARKTIME")]
    assert raw_ids(sqlite_simcam) == {(exposure_id(6), 0)}


def test_disagreeing_and_duplicate_files_are_refused(sqlite_simcam: Butler, tmp_path: Path) -> None:
    first = write_raw(tmp_path / "a.fits", header(7, 0))
    other_time = write_raw(tmp_path / "b.fits", header(7, 1, EXPTIME=20.0))
    duplicate = write_raw(tmp_path / "c.fits", header(7, 0))
    same_obs_id = write_raw(tmp_path / "d.fits", header(8, 2, OBSID=f"SC_{DAY_OBS}_000007"))
    report = ingest_raws(sqlite_simcam, [tmp_path])
    reasons = dict(report.refused)
    assert set(reasons) == {other_time, duplicate, same_obs_id}
    assert reasons[other_time].startswith(f"exposure {exposure_id(7)} disagrees with {first}: ")
    assert "exposure_time: 15.0 != 20.0" in reasons[other_time]
    assert reasons[duplicate] == f"the same raw as {first} (obs_id and detector)"
    assert (
        reasons[same_obs_id]
        == f"obs_id 'SC_{DAY_OBS}_000007' is also exposure {exposure_id(7)} here"
    )
    assert exposure_ids(sqlite_simcam) == {exposure_id(7)}


def test_files_contradicting_the_registry_are_refused(
    sqlite_simcam: Butler, tmp_path: Path
) -> None:
    ingest_raws(sqlite_simcam, [write_raw(tmp_path / "a.fits", header(9, 0))])
    changed = write_raw(tmp_path / "b.fits", header(9, 1, physical_filter="SimCam-g"))
    reused = write_raw(tmp_path / "c.fits", header(13, 0, OBSID=f"SC_{DAY_OBS}_000009"))
    report = ingest_raws(sqlite_simcam, [changed])
    assert report.refused == [
        (changed, f"exposure {exposure_id(9)} is already registered: "
                  "physical_filter: 'SimCam-r' != 'SimCam-g'"),
    ]  # fmt: skip
    report = ingest_raws(sqlite_simcam, [reused])
    assert report.refused == [
        (reused, f"obs_id 'SC_{DAY_OBS}_000009' is already exposure {exposure_id(9)}")
    ]
    assert report.ingested == [] and exposure_ids(sqlite_simcam) == {exposure_id(9)}


def test_unregistered_instrument_is_refused(tmp_path: Path) -> None:
    butler = Butler.create(tmp_path / "repo")
    files = write_exposures(tmp_path / "raws", seqs=(1,), detectors=(0,))
    report = ingest_raws(butler, files)
    assert report.refused == [
        (
            files[0],
            "instrument 'SimCam' is not registered in this repository; "
            f"run `quanta register-instrument {butler.root} SimCam`",
        )
    ]
    assert butler.query_dimension_records("exposure") == []


def test_unreadable_truncated_and_corrupt_files(sqlite_simcam: Butler, tmp_path: Path) -> None:
    good = write_raw(tmp_path / "good.fits", header(1, 0)).read_bytes()
    contents = {
        "cut_data.fits": good[:-100],
        "cut_header.fits": good[: len(good) - 2880 * 2 + 400],
        "empty.fits": b"",
        "stray.fits": good + b"\0" * 10,
        "text.fits": b"SIMPLE = nonsense\n",
    }
    for name, data in contents.items():
        (tmp_path / name).write_bytes(data)
    report = ingest_raws(sqlite_simcam, [tmp_path])
    assert [(p.name, r) for p, r in report.refused] == [
        ("cut_data.fits", f"truncated: HDU 4 ends at byte {len(good)} but the file has "
                          f"{len(good) - 100} bytes"),
        ("cut_header.fits", "truncated: the header of HDU 4 is cut short"),
        ("empty.fits", "unreadable: empty file"),
        ("stray.fits", "corrupt: 10 stray bytes after the last HDU"),
        ("text.fits", "unreadable: not FITS"),
    ]  # fmt: skip
    assert len(report.ingested) == 1


def test_bad_requests(sqlite_simcam: Butler, tmp_path: Path) -> None:
    with pytest.raises(DatastoreError, match="no such file or directory"):
        ingest_raws(sqlite_simcam, [tmp_path / "missing"])
    with pytest.raises(IngestError, match="unknown transfer mode 'teleport'"):
        ingest_raws(sqlite_simcam, [tmp_path], transfer="teleport")
    with pytest.raises(IngestError, match="jobs must be at least 1"):
        ingest_raws(sqlite_simcam, [tmp_path], jobs=0)


def test_ingest_of_a_simulated_night(sqlite_simcam: Butler, tmp_path: Path) -> None:
    simulate = pytest.importorskip("quanta.sim.simulate").simulate
    summary = simulate(tmp_path / "night", preset="quick")
    report = ingest_raws(sqlite_simcam, [tmp_path / "night"], jobs=2)
    assert (len(report.ingested), report.refused) == (summary.n_files, [])
    raw = sqlite_simcam.get(report.ingested[0])
    assert isinstance(raw, RawImage) and raw.header["INSTRUME"] == "SimCam"
