"""Legacy dataset files checked before they enter a repository: images kept as they are
when they hold quanta's three planes, FITS tables rewritten as Arrow tables.

A legacy image (``ExposureF``) is a primary HDU and named ``IMAGE``, ``MASK`` and
``VARIANCE`` extensions, which quanta's ``Image`` reads as they are; a legacy table
(defects, catalogues) is a FITS binary table, which becomes a ``pyarrow.Table``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from ..core.errors import DatastoreError
from ..instruments.headers import parse_header, read_header_blocks

PLANES = ("IMAGE", "MASK", "VARIANCE")

#: A file and its storage class.
Item = tuple[Path, str]
#: The table of a converted file (else None), and the file's problem (else None).
Checked = tuple[Any, str | None]


def check_image(path: Path) -> str | None:
    """Why a legacy image file cannot be ingested as an ``Image``, or ``None``."""
    try:
        blocks = read_header_blocks(path)
        names = {str(parse_header(b).get("EXTNAME", "")).strip().upper() for b in blocks[1:]}
    except DatastoreError as err:
        return str(err)
    missing = [plane for plane in PLANES if plane not in names]
    if missing:
        return f"not an image with {', '.join(PLANES)} extensions (no {', '.join(missing)})"
    return None


def read_table(path: Path) -> Any:
    """The first binary-table extension of a FITS file as a ``pyarrow.Table``, keeping the
    column names and values; ``DatastoreError`` when there is none or it cannot be read."""
    import warnings

    import numpy as np
    import pyarrow as pa
    from astropy.io import fits

    try:
        read_header_blocks(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(path, memmap=False) as hdus:
                tables = [h for h in hdus if isinstance(h, fits.BinTableHDU)]
                if not tables:
                    raise DatastoreError("unreadable: no binary table extension")
                data = tables[0].data
                columns = {name: np.asarray(data[name]) for name in data.columns.names}
    except (OSError, ValueError, TypeError) as err:
        raise DatastoreError(f"unreadable: {err}") from err
    native = {name: v.astype(v.dtype.newbyteorder("=")) for name, v in columns.items()}
    return pa.table(native)


def check(item: Item) -> Checked:
    """One file of a storage class: its table (``ArrowTable``, rewritten from FITS) and its
    problem; an ``Image`` must have the three planes, other files be whole FITS files."""
    path, storage_class = item
    try:
        if storage_class == "ArrowTable":
            return read_table(path), None
        if storage_class == "Image":
            return None, check_image(path)
        read_header_blocks(path)
    except DatastoreError as err:
        return None, str(err)
    return None, None


def check_all(items: Sequence[Item], jobs: int) -> Iterator[Checked]:
    """``check`` of every item in order, in ``jobs`` processes when there are many."""
    runner: Callable[[Item], Checked] = check
    if jobs <= 1 or len(items) < 2 * jobs:
        yield from map(runner, items)
        return
    with ProcessPoolExecutor(jobs) as pool:
        yield from pool.map(runner, items, chunksize=max(1, len(items) // (8 * jobs)))
