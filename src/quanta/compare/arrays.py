"""Pixel-by-pixel comparison of arrays: ``Image`` planes, ``RawImage`` amplifiers and
``NumpyArray`` datasets.

An array is scanned in flat chunks of ``CHUNK`` elements so that temporaries stay in
cache and small whatever the image size (``PlaneScan``). A chunk whose bits are equal on
both sides (the common case in a parity check) costs one vectorised comparison of the
raw bits; in a chunk that is not, the elements that differ (or the whole chunk, when
many do) are converted to float64 for the differences, the NaN/infinity pattern, the
tolerance test and the locations. Images can be fed as chunks of rows read from both
files in lockstep (``compare_image_chunks``), so that a pair of images is never whole
in memory.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable
from typing import Any

import numpy as np

from quanta.core.image import Image
from quanta.core.raw import RawImage

from .options import CompareOptions
from .report import ImageDiff, PlaneDiff
from .stats import DiffSample
from .structured import compare_structured
from .thumbnails import DiffGrid

#: Elements per chunk: 1 MB of float32, so a chunk's float64 temporaries fit in cache.
CHUNK = 1 << 18
#: A chunk with fewer than 1 in _SPARSE elements differing compares only those elements.
_SPARSE = 8
#: The planes of an ``Image``, as ``PlaneDiff`` names them.
PLANES = ("image", "mask", "variance")
_NUMERIC = "iuf"
_BITS = "iub"


def compare_images(a: Image, b: Image, options: CompareOptions) -> ImageDiff:
    """The image and variance planes with the tolerances, the mask bit by bit, and the
    header as structured data."""
    return compare_image_chunks([a], [b], options)


def compare_raw_images(a: RawImage, b: RawImage, options: CompareOptions) -> ImageDiff:
    """Each amplifier's pixels as a plane named after it; headers and geometry (and
    amplifiers on one side only) as structured data."""
    amps_b = {amp.geometry.name: amp for amp in b.amps}
    planes = [
        compare_array(amp.geometry.name, amp.pixels, amps_b[amp.geometry.name].pixels, options)
        for amp in a.amps
        if amp.geometry.name in amps_b
    ]
    header = compare_structured(_raw_metadata(a), _raw_metadata(b), options)
    return ImageDiff(planes=planes, header=header.paths, n_header_differ=header.n_paths)


def compare_numpy(a: np.ndarray, b: np.ndarray, options: CompareOptions) -> ImageDiff:
    """A ``NumpyArray`` dataset as one plane called ``array``."""
    return ImageDiff(planes=[compare_array("array", a, b, options)])


def _raw_metadata(raw: RawImage) -> dict[str, Any]:
    """Everything of a raw but its pixels, as structured data."""
    return {
        "header": raw.header,
        "amps": {
            amp.geometry.name: {"header": amp.header, "geometry": dataclasses.asdict(amp.geometry)}
            for amp in raw.amps
        },
    }


def compare_array(
    name: str, a: np.ndarray, b: np.ndarray, options: CompareOptions, *, bitwise: bool = False
) -> PlaneDiff:
    """Compare two arrays element by element (see ``PlaneDiff``); with ``bitwise`` (masks)
    integer values must match exactly and the differing bits are counted."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return PlaneDiff(
            name=name,
            shape_a=list(a.shape),
            shape_b=list(b.shape),
            dtype_a=str(a.dtype),
            dtype_b=str(b.dtype),
        )
    scan = PlaneScan(name, a.shape, a.dtype, b.dtype, options, bitwise=bitwise)
    scan.add(a.reshape(-1), b.reshape(-1))
    return scan.finish()


def compare_image_chunks(
    chunks_a: Iterable[Image], chunks_b: Iterable[Image], options: CompareOptions
) -> ImageDiff:
    """Compare two images given as consecutive chunks of rows (``Image``s sharing the
    image's header, the same number of rows per chunk on both sides), read in lockstep:
    only one chunk of each is in memory at a time.

    If the images turn out to have different shapes, the rest of both is read to count
    their rows and only the shapes are reported.
    """
    scans: list[PlaneScan] | None = None
    headers: list[dict[str, Any]] = [{}, {}]
    shapes = [[0, 0], [0, 0]]
    for a, b in itertools.zip_longest(chunks_a, chunks_b):
        for shape, first_header, chunk in zip(shapes, headers, (a, b), strict=True):
            if chunk is not None:
                if not shape[0]:
                    first_header.update(chunk.header)
                shape[:] = [shape[0] + chunk.shape[0], chunk.shape[1]]
        if a is None or b is None or a.shape != b.shape or scans == []:
            scans = []  # the shapes differ: no pixel comparison
            continue
        if scans is None:
            scans = [
                PlaneScan(name, a.shape, x.dtype, y.dtype, options, bitwise=name == "mask")
                for name, x, y in zip(PLANES, _planes(a), _planes(b), strict=True)
            ]
        for scan, x, y in zip(scans, _planes(a), _planes(b), strict=True):
            scan.add(x.reshape(-1), y.reshape(-1))
    header = compare_structured(headers[0], headers[1], options)
    if scans:
        planes = [scan.finish(rows=shapes[0][0]) for scan in scans]
    else:
        planes = [
            PlaneDiff(name=n, shape_a=shapes[0], shape_b=shapes[1], dtype_a="", dtype_b="")
            for n in PLANES
        ]
    return ImageDiff(planes=planes, header=header.paths, n_header_differ=header.n_paths)


