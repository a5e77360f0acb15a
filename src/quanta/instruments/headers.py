"""Reading raw files for ingest and scan: find them, check them, translate their headers.

A header is translated by the installed quanta instrument its ``INSTRUME`` names, else by
the camera file of that name, else by astro-metadata-translator (see ``translation``),
whose result a camera file using that translator then checks and names. A file whose
primary header has no pixels and whose detectors are image extensions (a DECam-style
multi-extension file) gives one observation per detector: the primary header merged with
that extension's header.

``observe_file`` runs in worker processes and returns plain data (the translated
observation as a dict, or the one-line reason the file or extension is refused), so
nothing but strings and numbers crosses process boundaries and workers never touch the
registry (invariant 1): camera files come to them as paths.
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
from typing import Any, BinaryIO, NamedTuple, TypeVar

from ..core.errors import DatastoreError, QuantaError
from ..core.progress import ProgressCallback, tracked
from ..core.raw import AmpGeometry
from ..core.raw_layout import amp_layouts, has_sections, section_cards
from .base import HeaderError, Instrument, ObservationInfo
from .camera import Camera, load_camera
from .geometry import geometry_differences
from .loader import get_instrument, known_instruments
from .translation import (
    TranslatedInstrument,
    UnrecognisedHeaderError,
    processed_reason,
    recognising_translator,
    translate_header,
)

T = TypeVar("T")
#: The step ``map_files`` reports to a progress callback.
READING = "reading headers"


class Outcome(NamedTuple):
    """One detector of a file: its HDU (``None``: the whole file), its translated
    observation or why it is refused, and what is worth a warning (its sections
    disagree with its camera file's)."""

    hdu: int | None
    info: dict[str, Any] | None
    reason: str | None
    warnings: tuple[str, ...] = ()


class Observation(NamedTuple):
    """An ``Outcome`` with its file."""

    path: Path
    hdu: int | None
    info: dict[str, Any] | None
    reason: str | None
    warnings: tuple[str, ...] = ()


#: Name patterns of the raw files found under a directory.
RAW_PATTERNS = ("*.fits", "*.fits.fz")
BLOCK = 2880
CARD = 80
_SIZE_KEYWORDS = ("BITPIX", "NAXIS", "PCOUNT", "GCOUNT")


def find_raw_files(paths: Iterable[str | Path], action: str = "ingest") -> list[Path]:
    """Files as given and ``*.fits`` and ``*.fits.fz`` files under directories
    (recursively), each once; ``action`` names what a missing path cannot be used for."""
    found: dict[Path, Path] = {}
    for item in paths:
        path = Path(item)
        if path.is_dir():
            matches = {p for pattern in RAW_PATTERNS for p in path.rglob(pattern)}
            candidates = [p for p in sorted(matches) if p.is_file()]
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
        text = block.decode("ascii")
    except UnicodeDecodeError as err:
        card = err.start // CARD
        keyword = block[card * CARD : card * CARD + 8].decode("ascii", "replace").strip()
        raise DatastoreError(
            f"unreadable: header card {card + 1} ({keyword or 'no keyword'}) holds byte "
            f"0x{block[err.start]:02x}, which is not ASCII"
        ) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fits.Header.fromstring(text)
    except ValueError as err:
        raise DatastoreError(f"unreadable: {err}") from err


class ParsedHeaders:
    """The headers of a file's HDUs, each parsed on first use and then kept: translation
    and the section checks read the same extensions."""

    def __init__(self, blocks: list[bytes]) -> None:
        self._blocks = blocks
        self._parsed: dict[int, Any] = {}

    def __len__(self) -> int:
        return len(self._blocks)

    def __getitem__(self, index: int) -> Any:
        if index not in self._parsed:
            self._parsed[index] = parse_header(self._blocks[index])
        return self._parsed[index]


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
    header: Mapping[str, Any],
    filename: str | None = None,
    corrections: Sequence[Path] = (),
    cameras: Mapping[str, Camera] | None = None,
) -> ObservationInfo:
    """The observation one header describes: by the installed instrument or the camera
    file ``INSTRUME`` names, else by astro-metadata-translator, then checked and named by
    the installed instrument it translates to or by the camera file (of ``cameras``) that
    uses that translator; header corrections apply to every library translation."""
    cameras = cameras or {}
    name = str(header.get("INSTRUME") or "").strip()
    instrument = _installed(name) or _camera_instrument(cameras.get(name))
    if instrument is None:
        translator = _recognising(header, filename, name, cameras)
        instrument = _camera_instrument(_camera_using(cameras, translator))
        if instrument is None:
            info = translate_header(
                header, filename=filename, corrections=corrections, translator=translator
            )
            instrument = _installed(info.instrument) or _camera_instrument(
                cameras.get(info.instrument)
            )
            if instrument is None:
                return info
    if corrections and isinstance(instrument, TranslatedInstrument):
        instrument = instrument.with_corrections(corrections)
    return instrument.translate(header)


