"""Reading raw files for ingest: find them, check them, translate their headers.

``observe`` runs in worker processes and returns plain data (the translated observation
as a dict, or the one-line reason the file is refused), so nothing but strings and
numbers crosses process boundaries and workers never touch the registry (invariant 1).
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

from ..core.errors import DatastoreError, QuantaError
from .base import HeaderError
from .loader import get_instrument

#: (path, translated observation or None, refusal reason or None)
Observation = tuple[Path, dict[str, Any] | None, str | None]
BLOCK = 2880
CARD = 80
_SIZE_KEYWORDS = ("BITPIX", "NAXIS", "PCOUNT", "GCOUNT")


def find_raw_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given and ``*.fits`` files under directories (recursively), each once."""
    found: dict[Path, Path] = {}
    for item in paths:
        path = Path(item)
        if path.is_dir():
            candidates = [p for p in sorted(path.rglob("*.fits")) if p.is_file()]
        elif path.exists():
            candidates = [path]
        else:
            raise DatastoreError(f"cannot ingest {path}: no such file or directory")
        for candidate in candidates:
            found.setdefault(candidate.resolve(), candidate)
    return list(found.values())


def read_primary_header(path: Path) -> dict[str, Any]:
    """The primary header of a FITS file whose every HDU lies complete within the file."""
    import warnings

    from astropy.io import fits

    try:
        with open(path, "rb") as stream:
            primary = _walk_hdus(stream, os.fstat(stream.fileno()).st_size)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return dict(fits.Header.fromstring(primary.decode("ascii")).items())
    except DatastoreError:
        raise
    except (OSError, ValueError) as err:
        raise DatastoreError(f"unreadable: {err}") from err


def _walk_hdus(stream: BinaryIO, size: int) -> bytes:
    """Check that every HDU's header and data (padding included) lie within the file, and
    that nothing follows the last one; returns the primary header's bytes.

    astropy reads the headers of a truncated file without complaint and parses every
    card of every HDU, so the walk reads only the few keywords that give each HDU's size
    and seeks over the data: a header costs one read, whatever the size of the pixels.
    """
    offset, index, primary = 0, 0, b""
    while offset < size or index == 0:
        header = _read_header(stream, offset, index, size)
        values = _size_keywords(header)
        axes = [values.get(f"NAXIS{n}", 0) for n in range(1, values.get("NAXIS", 0) + 1)]
        elements = values.get("PCOUNT", 0) + (math.prod(axes) if axes else 0)
        nbytes = abs(values.get("BITPIX", 8)) // 8 * values.get("GCOUNT", 1) * elements
        end = offset + len(header) + -(-nbytes // BLOCK) * BLOCK
        if end > size:
            raise DatastoreError(
                f"truncated: HDU {index} ends at byte {end} but the file has {size} bytes"
            )
        primary = primary or header
        offset, index = end, index + 1
    return primary


def _read_header(stream: BinaryIO, offset: int, index: int, size: int) -> bytes:
    """The header blocks of the HDU starting at ``offset``, up to the one holding END."""
    stream.seek(offset)
    blocks: list[bytes] = []
    while True:
        block = stream.read(BLOCK)
        if not blocks and not block.startswith(b"XTENSION=" if index else b"SIMPLE  ="):
            if index:
                raise DatastoreError(f"corrupt: {size - offset} stray bytes after the last HDU")
            raise DatastoreError("unreadable: " + ("empty file" if not block else "not FITS"))
        if len(block) < BLOCK:
            raise DatastoreError(f"truncated: the header of HDU {index} is cut short")
        blocks.append(block)
        if any(block[i : i + 8] == b"END     " for i in range(0, BLOCK, CARD)):
            return b"".join(blocks)


def _size_keywords(header: bytes) -> dict[str, int]:
    """BITPIX, NAXIS, NAXISn, PCOUNT and GCOUNT (fixed-format integers, FITS 4.4.1)."""
    values = {}
    for start in range(0, len(header), CARD):
        key = header[start : start + 8].rstrip().decode("ascii")
        if key in _SIZE_KEYWORDS or (key.startswith("NAXIS") and key[5:].isdigit()):
            values[key] = int(header[start + 10 : start + CARD].split(b"/")[0])
    return values


def observe(path: str) -> tuple[dict[str, Any] | None, str | None]:
    """Translate one raw file: ``(observation dict, None)`` or ``(None, reason)``."""
    try:
        header = read_primary_header(Path(path))
        name = header.get("INSTRUME")
        if not name:
            raise HeaderError("missing keyword INSTRUME")
        return get_instrument(str(name).strip()).translate(header).to_dict(), None
    except QuantaError as err:
        return None, str(err)


def read_observations(files: list[Path], jobs: int) -> list[Observation]:
    """``observe`` every file, in ``jobs`` worker processes when more than one."""
    names = [str(path) for path in files]
    if jobs <= 1 or len(files) <= 1:
        results = [observe(name) for name in names]
    else:
        workers = min(jobs, len(files))
        chunk = max(1, min(64, len(files) // (workers * 4)))
        # Never fork (the driving process holds database connections); a fork server that
        # has imported this module and astropy once starts workers faster than spawn.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__, "astropy.io.fits", "astropy.time"])
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            results = list(pool.map(observe, names, chunksize=chunk))
    return [(path, info, reason) for path, (info, reason) in zip(files, results, strict=True)]
