"""Master calibrations: sigma-clipped combinations of ISR-corrected frames, per detector.

``CpBiasCombineTask`` combines biases as they are; ``CpDarkCombineTask`` divides each
dark by its dark time first (the master is per second); ``CpFlatCombineTask`` divides
each flat by its mean first and the master by its own mean (the master has mean 1).

The inputs are deferred: each is read a chunk of rows at a time from its file, opened
once (``iter_rows``), all inputs' rows are combined (``cp.algorithms.combine_rows``), and
the chunk is dropped, so memory holds the master and one chunk of every input, sized to
``memory_mb``. Input pixels masked ``SAT`` or ``BAD`` are left out; a master pixel that
kept no input is ``BAD``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from ..core.deferred import DeferredInput
from ..core.image import Image
from ..pipe import Input, Output, PipelineTask, PipelineTaskConfig, PipelineTaskConnections
from ..pipe.quantum_io import QuantumIO
from . import headers as hdr
from .algorithms import ClipOptions, Combined, MaskBit, combine_rows, mask_header
from .algorithms.combine import RowReader, StackChunk
from .isr import DETECTOR, EXPOSURE
from .rows import planes, row_sources

Header = dict[str, Any]

FILTER_DETECTOR = (*DETECTOR, "physical_filter")
#: Bytes of working memory per input sample while a chunk is combined: the values and
#: variances read (float64), their sorted and offset copies, masks and weights.
BYTES_PER_SAMPLE = 64


class CombineConfig(PipelineTaskConfig):
    """Sigma clipping and the memory a combination may use."""

    nsigma: float = Field(3.0, gt=0, description="Clip samples beyond this many sigma.")
    max_iter: int = Field(5, ge=1, description="Clipping passes at most.")
    center: Literal["median", "mean"] = Field("median", description="Clip around this.")
    statistic: Literal["mean", "median"] = Field("mean", description="Of the samples kept.")
    sigma: Literal["variance", "data"] = Field(
        "variance", description="Each sample's sigma from its variance, or the pixel's scatter."
    )
    memory_mb: float = Field(128.0, gt=0, description="Working memory for one chunk of rows.")
    bad_mask: list[Literal["SAT", "BAD", "EDGE"]] = Field(
        default=["SAT", "BAD"], description="Input mask bits left out."
    )

    def clip_options(self) -> ClipOptions:
        """The clipping options of ``cp.algorithms``."""
        return ClipOptions(self.nsigma, self.max_iter, self.center, self.statistic, self.sigma)


@dataclass(frozen=True)
class Normalization:
    """What each input is multiplied by before combining, and its weight (None: equal)."""

    scales: list[float]
    weights: list[float] | None = None


class CombineConnections(PipelineTaskConnections):
    """Every ``postISRCCD`` of the quantum in; subclasses add the master they write."""

    inputs = Input(
        "postISRCCD",
        "Image",
        EXPOSURE,
        doc="ISR-corrected frames, read in row chunks.",
        multiple=True,
        defer_load=True,
    )


class CpBiasCombineConnections(CombineConnections, dimensions=DETECTOR):
    """Biases of a detector in, its master bias out."""

    master = Output("bias", "Image", DETECTOR, doc="Master bias.", is_calibration=True)


class CpDarkCombineConnections(CombineConnections, dimensions=DETECTOR):
    """Darks of a detector in, its master dark (per second) out."""

    master = Output("dark", "Image", DETECTOR, doc="Master dark, per s.", is_calibration=True)


class CpFlatCombineConnections(CombineConnections, dimensions=FILTER_DETECTOR):
    """Flats of a detector and filter in, its master flat out."""

    master = Output(
        "flat", "Image", FILTER_DETECTOR, doc="Master flat, mean 1.", is_calibration=True
    )


class CombineTask(PipelineTask):
    """Base of the combine tasks: stream the inputs, combine, write the master."""

    ConfigClass = CombineConfig
    config: CombineConfig
    #: ``OBSTYPE`` of the master: ``bias``, ``dark`` or ``flat``.
    calibration: ClassVar[str] = ""

    def run_quantum(self, qio: QuantumIO) -> None:
        """Combine every input handle; write the master."""
        qio.put(self.run(qio.get("inputs"))["master"], "master")

    def run(self, inputs: Sequence[DeferredInput | Image]) -> dict[str, Image]:  # type: ignore[override]
        """The master of ``inputs`` (deferred handles, or ``Image``s for small data)."""
        if not inputs:
            raise ValueError(f"no inputs to combine into a {self.calibration}")
        sources = row_sources(inputs)
        shape = sources[0].shape()
        for source in sources[1:]:
            if source.shape() != shape:
                raise ValueError(f"inputs of shapes {source.shape()} and {shape} do not stack")
        headers = [s.get(rows=(0, 0)).header for s in sources]
        norm = self.normalization(sources, headers)
        chunk = self._chunk_rows(len(sources), shape[1])
        combined = combine_rows(
            self._reader(sources, norm.scales, shape[1], chunk),
            shape,
            self.config.clip_options(),
            chunk,
            norm.weights,
        )
        return {"master": self.master(combined, headers)}

    def normalization(
        self, sources: Sequence[DeferredInput], headers: Sequence[Header]
    ) -> Normalization:
        """How inputs are scaled and weighted: as they are, equally (a bias)."""
        return Normalization([1.0] * len(sources))

    def master(self, combined: Combined, headers: Sequence[Header]) -> Image:
        """The master ``Image``: the combination, ``BAD`` where no input was kept, and a
        header with ``OBSTYPE``, ``NCOMBINE``, ``BUNIT`` and the mask bits."""
        mask = np.where(combined.count == 0, np.int32(MaskBit.BAD), np.int32(0))
        header: Header = {"OBSTYPE": self.calibration, "NCOMBINE": len(headers)}
        unit = headers[0].get("BUNIT")
        if unit:
            header["BUNIT"] = str(unit)
        header.update(mask_header())
        return Image(combined.image, mask, combined.variance, header)

    def _bad_bits(self) -> int:
        bits = 0
        for name in self.config.bad_mask:
            bits |= MaskBit[name]
        return bits

    def _chunk_rows(self, n_inputs: int, columns: int) -> int:
        """Rows per chunk so that a chunk's working memory fits ``memory_mb``."""
        budget = int(self.config.memory_mb * 2**20)
        return max(1, budget // (BYTES_PER_SAMPLE * n_inputs * columns))

    def _reader(
        self,
        sources: Sequence[DeferredInput],
        scales: Sequence[float],
        columns: int,
        chunk_rows: int,
    ) -> RowReader:
        """Reads the next ``chunk_rows`` rows (``y0:y1``) of every input, scaled, with
        validity from the masks; each input's file stays open from chunk to chunk."""
        bad = self._bad_bits()
        readers = [source.iter_rows(chunk_rows) for source in sources]

        def read(y0: int, y1: int) -> StackChunk:
            values = np.empty((len(sources), y1 - y0, columns))
            variance = np.empty_like(values)
            valid = np.empty(values.shape, dtype=bool)
            for i, (reader, scale) in enumerate(zip(readers, scales, strict=True)):
                image, mask, var = planes(next(reader))
                values[i] = image * scale
                variance[i] = var * scale**2
                valid[i] = (mask & bad) == 0
            return values, variance, valid

        return read


class CpBiasCombineTask(CombineTask):
    """Master bias: biases combined as they are; the header keeps each amplifier's bias
    level (``OSLEVEL``, ADU, mean of the inputs') and read noise (``RDNOISE``, e-, root
    mean square of the inputs' overscan noise in electrons)."""

    ConnectionsClass = CpBiasCombineConnections
    calibration = "bias"

    def master(self, combined: Combined, headers: Sequence[Header]) -> Image:
        """The master with per-amplifier bias level and read noise in its header."""
        image = super().master(combined, headers)
        levels = [hdr.amp_values(h, hdr.OSLEVEL) for h in headers]
        noises = [hdr.amp_values(h, hdr.OSNOISE_E) for h in headers]
        for amp in levels[0]:
            image.header[hdr.amp_key(hdr.OSLEVEL, amp)] = statistics.fmean(lv[amp] for lv in levels)
            if all(amp in n for n in noises):
                variance = statistics.fmean(n[amp] ** 2 for n in noises)
                image.header[hdr.amp_key(hdr.RDNOISE, amp)] = math.sqrt(variance)
        return image


class CpDarkCombineTask(CombineTask):
    """Master dark per second: each dark divided by its dark time (``DARKTIME``)."""

    ConnectionsClass = CpDarkCombineConnections
    calibration = "dark"

    def normalization(
        self, sources: Sequence[DeferredInput], headers: Sequence[Header]
    ) -> Normalization:
        """Each input divided by its dark time."""
        times = [float(h.get("DARKTIME", 0.0)) for h in headers]
        if not all(t > 0 for t in times):
            raise ValueError(f"darks need a positive DARKTIME; got {times}")
        return Normalization([1.0 / t for t in times])

    def master(self, combined: Combined, headers: Sequence[Header]) -> Image:
        """The master, its unit per second."""
        image = super().master(combined, headers)
        if "BUNIT" in image.header:
            image.header["BUNIT"] = f"{image.header['BUNIT']}{hdr.PER_SECOND}"
        return image


class CpFlatCombineTask(CombineTask):
    """Master flat of one filter: each flat divided by its mean, the master by its own."""

    ConnectionsClass = CpFlatCombineConnections
    calibration = "flat"

    def normalization(
        self, sources: Sequence[DeferredInput], headers: Sequence[Header]
    ) -> Normalization:
        """Each input divided by the mean of its valid pixels and weighted by the inverse
        of its mean variance once divided (deep flats count more), in one chunked pass; a
        flat with no valid pixel (saturated everywhere) gets weight 0."""
        bad = self._bad_bits()
        chunk = self._chunk_rows(1, sources[0].shape()[1])
        scales, weights = [], []
        for source in sources:
            total, spread, count = 0.0, 0.0, 0
            for part in source.iter_rows(chunk):
                image, mask, variance = planes(part)
                good = (mask & bad) == 0
                total += float(image[good].sum(dtype=np.float64))
                spread += float(variance[good].sum(dtype=np.float64))
                count += int(good.sum())
            if count == 0:  # saturated everywhere: it adds nothing, and is no error
                self.log.warning("a flat has no valid pixels; it is left out")
                scales.append(1.0)
                weights.append(0.0)
                continue
            if not total > 0 or not spread > 0:
                raise ValueError("a flat has no positive mean and variance")
            scales.append(count / total)
            weights.append(total * total / (spread * count))
        return Normalization(scales, weights)

    def master(self, combined: Combined, headers: Sequence[Header]) -> Image:
        """The master scaled to mean 1 over the pixels that kept an input; no unit."""
        image = super().master(combined, headers)
        kept = combined.count > 0
        mean = float(combined.image[kept].mean(dtype=np.float64))
        image.image /= np.float32(mean)
        image.variance /= np.float32(mean * mean)  # type: ignore[operator]
        image.header.pop("BUNIT", None)
        filters = {h.get("FILTER") for h in headers}
        if len(filters) == 1 and None not in filters:
            image.header["FILTER"] = filters.pop()
        return image