def _recognising(
    header: Mapping[str, Any], filename: str | None, name: str, cameras: Mapping[str, Camera]
) -> str:
    """The name of the library's translator that recognises a header no instrument or
    camera file claims by name; ``HeaderError`` for a processed image or an unknown one."""
    if (reason := processed_reason(header)) is not None:
        raise HeaderError(reason)
    try:
        return recognising_translator(header, filename)
    except UnrecognisedHeaderError as err:
        known = ", ".join([*known_instruments(), *cameras]) or "none installed"
        unknown = f"unknown instrument {name!r}; known instruments: {known}"
        raise HeaderError(
            f"{unknown if name else 'missing keyword INSTRUME'}, and no header translator "
            f"recognises this header (known translators: {', '.join(err.translators)})"
        ) from None


def _installed(name: str) -> Instrument | None:
    """The installed quanta instrument called ``name``, if any."""
    return get_instrument(name) if name in known_instruments() else None


def _camera_instrument(camera: Camera | None) -> TranslatedInstrument | None:
    """The instrument a camera file defines, translating by its ``translator``."""
    if camera is None:
        return None
    return TranslatedInstrument(
        camera.name, camera.filters, camera.detectors, translator=camera.translator
    )


def _camera_using(cameras: Mapping[str, Camera], translator: str) -> Camera | None:
    """The one camera file whose ``translator`` is ``translator``, if any."""
    using = [camera for camera in cameras.values() if camera.translator == translator]
    if len(using) > 1:
        names = " and ".join(sorted(camera.name for camera in using))
        raise HeaderError(
            f"camera files {names} both use the {translator} translator: which one took "
            "this exposure is ambiguous; register one of them per repository"
        )
    return using[0] if using else None


@functools.cache
def load_cameras(paths: tuple[str, ...]) -> dict[str, Camera]:
    """The camera files at ``paths`` by camera name, read once per process."""
    cameras = {}
    for path in paths:
        camera = load_camera(path)
        cameras[camera.name] = camera
    return cameras


def observe_file(
    path: str, corrections: Sequence[str] = (), cameras: tuple[str, ...] = ()
) -> list[Outcome]:
    """Translate one raw file, with the camera files at ``cameras``: one outcome per
    detector extension, except for a file whose extensions all belong to one detector
    (its HDU is then ``None``: the whole file) or share one refusal (an unreadable file,
    a processed image...). In a file of many detectors, an extension repeating an earlier
    one's detector is refused: each detector must be one extension."""
    dirs = [Path(d) for d in corrections]
    try:
        known = load_cameras(cameras)
        headers = ParsedHeaders(read_header_blocks(Path(path)))
        units = _header_units(headers, known)
    except QuantaError as err:
        return [Outcome(None, None, str(err))]
    outcomes: list[Outcome] = []
    holder: dict[tuple[str, str, int], int | None] = {}
    repeats: list[tuple[int | None, int, int | None]] = []
    for hdu, header in units:
        try:
            info = translate_observation(header, path, dirs, known).to_dict()
        except QuantaError as err:
            outcomes.append(Outcome(hdu, None, str(err)))
            continue
        key = (info["instrument"], info["obs_id"], info["detector"])
        if key in holder:
            repeats.append((hdu, key[2], holder[key]))
        else:
            holder[key] = hdu
            outcomes.append(Outcome(hdu, info, None))
    one_detector = len(outcomes) == 1 and (len(units) > 1 or outcomes[0].info is None)
    one_refusal = not holder and len({outcome.reason for outcome in outcomes}) == 1
    if one_detector or one_refusal:
        outcomes = [outcomes[0]._replace(hdu=None)]
    else:
        for hdu, detector, first in repeats:
            again = f"detector {detector} again (HDU {first} holds it)"
            outcomes.append(Outcome(hdu, None, again))
    return sorted(
        (_checked(outcome, headers, known) for outcome in outcomes),
        key=lambda outcome: outcome.hdu or 0,
    )


