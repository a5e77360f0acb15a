"""``ButlerQuantumIO``: reading inputs by file record, writing outputs once, cleaning up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from quanta.butler import Butler
from quanta.butler.quantum_io import ButlerQuantumIO, InputBinding, OutputBinding
from quanta.core.data_id import DataCoordinate
from quanta.core.dataset_type import DatasetType
from quanta.core.errors import ConflictError, UnknownNameError
from quanta.core.refs import DatasetRef
from repo_data import INSTRUMENT, make_repo

EXPOSURE = ("instrument", "detector", "exposure")


@pytest.fixture
def butler(tmp_path: Path) -> Butler:
    return make_repo(tmp_path / "repo")


def _refs(butler: Butler, name: str, exposures: list[int]) -> list[DatasetRef]:
    dataset_type = DatasetType(name, butler.universe.group(EXPOSURE), "NumpyArray")
    return [
        DatasetRef.for_output(
            dataset_type,
            DataCoordinate.standardize(
                {"instrument": INSTRUMENT, "detector": 0, "exposure": e}, dataset_type.dimensions
            ),
            "run",
        )
        for e in exposures
    ]


def _qio(butler: Butler, *, defer: bool = False) -> tuple[ButlerQuantumIO, list[DatasetRef]]:
    inputs = _refs(butler, "raw", [1, 2])
    files = [butler.datastore.write(np.full(2, float(r.data_id["exposure"])), r) for r in inputs]
    outputs = _refs(butler, "calexp", [1, 2])
    qio = ButlerQuantumIO(
        butler.datastore,
        inputs[0].data_id,
        {
            "one": InputBinding(inputs[:1], files[:1]),
            "many": InputBinding(inputs, files, multiple=True, defer_load=defer),
        },
        {
            "single": OutputBinding(outputs[:1]),
            "pair": OutputBinding(outputs, multiple=True),
            "_metadata": OutputBinding(_refs(butler, "meta", [1])),
        },
        hidden=("_metadata",),
    )
    return qio, outputs


def test_inputs_are_read_single_multiple_and_deferred(butler: Butler) -> None:
    qio, _ = _qio(butler)
    assert qio.input_names == ["one", "many"]
    assert qio.output_names == ["single", "pair"]
    np.testing.assert_array_equal(qio.get("one"), [1.0, 1.0])
    assert [a[0] for a in qio.get("many")] == [1.0, 2.0]
    deferred, _ = _qio(butler, defer=True)
    handles = deferred.get("many")
    assert [h.ref.data_id["exposure"] for h in handles] == [1, 2]
    assert handles[1].get()[0] == 2.0
    with pytest.raises(UnknownNameError, match="no input 'single'"):
        qio.get("single")


def test_outputs_are_written_once_and_discarded_on_request(butler: Butler) -> None:
    qio, outputs = _qio(butler)
    qio.put(np.zeros(3), "single")
    with pytest.raises(ConflictError, match="already written"):
        qio.put(np.zeros(3), "single")
    with pytest.raises(UnknownNameError, match="no output 'nope'"):
        qio.put(np.zeros(3), "nope")
    with pytest.raises(ValueError, match="sequence of 2"):
        qio.put(np.zeros(3), "pair")
    qio.put([np.ones(1), np.ones(2)], "pair")
    qio.put(np.zeros(1), "_metadata")
    written = qio.written
    assert [f.dataset_id for f in written[:3]] == [outputs[0].id, outputs[0].id, outputs[1].id]
    paths = [butler.datastore.path(f) for f in written]
    assert all(p.is_file() for p in paths)
    qio.discard()
    assert qio.written == [] and not any(p.exists() for p in paths)


def test_a_file_left_by_an_interrupted_attempt_is_replaced(butler: Butler) -> None:
    qio, outputs = _qio(butler)
    stale = butler.datastore.write(np.full(3, 7.0), outputs[0])
    qio.put(np.zeros(3), "single")
    (stored,) = qio.written
    assert stored.path == stale.path and stored.checksum != stale.checksum
    np.testing.assert_array_equal(butler.datastore.read(stored), np.zeros(3))
