"""CALIBRATION collections on both databases: certify, overlap refusal, decertify, lookup."""

from __future__ import annotations

import numpy as np
import pytest

from quanta.butler import Butler
from quanta.core import CollectionType, Timespan
from quanta.core.errors import (
    CalibrationOverlapError,
    CollectionTypeError,
    ConflictError,
    DatasetNotFoundError,
)
from repo_data import INSTRUMENT, exposure_timespan


def _biases(butler: Butler, run: str, value: float) -> list:
    butler.register_dataset_type("bias", ["instrument", "detector"], "NumpyArray", True)
    return [
        butler.put(np.full(3, value), "bias", instrument=INSTRUMENT, detector=d, run=run)
        for d in (0, 1)
    ]


def test_lookup_by_exposure_timespan(butler: Butler) -> None:
    early = _biases(butler, "calib/1", 1.0)
    late = _biases(butler, "calib/2", 2.0)
    split = exposure_timespan(6).end
    butler.certify("calib", early, Timespan(None, split))
    butler.certify("calib", late, Timespan(split, None))
    data_id = {"instrument": INSTRUMENT, "detector": 1}
    assert butler.get("bias", data_id, exposure=3, collections="calib")[0] == 1.0
    assert butler.get("bias", data_id, exposure=10, collections="calib")[0] == 2.0
    at = Timespan(split + 1, split + 2)
    assert butler.find_dataset("bias", data_id, collections="calib", timespan=at) == late[1]
    with pytest.raises(ConflictError, match="more than one"):
        butler.find_dataset("bias", data_id, collections="calib")


def test_overlapping_validity_is_refused(butler: Butler) -> None:
    first = _biases(butler, "calib/1", 1.0)
    second = _biases(butler, "calib/2", 2.0)
    butler.certify("calib", first, Timespan(0, 100))
    with pytest.raises(CalibrationOverlapError, match="already certified"):
        butler.certify("calib", second[:1], Timespan(50, 150))
    with pytest.raises(CalibrationOverlapError):
        butler.certify("calib", second[:1], Timespan(None, None))
    butler.certify("calib", second, Timespan(100, 200))
    validity = butler.registry.certifications("calib", butler.registry.get_dataset_type("bias"))
    assert sorted((v.begin, v.end) for _, _, v in validity) == [(0, 100)] * 2 + [(100, 200)] * 2


def test_decertify_trims_and_splits(butler: Butler) -> None:
    refs = _biases(butler, "calib/1", 1.0)
    butler.certify("calib", refs, Timespan(0, 100))
    assert (
        butler.decertify(
            "calib", "bias", Timespan(40, 60), [{"instrument": INSTRUMENT, "detector": 0}]
        )
        == 1
    )
    data_id = {"instrument": INSTRUMENT, "detector": 0}
    for inside in (Timespan(10, 20), Timespan(70, 80)):
        assert butler.find_dataset("bias", data_id, collections="calib", timespan=inside) == refs[0]
    with pytest.raises(DatasetNotFoundError):
        butler.find_dataset("bias", data_id, collections="calib", timespan=Timespan(45, 50))
    other = {"instrument": INSTRUMENT, "detector": 1}
    assert butler.find_dataset("bias", other, collections="calib", timespan=Timespan(45, 50))


def test_only_calibration_types_can_be_certified(butler: Butler) -> None:
    butler.register_dataset_type("raw", ["instrument", "detector", "exposure"], "NumpyArray")
    ref = butler.put(np.zeros(1), "raw", instrument=INSTRUMENT, detector=0, exposure=1, run="r")
    with pytest.raises(CollectionTypeError, match="not a calibration type"):
        butler.certify("calib", [ref], Timespan(None, None))
    with pytest.raises(CollectionTypeError, match="is RUN"):
        butler.registry.certify("r", [ref], Timespan(None, None))


def test_decertify_refuses_non_calibration_types(butler: Butler) -> None:
    butler.register_dataset_type("raw", ["instrument", "detector", "exposure"], "NumpyArray")
    butler.registry.register_collection("calib", CollectionType.CALIBRATION)
    with pytest.raises(CollectionTypeError, match="not a calibration type"):
        butler.decertify("calib", "raw", Timespan(None, None))