def _planes(image: Image) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(p) for p in (image.image, image.mask, image.variance))


def _mode(dtype_a: np.dtype, dtype_b: np.dtype, bitwise: bool) -> str:
    """``bits`` for integer masks, ``numeric`` for numbers, ``exact`` for anything else."""
    if bitwise and dtype_a.kind in _BITS and dtype_b.kind in _BITS:
        return "bits"
    if dtype_a.kind in _NUMERIC and dtype_b.kind in _NUMERIC:
        return "numeric"
    return "exact"


def _unsigned(dtype_a: np.dtype, dtype_b: np.dtype) -> np.dtype | None:
    """The unsigned integer type that views both dtypes' bits for an equality test (None
    when they differ or have no such view)."""
    if dtype_a != dtype_b or dtype_a.kind not in "biufc" or dtype_a.itemsize not in (1, 2, 4, 8):
        return None
    return np.dtype(f"u{dtype_a.itemsize}")


class PlaneScan:
    """One array compared as it streams by: ``add`` consecutive stretches of both arrays
    (flat, in storage order), then ``finish``.

    Each stretch is taken ``CHUNK`` elements at a time; a chunk whose bits are equal on
    both sides costs one comparison. In a chunk that is not, only the elements whose bits
    differ are converted and compared when they are few (the usual parity-check case).
    """

    def __init__(
        self,
        name: str,
        shape: tuple[int, ...],
        dtype_a: np.dtype,
        dtype_b: np.dtype,
        options: CompareOptions,
        *,
        bitwise: bool = False,
    ) -> None:
        self.name = name
        self.shape = shape
        self.dtypes = (dtype_a, dtype_b)
        self.options = options
        self.mode = _mode(dtype_a, dtype_b, bitwise)
        self.unsigned = _unsigned(dtype_a, dtype_b)
        self.seen = 0
        self.n_unequal = 0
        self.n_differ = 0
        self.n_nonfinite = 0
        self.max_abs, self.max_abs_at = 0.0, -1
        self.max_rel, self.max_rel_at = 0.0, -1
        self.locations: list[int] = []
        self.bits: dict[int, int] = {}
        self.sample = DiffSample()
        self.grid = DiffGrid(shape[1]) if len(shape) == 2 else None
        self._buffer = np.empty(CHUNK, dtype=bool)

    def add(self, a: np.ndarray, b: np.ndarray) -> None:
        """Compare the next ``a.size`` elements of both arrays (1-d, same size)."""
        for offset in range(0, a.size, CHUNK):
            ca, cb = a[offset : offset + CHUNK], b[offset : offset + CHUNK]
            start = self.seen + offset
            if self.unsigned is None:
                self._chunk(start, None, ca, cb)
                continue
            unequal = self._buffer[: ca.size]
            np.not_equal(ca.view(self.unsigned), cb.view(self.unsigned), out=unequal)
            count = int(np.count_nonzero(unequal))
            if count == 0:
                continue
            if count * _SPARSE < ca.size:
                index = np.flatnonzero(unequal)
                self._chunk(start, index, ca[index], cb[index])
            else:
                self._chunk(start, None, ca, cb)
        self.seen += a.size

    def _chunk(self, start: int, index: np.ndarray | None, a: np.ndarray, b: np.ndarray) -> None:
        """Compare elements that may differ: a whole chunk (``index`` None) or the elements
        at ``index`` of the chunk starting at flat position ``start``."""
        if self.mode == "bits":
            self._bits(start, index, a, b)
        elif self.mode == "numeric":
            self._numeric(start, index, a, b)
        else:
            try:
                unequal = np.asarray(a != b, dtype=bool)
            except (TypeError, ValueError):  # values of incomparable types: all differ
                unequal = np.ones(a.shape, dtype=bool)
            count = int(np.count_nonzero(unequal))
            self.n_unequal += count
            self.n_differ += count
            self._locate(start, index, unequal)
            self._draw(start, index, unequal, None, unequal)

    def _bits(self, start: int, index: np.ndarray | None, a: np.ndarray, b: np.ndarray) -> None:
        unequal = a != b
        flipped = np.bitwise_xor(a[unequal], b[unequal])
        flipped = flipped.view(np.dtype(f"u{flipped.dtype.itemsize}"))
        count = flipped.size
        self.n_unequal += count
        self.n_differ += count
        union = int(np.bitwise_or.reduce(flipped)) if count else 0
        bit = 0
        while union >> bit:
            if (union >> bit) & 1:
                pixels = int(np.count_nonzero(flipped & flipped.dtype.type(1 << bit)))
                self.bits[bit] = self.bits.get(bit, 0) + pixels
            bit += 1
        self._locate(start, index, unequal)
        self._draw(start, index, unequal, None, unequal)

    def _numeric(self, start: int, index: np.ndarray | None, a: np.ndarray, b: np.ndarray) -> None:
        fa = a.astype(np.float64)
        fb = b.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: NaN, handled below
            diff = fb - fa
        finite = np.isfinite(diff)
        mismatch = None
        if not finite.all():
            # NaN matches NaN and an infinity matches the same infinity; anything else
            # that is not finite on both sides is a mismatch of the non-finite pattern.
            same = (fa == fb) | (np.isnan(fa) & np.isnan(fb))
            mismatch = ~finite & ~same
            self.n_nonfinite += int(np.count_nonzero(mismatch))
            diff[~finite] = 0.0
        size = np.abs(diff)
        unequal = size != 0
        count = int(np.count_nonzero(unequal))
        self.n_unequal += count
        differ = unequal if self.options.exact else self.options.beyond(size, fb)
        self.n_differ += int(np.count_nonzero(differ))
        if count:
            i = int(size.argmax())
            if size[i] > self.max_abs:
                self.max_abs, self.max_abs_at = float(size[i]), _position(start, index, i)
            scale = np.maximum(np.abs(fa), np.abs(fb))
            relative = np.divide(size, scale, out=np.zeros_like(size), where=unequal)
            j = int(relative.argmax())
            if relative[j] > self.max_rel:
                self.max_rel, self.max_rel_at = float(relative[j]), _position(start, index, j)
            self.sample.add(diff[unequal])
        differ = differ if mismatch is None else differ | mismatch
        self._locate(start, index, differ)
        self._draw(start, index, unequal | differ, size, differ)

    def _draw(
        self,
        start: int,
        index: np.ndarray | None,
        unequal: np.ndarray,
        size: np.ndarray | None,
        differ: np.ndarray,
    ) -> None:
        """Add the unequal elements (their sizes, and which differ) to the thumbnail grid."""
        if self.grid is None or not unequal.any():
            return
        if index is None:  # a whole chunk: by blocks of rows
            self.grid.add_run(start, size, differ)
            return
        picks = np.flatnonzero(unequal)
        flat = (picks if index is None else index[picks]) + start
        self.grid.add(flat, None if size is None else size[picks], differ[picks])

    def _locate(self, start: int, index: np.ndarray | None, differ: np.ndarray) -> None:
        room = self.options.max_listed - len(self.locations)
        if room > 0:
            picks = np.flatnonzero(differ)[:room]
            positions = picks if index is None else index[picks]
            self.locations.extend((positions + start).tolist())

    def finish(self, rows: int | None = None) -> PlaneDiff:
        """The plane's comparison; ``rows`` gives the first axis of a streamed image."""
        shape = self.shape if rows is None else (rows, *self.shape[1:])
        return PlaneDiff(
            name=self.name,
            shape_a=list(shape),
            shape_b=list(shape),
            dtype_a=str(self.dtypes[0]),
            dtype_b=str(self.dtypes[1]),
            n_total=self.seen,
            n_unequal=self.n_unequal,
            n_differ=self.n_differ,
            n_nonfinite_mismatch=self.n_nonfinite,
            max_abs=self.max_abs,
            max_abs_at=_index(self.max_abs_at, shape),
            max_rel=self.max_rel,
            max_rel_at=_index(self.max_rel_at, shape),
            mean=self.sample.mean,
            spread=self.sample.spread(),
            differing_at=[_index(i, shape) or [] for i in self.locations],
            bits=self.bits if self.mode == "bits" else None,
            histogram=self.sample.histogram(),
            thumbnail=(
                self.grid.finish(shape[0], self.mode == "numeric")
                if self.grid is not None and self.n_unequal + self.n_nonfinite
                else None
            ),
        )


def _index(flat: int, shape: tuple[int, ...]) -> list[int] | None:
    """The index along every axis of flat position ``flat`` (None for -1: nowhere)."""
    if flat < 0:
        return None
    return [int(i) for i in np.unravel_index(flat, shape)]


def _position(start: int, index: np.ndarray | None, i: int) -> int:
    """The flat position of element ``i`` of a compared chunk."""
    return start + (i if index is None else int(index[i]))
