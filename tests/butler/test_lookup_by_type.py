"""Lookups by data ID work for exposures of every observation type, on both databases,
including exposures taken through a filter with no band (biases and darks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from instruments.simcam_raws import exposure_id, header, write_raw
from quanta.butler import Butler
from quanta.core import Timespan
from quanta.core.errors import DatasetNotFoundError
from quanta.instruments import get_instrument
from quanta.instruments.ingest import ingest_raws

CALIB = "SimCam/calib"
RAWS = "SimCam/raw/all"
#: Sequence number, image type and filter of one exposure per observation type.
EXPOSURES = {
    "bias": (1, "SimCam-empty"),
    "dark": (2, "SimCam-empty"),
    "flat": (3, "SimCam-r"),
    "science": (4, "SimCam-g"),
}
TYPES = list(EXPOSURES)


@pytest.fixture
def simcam(butler: Butler, tmp_path: Path) -> Butler:
    """The test repository with one SimCam raw per observation type, a certified bias valid
    forever and a certified r-band flat."""
    get_instrument("SimCam").register(butler)
    for imgtype, (seq, physical_filter) in EXPOSURES.items():
        exptime = 0.0 if imgtype == "bias" else 5.0
        primary = header(seq, 0, imgtype=imgtype, exptime=exptime, physical_filter=physical_filter)
        write_raw(tmp_path / "raws" / f"{imgtype}.fits", primary)
    assert len(ingest_raws(butler, [tmp_path / "raws"]).ingested) == len(EXPOSURES)
    butler.register_dataset_type("bias", ["instrument", "detector"], "NumpyArray", True)
    butler.register_dataset_type(
        "flat", ["instrument", "detector", "physical_filter"], "NumpyArray", True
    )
    butler.register_dataset_type("fringe", ["instrument", "detector", "band"], "NumpyArray", True)
    bias = butler.put(np.full(3, 7.0), "bias", instrument="SimCam", detector=0, run="calib/run")
    flat = butler.put(
        np.full(3, 2.0),
        "flat",
        instrument="SimCam",
        detector=0,
        physical_filter="SimCam-r",
        run="calib/run",
    )
    butler.certify(CALIB, [bias, flat], Timespan(None, None))
    return butler


def _exposure(imgtype: str) -> dict[str, object]:
    return {"instrument": "SimCam", "detector": 0, "exposure": exposure_id(EXPOSURES[imgtype][0])}


@pytest.mark.parametrize("imgtype", TYPES)
def test_raw_by_data_id(simcam: Butler, imgtype: str) -> None:
    raw = simcam.get("raw", _exposure(imgtype), collections=RAWS)
    assert raw.header["IMGTYPE"] == imgtype


@pytest.mark.parametrize("imgtype", TYPES)
def test_bias_by_exposure(simcam: Butler, imgtype: str) -> None:
    bias = simcam.get("bias", _exposure(imgtype), collections=CALIB)
    assert bias.tolist() == [7.0, 7.0, 7.0]
    assert simcam.exists("bias", _exposure(imgtype), collections=CALIB)
    assert simcam.get_uri("bias", _exposure(imgtype), collections=CALIB).endswith(".npy")


@pytest.mark.parametrize("imgtype", TYPES)
def test_flat_by_exposure_only_through_its_filter(simcam: Butler, imgtype: str) -> None:
    if imgtype == "flat":
        assert simcam.get("flat", _exposure(imgtype), collections=CALIB).tolist() == [2.0] * 3
        return
    with pytest.raises(DatasetNotFoundError, match="no flat dataset for"):
        simcam.get("flat", _exposure(imgtype), collections=CALIB)


@pytest.mark.parametrize("imgtype", TYPES)
def test_band_calibration_for_an_exposure_without_band_is_not_found(
    simcam: Butler, imgtype: str
) -> None:
    with pytest.raises(DatasetNotFoundError, match="no fringe dataset for"):
        simcam.get("fringe", _exposure(imgtype), collections=CALIB)


@pytest.mark.parametrize("imgtype", TYPES)
def test_per_exposure_output_round_trips(simcam: Butler, imgtype: str) -> None:
    simcam.register_dataset_type("post_isr", ["instrument", "detector", "exposure"], "NumpyArray")
    ref = simcam.put(np.arange(3.0), "post_isr", _exposure(imgtype), run="out")
    assert simcam.find_dataset("post_isr", _exposure(imgtype), collections="out") == ref
    assert simcam.get("post_isr", _exposure(imgtype), collections="out").tolist() == [0, 1, 2]
    expanded = simcam.registry.expand_data_id(ref.data_id)
    band = None if EXPOSURES[imgtype][1] == "SimCam-empty" else EXPOSURES[imgtype][1][-1]
    assert expanded.full()["band"] == band
