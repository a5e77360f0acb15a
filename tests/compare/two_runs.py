"""A small repository with two runs that differ in known ways, for the collection-level
and command-line tests of ``quanta compare``.

Runs ``run/a`` and ``run/b`` of instrument Cam (``tests/repo_data.py``), detector 0:

- ``calexp`` (Image, per exposure): exposures 5 and 6 in both, pixel (3, 4) of
  exposure 6's image plane 0.5 higher in B; exposure 7 only in A;
- ``pairTable`` (ArrowTable, per detector with the free-form key ``pair``): ``5+6`` in
  both (row ``C01``'s ``mean`` 1.0 higher in B), ``7+8`` only in B;
- ``summary`` (StructuredData) and ``plot`` (Plot): identical;
- ``task_metadata`` (StructuredData): a different ``duration_s`` (skipped by default).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np
import pyarrow as pa

from quanta.butler import Butler
from quanta.core.data_id import DataCoordinate
from quanta.core.image import Image
from repo_data import make_repo

RUN_A, RUN_B = "run/a", "run/b"
PNG = b"\x89PNG\r\n\x1a\n" + b"not really an image" + b"\x00\x00\x00\x00IEND\xaeB`\x82"
DETECTOR = ("instrument", "detector")
EXPOSURE = ("instrument", "detector", "exposure")
#: The one differing pixel (row, column) of calexp exposure 6.
PIXEL = (3, 4)


def image(exposure: int) -> Image:
    rng = np.random.default_rng(exposure)
    pixels = rng.normal(1000.0, 30.0, (8, 10)).astype(np.float32)
    return Image(pixels, np.zeros((8, 10), np.int32), pixels / 2, {"EXPTIME": 1.0})


def pair_table(mean_c01: float) -> pa.Table:
    return pa.table(
        {"amp": ["C00", "C01"], "mean": [500.0, mean_c01], "start_ns": [1, 2]},
    )


def put(butler: Butler, obj: Any, name: str, run: str, pair: str | None = None, **ids: Any) -> None:
    dataset_type = butler.registry.get_dataset_type(name)
    data_id = DataCoordinate.standardize(
        {"instrument": "Cam", "detector": 0, **ids},
        dataset_type.dimensions,
        extras={"pair": pair} if pair else None,
    )
    butler.put(obj, dataset_type, data_id, run=run)


def make_two_runs(root: Path) -> Butler:
    """Create the repository the module docstring describes."""
    butler = make_repo(root)
    butler.register_dataset_type("calexp", EXPOSURE, "Image")
    butler.register_dataset_type("pairTable", DETECTOR, "ArrowTable")
    butler.register_dataset_type("summary", DETECTOR, "StructuredData")
    butler.register_dataset_type("plot", DETECTOR, "Plot")
    butler.register_dataset_type("task_metadata", DETECTOR, "StructuredData")
    for run in (RUN_A, RUN_B):
        for exposure in (5, 6):
            calexp = image(exposure)
            if run == RUN_B and exposure == 6:
                calexp.image[PIXEL] += np.float32(0.5)
            put(butler, calexp, "calexp", run, exposure=exposure)
        put(butler, pair_table(501.0 if run == RUN_B else 500.0), "pairTable", run, "5+6")
        put(butler, {"gain": 1.5, "amps": ["C00", "C01"]}, "summary", run)
        put(butler, PNG, "plot", run)
        put(butler, {"duration_s": 1.0 if run == RUN_A else 2.0}, "task_metadata", run)
    put(butler, image(7), "calexp", RUN_A, exposure=7)
    put(butler, pair_table(600.0), "pairTable", RUN_B, "7+8")
    return butler


def file_of(butler: Butler, name: str, run: str, **ids: Any) -> Path:
    """The path of the file (to break it) of the dataset whose data ID has ``ids``,
    free-form keys included."""
    for ref in butler.query_datasets(name, [run]):
        if all(str(ref.data_id[k]) == str(v) for k, v in ids.items()):
            return Path(url2pathname(urlparse(butler.get_uri(ref)).path))
    raise LookupError(f"no {name} with {ids} in {run}")
