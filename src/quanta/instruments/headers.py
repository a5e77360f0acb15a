"""Reading raw files for ingest and scan: find them, check them, translate their headers.

A header is translated by the installed quanta instrument its ``INSTRUME`` names, else by
astro-metadata-translator (see ``translation``). A file whose primary header has no
pixels and whose detectors are image extensions (a DECam-style multi-extension file) gives
one observation per detector: the primary header merged with that extension's header.

``observe`` and ``observe_file`` run in worker processes and return plain data (the
translated observation as a dict, or the one-line reason the file is refused), so
nothing but strings and numbers crosses process boundaries and workers never touch the
registry (invariant 1).
"""

from __future__ import annotations

import functools
import math
import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from ..core.errors import DatastoreError, QuantaError
from .base import HeaderError, Instrument, ObservationInfo
from .loader import get_instrument, known_instruments
from .translation import TranslatedInstrument, UnrecognisedHeaderError, translate_header

T = TypeVar("T")
#: (path, translated observation or None, refusal reason or None)
Observation = tuple[Path, dict[str, Any] | None, str | None]
#: One detector of a file: (the extension merged with the primary header, or None for the
#: primary alone; translated observation or None; refusal reason or None)
Outcome = tuple[int | None, dict[str, Any] | None, str | None]
BLOCK = 2880
CARD = 80
_SIZE_KEYWORDS = ("BITPIX", "NAXIS", "PCOUNT", "GCOUNT")


def find_raw_files(paths: Iterable[str | Path], action: str = "ingest") -> list[Path]:
    """Files as given and ``*.fits`` files under directories (recursively), each once;
    ``action`` names what a missing path cannot be used for."""
    found: dict[Path, Path] = {}
    for item in paths:
        path = Path(item)
        if path.is_dir():
            candidates = [p for p in sorted(path.rglob("*.fits")) if p.is_file()]
        elif path.exists():
            candidates = [path]
        else:
            raise DatastoreError(f"cannot {action} {path}: no such file or directory")
        for candidate in candidates:
            found.setdefault(candidate.resolve(), candidate)
    return list(found.values())


def read_primary_header(path: Path) -> dict[str, Any]:
    """The primary header of a FITS file whose every HDU lies complete within the file."""
    return dict(LazyHeader(parse_header(read_header_blocks(path)[0])).items())


def read_header_blocks(path: Path) -> list[bytes]:
    """The header bytes of every HDU of a FITS file whose every HDU lies complete within the
    file; ``DatastoreError`` saying why a file is unreadable, truncated or corrupt."""
    try:
        with open(path, "rb") as stream:
            return _walk_hdus(stream, os.fstat(stream.fileno()).st_size)
    except DatastoreError:
        raise
    except (OSError, ValueError) as err:
        raise DatastoreError(f"unreadable: {err}") from err


def parse_header(block: bytes) -> Any:
    """One HDU's header bytes as an astropy ``Header`` (whose values are parsed on use)."""
    from astropy.io import fits

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fits.Header.fromstring(block.decode("ascii"))
    except ValueError as err:
        raise DatastoreError(f"unreadable: {err}") from err


class LazyHeader(Mapping[str, Any]):
    """The keywords of one or more astropy headers (a later one wins), each value parsed
    from its card on first use: a translator reads a few dozen of hundreds of cards."""

    def __init__(self, *headers: Any) -> None:
        self._headers = headers[::-1]

    def __getitem__(self, key: str) -> Any:
        from astropy.io.fits.verify import VerifyError

        for header in self._headers:
            if key in header:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        return header[key]
                except (ValueError, VerifyError) as err:
                    raise HeaderError(f"keyword {key}: unreadable value: {err}") from None
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return any(key in header for header in self._headers)

    def __iter__(self) -> Iterator[str]:
        keys = (key for header in reversed(self._headers) for key in header if key)
        return iter(dict.fromkeys(keys))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _walk_hdus(stream: BinaryIO, size: int) -> list[bytes]:
    """Check that every HDU's header and data (padding included) lie within the file, and
    that nothing follows the last one; returns every HDU's header bytes.

    astropy reads the headers of a truncated file without complaint and parses every
    card of every HDU, so the walk reads only the few keywords that give each HDU's size
    and seeks over the data: a header costs one read, whatever the size of the pixels.
    """
    offset, index, headers = 0, 0, []
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
        headers.append(header)
        offset, index = end, index + 1
    return headers


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


