"""A raw whose header holds a byte that is not ASCII (so not UTF-8 either) or a NUL is
refused alone, with a reason naming the card; the rest of the ingest goes on."""

from __future__ import annotations

from pathlib import Path

from instruments.simcam_raws import exposure_id, exposure_ids, header, write_raw
from quanta.butler import Butler
from quanta.instruments.ingest import ingest_raws


def _corrupt(path: Path, value: str, byte: int) -> None:
    """Replace the second character of ``value`` in the file's header by ``byte``."""
    data = bytearray(path.read_bytes())
    data[data.index(value.encode()) + 1] = byte
    path.write_bytes(bytes(data))


def test_bad_header_bytes_refuse_only_their_raw(simcam_butler: Butler, tmp_path: Path) -> None:
    raws = tmp_path / "raws"
    write_raw(raws / "good.fits", header(1, 0))
    _corrupt(write_raw(raws / "latin.fits", header(2, 0, OBJECT="fieldX")), "fieldX", 0xE9)
    _corrupt(write_raw(raws / "invalid.fits", header(3, 0, FILTER="SimCam-r")), "SimCam-r", 0xFF)
    _corrupt(write_raw(raws / "nul.fits", header(4, 0, OBJECT="fieldN")), "fieldN", 0)
    report = ingest_raws(simcam_butler, [raws])
    assert [ref.data_id["exposure"] for ref in report.ingested] == [exposure_id(1)]
    reasons = {path.name: reason for path, reason in report.refused}
    assert reasons == {
        "latin.fits": "unreadable: header card 19 (OBJECT) holds byte 0xe9, which is not ASCII",
        "invalid.fits": "unreadable: header card 13 (FILTER) holds byte 0xff, which is not ASCII",
        "nul.fits": reasons["nul.fits"],
    }
    assert reasons["nul.fits"].startswith("keyword OBJECT: unreadable value")
    assert exposure_ids(simcam_butler) == {exposure_id(1)}