def _checked(outcome: Outcome, headers: ParsedHeaders, cameras: Mapping[str, Camera]) -> Outcome:
    """A translated detector refused when its raw's sections cannot be read (sections
    outside the pixels, overlapping, incomplete), with a warning for each way they differ
    from its camera file's, or when a camera file's raw gives none at all; sections are
    checked only where the raw gives them."""
    if outcome.info is None:
        return outcome
    amps: list[tuple[str | None, AmpGeometry]] = []
    for index, header in _detector_hdus(headers, outcome.hdu):
        extname = header.get("EXTNAME")
        try:
            layouts = amp_layouts(section_cards(header), extname, _shape(header))
        except ValueError as err:
            where = f"HDU {index}" + (f" ({extname})" if extname else "") + ": "
            reason = f"{'' if outcome.hdu is not None else where}bad sections: {err}"
            return outcome._replace(info=None, reason=reason)
        amps += [(extname, geometry) for geometry, _ in layouts]
    camera = cameras.get(outcome.info["instrument"])
    if camera is None:
        return outcome
    if not amps:
        unreadable = "the raw gives no amplifier sections (DATASEC...): ISR cannot read it"
        return outcome._replace(warnings=(unreadable,))
    try:
        detector = camera.detector(outcome.info["detector"])
    except KeyError:
        return outcome
    return outcome._replace(warnings=tuple(geometry_differences(amps, detector)))


def _detector_hdus(headers: ParsedHeaders, hdu: int | None) -> list[tuple[int, Any]]:
    """The headers (by HDU index) that give one detector's sections: its own extension,
    or every HDU of a file of one detector."""
    indices = [hdu] if hdu is not None else range(len(headers))
    found = []
    for index in indices:
        header = headers[index]
        if has_sections(header):
            found.append((index, header))
    return found


def _shape(header: Mapping[str, Any]) -> tuple[int, int]:
    """Rows and columns of an image HDU (tile-compressed or not)."""
    prefix = "Z" if header.get("ZIMAGE") is True else ""
    return int(header.get(f"{prefix}NAXIS2", 0)), int(header.get(f"{prefix}NAXIS1", 0))


def _header_units(
    headers: ParsedHeaders, cameras: Mapping[str, Camera]
) -> list[tuple[int | None, Mapping[str, Any]]]:
    """The headers to translate: the primary header alone, or, when the primary has no
    pixels and the file has image extensions and no quanta instrument of its own reads
    the primary alone, the primary merged with each image extension."""
    first = headers[0]
    primary = LazyHeader(first)
    name = str(primary.get("INSTRUME") or "").strip()
    instrument = _installed(name) or _camera_instrument(cameras.get(name))
    if primary.get("NAXIS", 0) or (
        instrument is not None and not isinstance(instrument, TranslatedInstrument)
    ):
        return [(None, primary)]
    units: list[tuple[int | None, Mapping[str, Any]]] = []
    for index in range(1, len(headers)):
        extension = headers[index]
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


def map_files(
    function: Callable[[str], T],
    files: list[Path],
    jobs: int,
    preload: Sequence[str] = (),
    progress: ProgressCallback | None = None,
) -> list[T]:
    """``function`` of every file's name, in ``jobs`` worker processes when more than one;
    the workers' fork server imports this module, astropy and ``preload`` once.
    ``progress`` hears of each file read."""
    names = [str(path) for path in files]
    if jobs <= 1 or len(files) <= 1:
        return [function(name) for name in tracked(names, progress, READING, len(names))]
    workers = min(jobs, len(files))
    chunk = max(1, min(64, len(files) // (workers * 4)))
    # Never fork (the driving process holds database connections); a fork server that
    # has imported this module and astropy once starts workers faster than spawn.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__, "astropy.io.fits", "astropy.time", *preload])
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        results = pool.map(function, names, chunksize=chunk)
        return list(tracked(results, progress, READING, len(names)))


def read_observations(
    files: list[Path],
    jobs: int,
    corrections: Sequence[Path] = (),
    cameras: Sequence[Path] = (),
    progress: ProgressCallback | None = None,
) -> list[Observation]:
    """``observe_file`` every file, in ``jobs`` worker processes when more than one: one
    observation per detector, or one refusal for a whole file; ``progress`` hears of each
    file read."""
    function = functools.partial(
        observe_file,
        corrections=tuple(str(d) for d in corrections),
        cameras=tuple(str(c) for c in cameras),
    )
    results = map_files(function, files, jobs, progress=progress)
    return [
        Observation(path, *outcome)
        for path, outcomes in zip(files, results, strict=True)
        for outcome in outcomes
    ]
