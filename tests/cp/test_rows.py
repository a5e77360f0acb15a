"""Reading rows of an ``Image``: the formatter's sectioned read and the deferred handle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from quanta.butler import Butler
from quanta.butler.quantum_io import ButlerQuantumIO, InputBinding
from quanta.core.data_id import DataCoordinate
from quanta.core.dataset_type import DatasetType
from quanta.core.errors import DatastoreError
from quanta.core.image import Image
from quanta.core.refs import DatasetRef
from quanta.cp.rows import InMemoryRows
from quanta.datastore.formatters import formatter_for
from repo_data import INSTRUMENT, make_repo

HEADER = {"EXPTIME": 30.0, "OSLEVEL C00": 1000.5}


def _image() -> Image:
    rng = np.random.default_rng(3)
    return Image(
        rng.random((50, 7)).astype(np.float32),
        rng.integers(0, 8, (50, 7), dtype=np.int32),
        rng.random((50, 7)),
        dict(HEADER),
    )


@pytest.fixture
def path(tmp_path: Path) -> Path:
    target = tmp_path / "image.fits"
    formatter_for("Image").write(_image(), target)
    return target


@pytest.mark.parametrize("rows", [(0, 50), (0, 1), (13, 29), (49, 50), (20, 20)])
def test_rows_equal_the_slice_of_the_whole_image(path: Path, rows: tuple[int, int]) -> None:
    formatter = formatter_for("Image")
    whole = formatter.read(path)
    part = formatter.read(path, rows=rows)  # type: ignore[call-arg]
    assert part.header == HEADER
    for plane in ("image", "mask", "variance"):
        got, want = getattr(part, plane), getattr(whole, plane)[slice(*rows)]
        assert got.dtype == want.dtype and got.dtype.isnative
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("rows", [(-1, 3), (3, 2), (0, 51)])
def test_rows_outside_the_image_are_refused(path: Path, rows: tuple[int, int]) -> None:
    with pytest.raises(DatastoreError, match="its planes have 50 rows"):
        formatter_for("Image").read(path, rows=rows)  # type: ignore[call-arg]


@pytest.mark.parametrize("chunk_rows", [1, 7, 50, 64])
def test_chunks_from_one_open_file_make_up_the_image(path: Path, chunk_rows: int) -> None:
    formatter = formatter_for("Image")
    chunks = list(formatter.iter_rows(path, chunk_rows))  # type: ignore[attr-defined]
    assert [c.shape[0] for c in chunks[:-1]] == [chunk_rows] * (len(chunks) - 1)
    assert sum(c.shape[0] for c in chunks) == 50
    whole = formatter.read(path)
    for plane in ("image", "mask", "variance"):
        joined = np.concatenate([getattr(c, plane) for c in chunks])
        assert joined.dtype.isnative
        np.testing.assert_array_equal(joined, getattr(whole, plane))
    assert all(c.header == HEADER for c in chunks)


def test_chunks_of_a_missing_file_or_of_no_rows_are_refused(path: Path) -> None:
    formatter = formatter_for("Image")
    with pytest.raises(DatastoreError, match="cannot read"):
        next(formatter.iter_rows(path.with_name("missing.fits"), 5))  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="chunk_rows"):
        next(formatter.iter_rows(path, 0))  # type: ignore[attr-defined]


def test_shape_comes_from_the_header(path: Path) -> None:
    assert formatter_for("Image").read_shape(path) == (50, 7)  # type: ignore[attr-defined]
    with pytest.raises(DatastoreError, match="cannot read"):
        formatter_for("Image").read_shape(path.with_name("missing.fits"))  # type: ignore[attr-defined]


def _ref(butler: Butler, name: str, storage_class: str) -> DatasetRef:
    dims = butler.universe.group(("instrument", "detector", "exposure"))
    data_id = DataCoordinate.standardize(
        {"instrument": INSTRUMENT, "detector": 0, "exposure": 1}, dims
    )
    return DatasetRef.for_output(DatasetType(name, dims, storage_class), data_id, "run")


def test_deferred_handles_read_rows_and_shape(tmp_path: Path) -> None:
    butler = make_repo(tmp_path / "repo")
    image_ref, array_ref = _ref(butler, "calexp", "Image"), _ref(butler, "arr", "NumpyArray")
    files = [
        butler.datastore.write(_image(), image_ref),
        butler.datastore.write(np.zeros(3), array_ref),
    ]
    qio = ButlerQuantumIO(
        butler.datastore,
        image_ref.data_id,
        {
            "images": InputBinding([image_ref], files[:1], multiple=True, defer_load=True),
            "arrays": InputBinding([array_ref], files[1:], multiple=True, defer_load=True),
        },
        {},
    )
    [handle] = qio.get("images")
    assert handle.shape() == (50, 7)
    np.testing.assert_array_equal(handle.get(rows=(5, 9)).image, _image().image[5:9])
    np.testing.assert_array_equal(handle.get().variance, _image().variance)
    chunks = list(handle.iter_rows(20))
    assert [c.shape for c in chunks] == [(20, 7), (20, 7), (10, 7)]
    np.testing.assert_array_equal(chunks[2].mask, _image().mask[40:])
    [array] = qio.get("arrays")
    np.testing.assert_array_equal(array.get(), np.zeros(3))
    with pytest.raises(DatastoreError, match="only the Image storage class"):
        array.get(rows=(0, 1))
    with pytest.raises(DatastoreError, match="only the Image storage class"):
        array.shape()
    with pytest.raises(DatastoreError, match="only the Image storage class"):
        array.iter_rows(1)


def test_in_memory_rows_behave_like_a_handle() -> None:
    source = InMemoryRows(_image())
    assert source.shape() == (50, 7)
    assert source.get() is source.image
    part = source.get(rows=(3, 6))
    np.testing.assert_array_equal(part.mask, _image().mask[3:6])
    assert part.header == HEADER
    chunks = list(source.iter_rows(30))
    assert [c.shape[0] for c in chunks] == [30, 20]
    np.testing.assert_array_equal(chunks[1].image, _image().image[30:])