def translate_observation(
    header: Mapping[str, Any], filename: str | None = None, corrections: Sequence[Path] = ()
) -> ObservationInfo:
    """The observation one header describes: by the installed instrument ``INSTRUME`` names,
    else by astro-metadata-translator and then, if the translated instrument is installed,
    checked by it; header corrections apply to every library translation."""
    name = str(header.get("INSTRUME") or "").strip()
    instrument = _installed(name)
    if instrument is None:
        try:
            info = translate_header(header, filename=filename, corrections=corrections)
        except UnrecognisedHeaderError as err:
            known = ", ".join(known_instruments()) or "none installed"
            unknown = f"unknown instrument {name!r}; known instruments: {known}"
            raise HeaderError(
                f"{unknown if name else 'missing keyword INSTRUME'}, and no header translator "
                f"recognises this header (known translators: {', '.join(err.translators)})"
            ) from None
        instrument = _installed(info.instrument)
        if instrument is None:
            return info
    if corrections and isinstance(instrument, TranslatedInstrument):
        instrument = instrument.with_corrections(corrections)
    return instrument.translate(header)


def _installed(name: str) -> Instrument | None:
    """The installed quanta instrument called ``name``, if any."""
    return get_instrument(name) if name in known_instruments() else None


def observe_file(path: str, corrections: Sequence[str] = ()) -> list[Outcome]:
    """Translate one raw file: one outcome per detector, and a refusal that every
    detector shares (an unreadable file, a processed image...) once for the file."""
    dirs = [Path(d) for d in corrections]
    try:
        units = _header_units(read_header_blocks(Path(path)))
    except QuantaError as err:
        return [(None, None, str(err))]
    outcomes: list[Outcome] = []
    seen: set[object] = set()
    for hdu, header in units:
        try:
            info = translate_observation(header, path, dirs).to_dict()
        except QuantaError as err:
            key: object = str(err)
            outcome: Outcome = (hdu, None, str(err))
        else:
            key = (info["instrument"], info["obs_id"], info["detector"])
            outcome = (hdu, info, None)
        if key not in seen:
            seen.add(key)
            outcomes.append(outcome)
    if len(outcomes) == 1 and outcomes[0][1] is None:
        return [(None, None, outcomes[0][2])]
    return outcomes


def _header_units(blocks: list[bytes]) -> list[tuple[int | None, Mapping[str, Any]]]:
    """The headers to translate: the primary header alone, or, when the primary has no
    pixels and the file has image extensions and no quanta instrument of its own reads
    the primary alone, the primary merged with each image extension."""
    first = parse_header(blocks[0])
    primary = LazyHeader(first)
    instrument = _installed(str(primary.get("INSTRUME") or "").strip())
    if primary.get("NAXIS", 0) or (
        instrument is not None and not isinstance(instrument, TranslatedInstrument)
    ):
        return [(None, primary)]
    units: list[tuple[int | None, Mapping[str, Any]]] = []
    for index, block in enumerate(blocks[1:], 1):
        extension = parse_header(block)
        if _is_image(LazyHeader(extension)):
            units.append((index, LazyHeader(first, extension)))
    return units or [(None, primary)]


def _is_image(header: Mapping[str, Any]) -> bool:
    """An image extension with pixels (tile-compressed images included)."""
    kind = str(header.get("XTENSION", "")).strip()
    if kind == "BINTABLE" and header.get("ZIMAGE") is True:
        axes = header.get("ZNAXIS")
    else:
        axes = header.get("NAXIS") if kind == "IMAGE" else None
    return isinstance(axes, int) and axes > 0


def observe(path: str, corrections: Sequence[str] = ()) -> tuple[dict[str, Any] | None, str | None]:
    """Translate one raw file for ingest, which takes one detector per file:
    ``(observation dict, None)`` or ``(None, reason)``."""
    outcomes = observe_file(path, corrections)
    if len(outcomes) == 1:
        return outcomes[0][1], outcomes[0][2]
    refused = [(hdu, reason) for hdu, info, reason in outcomes if info is None]
    if refused:
        return None, f"HDU {refused[0][0]}: {refused[0][1]}"
    detectors = ", ".join(str(info["detector"]) for _, info, _ in outcomes if info is not None)
    return None, f"holds detectors {detectors}: ingest takes files of one detector"


def map_files(
    function: Callable[[str], T], files: list[Path], jobs: int, preload: Sequence[str] = ()
) -> list[T]:
    """``function`` of every file's name, in ``jobs`` worker processes when more than one;
    the workers' fork server imports this module, astropy and ``preload`` once."""
    names = [str(path) for path in files]
    if jobs <= 1 or len(files) <= 1:
        return [function(name) for name in names]
    workers = min(jobs, len(files))
    chunk = max(1, min(64, len(files) // (workers * 4)))
    # Never fork (the driving process holds database connections); a fork server that
    # has imported this module and astropy once starts workers faster than spawn.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__, "astropy.io.fits", "astropy.time", *preload])
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        return list(pool.map(function, names, chunksize=chunk))


def read_observations(
    files: list[Path], jobs: int, corrections: Sequence[Path] = ()
) -> list[Observation]:
    """``observe`` every file, in ``jobs`` worker processes when more than one."""
    function = functools.partial(observe, corrections=tuple(str(d) for d in corrections))
    results = map_files(function, files, jobs)
    return [(path, info, reason) for path, (info, reason) in zip(files, results, strict=True)]
