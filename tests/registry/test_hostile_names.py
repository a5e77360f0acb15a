"""Names no database can hold (NUL, bytes that are not UTF-8) in lookups of collections,
dataset types, dimensions and data IDs are one ``QuantaError``, never a database error,
on both backends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from quanta.butler import Butler
from quanta.core.errors import QuantaError
from repo_data import INSTRUMENT
from repo_state import repo_state

RAW = {"instrument": INSTRUMENT, "detector": 0, "exposure": 1}
LOOKUPS: dict[str, tuple[Callable[[Butler], Any], str]] = {
    "dataset type": (
        lambda b: b.get("flux\x00", RAW, collections="u/run"),
        "unknown dataset type 'flux\\x00'",
    ),
    "collection": (
        lambda b: b.query_datasets("flux", ["u/r\x00n"]),
        "collection 'u/r\\x00n' does not exist",
    ),
    "collection glob": (
        lambda b: b.query_datasets("flux", ["u/\udcff*"]),
        "no collection matches 'u/\\udcff*'",
    ),
    "chain": (lambda b: b.get_collection_chain("c\x00"), "collection 'c\\x00' does not exist"),
    "calibration search": (
        lambda b: b.find_dataset("flux", RAW, collections=["u/run", "calib\udc80"]),
        "collection 'calib\\udc80' does not exist",
    ),
    "data ID": (
        lambda b: b.query_dimension_records("exposure", data_id={"instrument": "Cam\x00"}),
        "'Cam\\x00' is not allowed: it holds a NUL character",
    ),
    "dimension": (lambda b: b.query_dimension_records("exposure\x00"), "unknown dimension"),
    "new collection": (
        lambda b: b.certify("c\udc80", [], None),
        "invalid collection name 'c\\udc80'",
    ),
}


@pytest.mark.parametrize("lookup", list(LOOKUPS))
def test_names_no_database_holds_are_refused(butler: Butler, lookup: str) -> None:
    butler.register_dataset_type("flux", ["instrument", "detector", "exposure"], "NumpyArray")
    butler.registry.register_collection("u/run")
    before = repo_state(butler)
    call, message = LOOKUPS[lookup]
    with pytest.raises(QuantaError) as info:
        call(butler)
    assert message in str(info.value)
    assert repo_state(butler) == before
