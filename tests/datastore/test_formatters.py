"""Formatters: exact round trips per storage class, type checks, corrupt files, lazy imports."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from quanta.core.errors import ConfigError, DatastoreError
from quanta.core.image import Image
from quanta.datastore import FileDatastore, formatter_for

from .conftest import MakeRef

IMAGE_HEADER = {
    "EXPTIME": 30.0,
    "OBSID": "SC_20240101_000123",
    "DETECTOR": 12,
    "SHUTTER": True,
    "gain": 1.2345678901234567e-05,
    "Long Key With Case": -1.0 / 3.0,
    "TINY": 5e-324,
    "NOTE": "x" * 150,
    "EMPTY": "",
    "BIG": 2**62,
}


@pytest.mark.parametrize(
    "dtype", ["float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32"]
)
def test_image_round_trip_is_exact(datastore: FileDatastore, make_ref: MakeRef, dtype: str) -> None:
    rng = np.random.default_rng(7)
    image = rng.uniform(0, 100, (20, 30)).astype(dtype)
    mask = rng.integers(0, 2**31 - 1, (20, 30), dtype=np.int32)
    variance = rng.random((20, 30))
    variance[3, 4] = np.nan
    original = Image(image, mask, variance, dict(IMAGE_HEADER))
    stored = datastore.write(original, make_ref("calexp", storage_class="Image"))
    assert stored.path.endswith(".fits")
    result = datastore.read(stored)
    assert isinstance(result, Image)
    assert result.header == IMAGE_HEADER
    for name in ("image", "mask", "variance"):
        got, want = getattr(result, name), getattr(original, name)
        assert got.dtype == want.dtype and got.dtype.isnative
        np.testing.assert_array_equal(got, want)


def test_image_header_numpy_scalars_are_stored_as_python_values(tmp_path: Path) -> None:
    formatter = formatter_for("Image")
    header = {"G": np.float32(0.1), "N": np.int64(5), "B": np.bool_(False)}
    formatter.write(Image(np.zeros((2, 2)), header=header), tmp_path / "a.fits")
    result = formatter.read(tmp_path / "a.fits")
    assert isinstance(result, Image)
    assert result.header == {"G": float(np.float32(0.1)), "N": 5, "B": False}
    assert type(result.header["B"]) is bool


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({"X": float("nan")}, "no NaN"),
        ({"X": "caf\u00e9"}, "printable ASCII"),
        ({"X": "trailing "}, "trailing spaces"),
        ({"NAXIS": 2}, "structural"),
        ({"a=b": 1}, "without '='"),
        ({"X": [1, 2]}, "has type list"),
        ({"Gain": 1, "GAIN": 2}, "ignoring case"),
        ({"k" * 70: 1.5}, "longer than 80"),
    ],
)
def test_image_header_values_fits_cannot_hold_are_refused(
    tmp_path: Path, header: dict[str, object], message: str
) -> None:
    path = tmp_path / "a.fits"
    with pytest.raises(DatastoreError, match=message):
        formatter_for("Image").write(Image(np.zeros((2, 2)), header=header), path)
    assert not path.exists()


@pytest.mark.parametrize(
    ("planes", "message"),
    [
        ({"variance": np.zeros((2, 2), np.float16)}, "variance plane .* got float16"),
        ({"mask": np.zeros((2, 2), bool)}, "mask plane .* got bool"),
        ({"variance": None}, "variance plane .* got NoneType"),
    ],
)
def test_image_planes_fits_cannot_hold_are_refused(
    tmp_path: Path, planes: dict[str, object], message: str
) -> None:
    image = Image(np.zeros((2, 2)))
    for name, value in planes.items():
        setattr(image, name, value)
    path = tmp_path / "a.fits"
    with pytest.raises(DatastoreError, match=message):
        formatter_for("Image").write(image, path)
    assert not path.exists()


def test_parquet_round_trip_keeps_schema_and_values(
    datastore: FileDatastore, make_ref: MakeRef
) -> None:
    schema = pa.schema(
        [
            pa.field("exposure", pa.int64(), nullable=False, metadata={"doc": "exposure id"}),
            pa.field("mean", pa.float32()),
            pa.field("amp", pa.string()),
            pa.field("gains", pa.list_(pa.float64())),
        ],
        metadata={"producer": "test"},
    )
    table = pa.table(
        {
            "exposure": [1001, 1002, 1003],
            "mean": [1.5, None, 3.25],
            "amp": ["C00", "C01", None],
            "gains": [[1.0, 2.0], [], None],
        },
        schema=schema,
    )
    stored = datastore.write(table, make_ref("ptcTable", storage_class="ArrowTable"))
    assert stored.path.endswith(".parquet")
    result = datastore.read(stored)
    assert isinstance(result, pa.Table)
    assert result.schema.equals(schema, check_metadata=True)
    assert result.equals(table, check_metadata=True)


def test_json_round_trip_with_numpy_scalars_and_non_finite_floats(
    datastore: FileDatastore, make_ref: MakeRef
) -> None:
    data = {
        "gain": np.float64(1.25),
        "n": np.int32(7),
        "ok": np.bool_(True),
        "bad": float("nan"),
        "limits": (float("-inf"), float("inf")),
        "name": "pair 1001+1002 \u00e9",
        "nested": {"z": [1, None, {"a": 0.1}], "a": False},
    }
    stored = datastore.write(data, make_ref("ptcFit"))
    result = datastore.read(stored)
    assert isinstance(result, dict)
    assert math.isnan(result.pop("bad"))
    assert result == {
        "gain": 1.25,
        "n": 7,
        "ok": True,
        "limits": [float("-inf"), float("inf")],
        "name": "pair 1001+1002 \u00e9",
        "nested": {"z": [1, None, {"a": 0.1}], "a": False},
    }
    assert type(result["n"]) is int and type(result["ok"]) is bool


def test_json_output_is_deterministic_with_sorted_keys(tmp_path: Path) -> None:
    formatter = formatter_for("StructuredData")
    formatter.write({"b": 1, "a": {"d": 2, "c": 3}}, tmp_path / "one.json")
    formatter.write({"a": {"c": 3, "d": 2}, "b": 1}, tmp_path / "two.json")
    text = (tmp_path / "one.json").read_text()
    assert text == (tmp_path / "two.json").read_text()
    assert list(json.loads(text)) == ["a", "b"]
    assert text.index('"c"') < text.index('"d"')


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({1: "x"}, r"string keys; \$ has key 1"),
        ({"a": [1, {2, 3}]}, r"cannot hold \$\.a\[1\] of type builtins\.set"),
        ({"a": np.complex128(1j)}, r"\$\.a of type numpy\.complex128"),
    ],
)
def test_json_refuses_what_it_cannot_hold_exactly(
    tmp_path: Path, data: object, message: str
) -> None:
    with pytest.raises(DatastoreError, match=message):
        formatter_for("StructuredData").write(data, tmp_path / "a.json")
    assert not (tmp_path / "a.json").exists()


@pytest.mark.parametrize(
    "array",
    [
        np.arange(24, dtype=np.float32).reshape(2, 3, 4),
        np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3)),
        np.array([(1, 2.5), (3, -1.0)], dtype=[("id", "i4"), ("value", "f8")]),
        np.array(["a", "bc"]),
        np.array(np.pi),
    ],
)
def test_numpy_round_trip_is_exact(
    datastore: FileDatastore, make_ref: MakeRef, array: np.ndarray
) -> None:
    stored = datastore.write(array, make_ref("arr", storage_class="NumpyArray"))
    assert stored.path.endswith(".npy")
    result = datastore.read(stored)
    assert isinstance(result, np.ndarray)
    assert result.dtype == array.dtype and result.shape == array.shape
    assert result.flags.f_contiguous == array.flags.f_contiguous
    np.testing.assert_array_equal(result, array)


def test_numpy_refuses_object_arrays_and_masked_arrays(tmp_path: Path) -> None:
    formatter = formatter_for("NumpyArray")
    with pytest.raises(DatastoreError, match="dtype object: object arrays need pickle"):
        formatter.write(np.array([{"a": 1}], dtype=object), tmp_path / "a.npy")
    with pytest.raises(DatastoreError, match="not a masked array"):
        formatter.write(np.ma.masked_array([1, 2], mask=[0, 1]), tmp_path / "a.npy")
    assert not (tmp_path / "a.npy").exists()


def test_numpy_never_unpickles_on_read(tmp_path: Path) -> None:
    path = tmp_path / "pickled.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DatastoreError, match=f"cannot read {path} as NumpyArray"):
        formatter_for("NumpyArray").read(path)


@pytest.mark.parametrize(
    ("storage_class", "obj", "type_name"),
    [
        ("Image", np.zeros((2, 2)), "numpy.ndarray"),
        ("ArrowTable", {"a": [1]}, "builtins.dict"),
        ("StructuredData", object(), "builtins.object"),
        ("NumpyArray", [1, 2, 3], "builtins.list"),
        ("Plot", "figure.png", "builtins.str"),
    ],
)
def test_wrong_type_names_storage_class_and_type(
    tmp_path: Path, storage_class: str, obj: object, type_name: str
) -> None:
    formatter = formatter_for(storage_class)
    path = tmp_path / f"a{formatter.extension}"
    message = f"storage class '{storage_class}' needs .*{type_name}"
    with pytest.raises(DatastoreError, match=message):
        formatter.write(obj, path)
    assert not path.exists()


SAMPLES = {
    "Image": lambda: Image(np.arange(400, dtype=np.float32).reshape(20, 20), header={"A": 1}),
    "ArrowTable": lambda: pa.table({"a": list(range(500))}),
    "StructuredData": lambda: {"a": list(range(20))},
    "NumpyArray": lambda: np.arange(500.0),
    "Plot": lambda: _png(),
}


def _png() -> bytes:
    """A small real figure, rendered the way tasks render theirs."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 2))
    figure.add_subplot().plot([0, 1], [1, 0])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def test_plot_round_trip_is_byte_exact_and_refuses_other_bytes(tmp_path: Path) -> None:
    formatter = formatter_for("Plot")
    path = tmp_path / f"a{formatter.extension}"
    data = _png()
    formatter.write(data, path)
    assert formatter.read(path) == data
    with pytest.raises(DatastoreError, match="needs PNG-encoded bytes"):
        formatter.write(data[:-12], tmp_path / "b.png")
    assert not (tmp_path / "b.png").exists()


@pytest.mark.parametrize("storage_class", list(SAMPLES))
@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "missing"])
def test_unreadable_file_raises_datastore_error_naming_the_path(
    tmp_path: Path, storage_class: str, damage: str
) -> None:
    formatter = formatter_for(storage_class)
    path = tmp_path / f"a{formatter.extension}"
    formatter.write(SAMPLES[storage_class](), path)
    data = path.read_bytes()
    damaged = {"truncated": data[: len(data) // 2], "garbage": b"\x93garbage" * 9, "empty": b""}
    if damage == "missing":
        path.unlink()
    else:
        path.write_bytes(damaged[damage])
    with pytest.raises(DatastoreError, match=f"cannot read {path} as {storage_class}"):
        formatter.read(path)


def test_unknown_storage_class_lists_valid_ones() -> None:
    with pytest.raises(ConfigError, match="'Catalog'; valid storage classes: ArrowTable, Image"):
        formatter_for("Catalog")


def test_import_loads_no_heavy_library() -> None:
    code = (
        "import sys, quanta.datastore as d\n"
        "for sc in ('Image', 'ArrowTable', 'StructuredData', 'NumpyArray'):\n"
        "    d.formatter_for(sc)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'astropy', 'pyarrow'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
