"""``IsrTask``: instrument signature removal of one detector of one exposure.

First, amplifier by amplifier: the serial overscan level is fitted and subtracted, the
gain applied (unless ``apply_gain`` is off), saturated pixels masked, and the imaging
pixels placed in the detector image with their readout flips undone. The raw is then
released. Second, in chunks of rows read from the master calibrations (so that no
calibration is ever whole in memory): bias subtraction, the variance plane (Poisson
noise of the bias-subtracted signal plus read noise), dark subtraction scaled by the
dark time, flat division. A calibration in electrons corrects an image in ADU (or the
reverse) through each amplifier's gain.

Before the overscan-corrected amplifiers are placed, the camera's curated signatures can
be removed: crosstalk between amplifiers, non-linearity (both in ADU, in readout
orientation), and curated gains and read noise in place of the raw's header values;
curated defects are masked BAD in the assembled image. Last in the first pass, in
electrons (after the gain, before bias, dark and flat, which the charge exchange
precedes; the residual bias after the overscan is a few electrons beside the thousands
this matters for), the brighter-fatter effect can be removed with a certified
``bfKernel`` (``cp.algorithms.bf_kernel``): each amplifier's own kernel where the
``bfKernel`` carries one (``per_amp``), else the detector's; the iterations made, the
last largest change and the amplifiers corrected with their own kernel are recorded as
``BFITER``, ``BFCHANGE`` and ``BFAMPKER``.

Which calibrations ISR applies is configuration (``do_bias``, ``do_dark``, ``do_flat``,
``do_crosstalk``, ``do_linearity``, ``do_gains``, ``do_defects``, ``do_brighter_fatter``);
a switched-off calibration is not a connection at all (``IsrConnections.omitted``), so
building a graph never looks it up.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import Field

from ..core.deferred import DeferredInput
from ..core.image import Image
from ..core.raw import RawImage, Section
from ..pipe import (
    Input,
    Output,
    PipelineTask,
    PipelineTaskConfig,
    PipelineTaskConnections,
    PrerequisiteInput,
)
from ..pipe.quantum_io import QuantumIO
from . import headers as hdr
from .algorithms import (
    MaskBit,
    OverscanOptions,
    apply_gain,
    correct_brighter_fatter,
    correct_crosstalk,
    correct_overscan,
    defect_mask,
    divide_flat,
    edge_slices,
    linearize,
    mask_header,
    place,
    saturated,
    subtract_bias,
    subtract_dark,
    trim,
    variance_plane,
)
from .algorithms.bf_kernel import Kernels
from .rows import planes, row_sources

EXPOSURE = ("instrument", "detector", "exposure")
DETECTOR = ("instrument", "detector")
CALIBRATIONS = ("bias", "dark", "flat")
#: The signatures of a camera ISR removes in its first pass, in order: curated ones, then
#: the brighter-fatter kernel.
SIGNATURES = ("crosstalk", "linearity", "gains", "defects", "brighter_fatter")


class IsrConnections(PipelineTaskConnections, dimensions=EXPOSURE):
    """A raw in, a post-ISR image out; master calibrations as the config asks for them."""

    raw = Input("raw", "RawImage", EXPOSURE, doc="Amplifiers as read out.")
    bias = PrerequisiteInput(
        "bias", "Image", DETECTOR, doc="Master bias.", is_calibration=True, defer_load=True
    )
    dark = PrerequisiteInput(
        "dark", "Image", DETECTOR, doc="Master dark (per s).", is_calibration=True, defer_load=True
    )
    flat = PrerequisiteInput(
        "flat",
        "Image",
        (*DETECTOR, "physical_filter"),
        doc="Master flat, mean 1.",
        is_calibration=True,
        defer_load=True,
    )
    crosstalk = PrerequisiteInput(
        "crosstalk",
        "StructuredData",
        DETECTOR,
        doc="Curated crosstalk: {coefficients: {target: {source: c}}}.",
        is_calibration=True,
    )
    linearity = PrerequisiteInput(
        "linearity",
        "StructuredData",
        DETECTOR,
        doc="Curated linearity: {amplifiers: {amp: {polynomial: [c0, c1, ...]}}}.",
        is_calibration=True,
    )
    gains = PrerequisiteInput(
        "gains",
        "StructuredData",
        DETECTOR,
        doc="Curated gains: {amplifiers: {amp: {gain: g, read_noise: r}}}, or a PTC "
        "(connections: {gains: ptc}).",
        is_calibration=True,
    )
    defects = PrerequisiteInput(
        "defects",
        "ArrowTable",
        DETECTOR,
        doc="Curated defects: boxes x0, y0, width, height in detector pixels.",
        is_calibration=True,
    )
    brighter_fatter = PrerequisiteInput(
        "bfKernel",
        "StructuredData",
        DETECTOR,
        doc="Brighter-fatter kernel: {kernel: [[...]]} in 1/e-, centred, and optionally "
        "{amplifiers: {amp: {kernel}}} (bfKernelSolve).",
        is_calibration=True,
    )
    post_isr = Output("postISRCCD", "Image", EXPOSURE, doc="The corrected detector image.")

    @classmethod
    def omitted(cls, config: PipelineTaskConfig) -> Collection[str]:
        """The calibrations and signatures whose ``do_<name>`` switch is off."""
        return [n for n in (*CALIBRATIONS, *SIGNATURES) if not getattr(config, f"do_{n}")]


class IsrConfig(PipelineTaskConfig):
    """What ISR does, and how it fits the overscan."""

    overscan_method: Literal["mean", "median", "poly"] = Field(
        "median", description="Overscan level: mean, median, or a polynomial along rows."
    )
    overscan_per_row: bool = Field(True, description="A level per row (mean and median).")
    overscan_order: int = Field(1, ge=0, description="Degree of the 'poly' overscan fit.")
    overscan_nsigma: float | None = Field(
        3.0, gt=0, description="Clip overscan outliers at this many sigma (null: no clipping)."
    )
    do_bias: bool = Field(True, description="Subtract the master bias.")
    do_dark: bool = Field(True, description="Subtract the master dark times the dark time.")
    do_flat: bool = Field(True, description="Divide by the master flat.")
    do_crosstalk: bool = Field(False, description="Remove the curated crosstalk.")
    do_linearity: bool = Field(False, description="Apply the curated linearity polynomials.")
    do_gains: bool = Field(
        False, description="Use the curated gains and read noise, not the raw's header values."
    )
    do_defects: bool = Field(False, description="Mask the curated defects BAD.")
    do_brighter_fatter: bool = Field(
        False, description="Remove the brighter-fatter effect with bfKernel (needs apply_gain)."
    )
    bf_max_iter: int = Field(
        10, ge=1, description="Most iterations of the brighter-fatter correction."
    )
    bf_threshold: float = Field(
        1e-3, gt=0, description="The correction has converged when no pixel changes by this (e-)."
    )
    apply_gain: bool = Field(True, description="Output electrons (else ADU).")
    saturation: float | None = Field(
        None, description="Raw ADU that saturates (null: each amplifier's SATURATE)."
    )
    edge_width: int = Field(2, ge=0, description="Mask this many pixels at the border EDGE.")
    chunk_rows: int = Field(128, ge=1, description="Rows of the calibrations read at a time.")

    def overscan_options(self) -> OverscanOptions:
        """The overscan fit options of ``cp.algorithms``."""
        return OverscanOptions(
            self.overscan_method, self.overscan_per_row, self.overscan_order, self.overscan_nsigma
        )


@dataclass(frozen=True)
class CalibrationRows:
    """Rows of a master calibration: its planes and its unit (without ``/s``)."""

    image: np.ndarray
    mask: np.ndarray
    variance: np.ndarray
    unit: str | None

    def bad(self, where: tuple[slice, slice]) -> np.ndarray:
        """True where the calibration's mask has the BAD bit."""
        return (self.mask[where] & MaskBit.BAD) != 0


@dataclass(frozen=True)
class AmpCalibration:
    """What the second pass needs of an amplifier: where it is, its gain and read noise."""

    name: str
    section: Section
    gain: float | None
    read_noise: float


@dataclass(frozen=True)
class Assembled:
    """A raw after ISR's first pass: the detector image and mask, each amplifier's place,
    gain and read noise, the header so far, and the dark time."""

    image: np.ndarray
    mask: np.ndarray
    amps: list[AmpCalibration]
    header: dict[str, Any]
    dark_time: float


class IsrTask(PipelineTask):
    """Instrument signature removal: a raw detector image to a calibrated ``Image``."""

    ConfigClass = IsrConfig
    ConnectionsClass = IsrConnections
    config: IsrConfig

    def run_quantum(self, qio: QuantumIO) -> None:
        """Assemble, then calibrate from the calibrations' handles. The raw is handed to
        ``assemble`` alone, so its pixels are freed before the variance plane exists."""
        signatures = {n: qio.get(n) for n in SIGNATURES if n in qio.input_names}
        assembled = self.assemble(qio.get("raw"), **signatures)
        calibrations = {n: qio.get(n) for n in CALIBRATIONS if n in qio.input_names}
        qio.put(self.calibrate(assembled, **calibrations), "post_isr")

    def run(  # type: ignore[override]
        self,
        raw: RawImage,
        bias: Image | DeferredInput | None = None,
        dark: Image | DeferredInput | None = None,
        flat: Image | DeferredInput | None = None,
        **signatures: Any,
    ) -> dict[str, Image]:
        """Correct one raw; calibrations are ``Image``s or row sources (deferred inputs),
        curated signatures (``crosstalk``, ``linearity``, ``gains``, ``defects``) as stored."""
        assembled = self.assemble(raw, **signatures)
        return {"post_isr": self.calibrate(assembled, bias, dark, flat)}

    def assemble(
        self,
        raw: RawImage,
        crosstalk: Mapping[str, Any] | None = None,
        linearity: Mapping[str, Any] | None = None,
        gains: Mapping[str, Any] | None = None,
        defects: Any = None,
        brighter_fatter: Mapping[str, Any] | None = None,
    ) -> Assembled:
        """First pass: overscan of every amplifier, then crosstalk, linearity, gain,
        saturation and placement amplifier by amplifier, then the brighter-fatter
        correction and the defects."""
        given = {"crosstalk": crosstalk, "linearity": linearity, "gains": gains}
        needed = {**given, "defects": defects, "brighter_fatter": brighter_fatter}
        for name, value in needed.items():
            if getattr(self.config, f"do_{name}") and value is None:
                raise ValueError(f"do_{name} is set but no {name} was given")
        shape = raw.detector_shape
        image = np.zeros(shape, dtype=np.float32)
        mask = np.zeros(shape, dtype=np.int32)
        header = dict(raw.header)
        amps = []
        options = self.config.overscan_options()
        fits = {}
        signals = {}
        for amp in raw.amps:
            geometry, name = amp.geometry, amp.geometry.name
            signals[name], fits[name] = correct_overscan(
                amp.pixels, geometry.data, geometry.overscan, options
            )
        if crosstalk is not None and self.config.do_crosstalk:
            signals = correct_crosstalk(signals, crosstalk["coefficients"])
        for amp in raw.amps:
            geometry, name = amp.geometry, amp.geometry.name
            signal, fit = signals.pop(name), fits[name]
            if linearity is not None and self.config.do_linearity:
                signal = linearize(signal, _per_amp(linearity, "linearity", name)["polynomial"])
            curated = _gains_of(gains, name) if gains is not None and self.config.do_gains else {}
            gain = curated.get("gain", _number(amp.header, "GAIN"))
            if self.config.apply_gain:
                if gain is None:
                    raise ValueError(f"amplifier {name!r} has no GAIN; set apply_gain false")
                signal = apply_gain(signal, gain)
            place(image, signal, geometry.detector)
            level = self.config.saturation
            level = _number(amp.header, "SATURATE") if level is None else level
            if level is not None:
                flags = saturated(trim(amp.pixels, geometry.data), level) * np.int32(MaskBit.SAT)
                place(mask, flags, geometry.detector)
            read_noise = curated.get("read_noise", _number(amp.header, "RDNOISE"))
            if read_noise is None:
                read_noise = fit.noise * (gain or 1.0)
            header[hdr.amp_key(hdr.AMPSEC, name)] = geometry.detector.to_fits()
            header[hdr.amp_key(hdr.OSLEVEL, name)] = fit.mean_level
            header[hdr.amp_key(hdr.OSNOISE, name)] = fit.noise
            if gain is not None:
                header[hdr.amp_key(hdr.OSNOISE_E, name)] = fit.noise * gain
                header[hdr.amp_key(hdr.GAIN, name)] = gain
            amps.append(AmpCalibration(name, geometry.detector, gain, read_noise))
        if brighter_fatter is not None and self.config.do_brighter_fatter:
            image = self._brighter_fatter(image, brighter_fatter, header, amps)
        if defects is not None and self.config.do_defects:
            boxes = [(d["x0"], d["y0"], d["width"], d["height"]) for d in defects.to_pylist()]
            mask[defect_mask(shape, boxes)] |= MaskBit.BAD
        dark_time = _dark_time(raw.header) if self.config.do_dark else 0.0
        return Assembled(image, mask, amps, header, dark_time)

    def calibrate(
        self,
        assembled: Assembled,
        bias: Image | DeferredInput | None = None,
        dark: Image | DeferredInput | None = None,
        flat: Image | DeferredInput | None = None,
    ) -> Image:
        """Second pass: the calibrations the config asks for, the variance, the edges."""
        sources: dict[str, DeferredInput] = {}
        for name, calibration in zip(CALIBRATIONS, (bias, dark, flat), strict=True):
            if not getattr(self.config, f"do_{name}"):
                continue
            if calibration is None:
                raise ValueError(f"do_{name} is set but no {name} was given")
            sources[name] = row_sources([calibration])[0]
        image, mask = assembled.image, assembled.mask
        variance = self._calibrate(image, mask, assembled.amps, sources, assembled.dark_time)
        for edge in edge_slices(image.shape, self.config.edge_width):
            mask[edge] |= MaskBit.EDGE
        header = {**assembled.header, "BUNIT": self._unit, **mask_header()}
        return Image(image, mask, variance, header)

    def _brighter_fatter(
        self,
        image: np.ndarray,
        kernel: Mapping[str, Any],
        header: dict[str, Any],
        amps: list[AmpCalibration],
    ) -> np.ndarray:
        """The image (electrons) without the charge the kernel says was moved: each
        amplifier's own kernel where ``kernel`` carries one, else the detector's."""
        if not self.config.apply_gain:
            raise ValueError("do_brighter_fatter corrects electrons; set apply_gain true")
        own = kernel.get("amplifiers") or {}
        header["BFAMPKER"] = sum(amp.name in own for amp in amps)
        kernels: Kernels = (
            [
                (amp.section.slices, np.asarray(own.get(amp.name, kernel)["kernel"], np.float64))
                for amp in amps
            ]
            if header["BFAMPKER"]
            else np.asarray(kernel["kernel"], dtype=np.float64)
        )
        corrected = correct_brighter_fatter(
            image,
            kernels,
            self.config.bf_max_iter,
            self.config.bf_threshold,
        )
        if corrected.change >= self.config.bf_threshold:
            self.log.warning(
                "brighter-fatter correction not converged after %d iterations: %.3g e-",
                corrected.iterations,
                corrected.change,
            )
        header["BFITER"] = corrected.iterations
        header["BFCHANGE"] = corrected.change
        return corrected.image.astype(np.float32)

    @property
    def _unit(self) -> str:
        return hdr.ELECTRON if self.config.apply_gain else hdr.ADU

    def _calibrate(
        self,
        image: np.ndarray,
        mask: np.ndarray,
        amps: list[AmpCalibration],
        sources: Mapping[str, DeferredInput],
        dark_time: float,
    ) -> np.ndarray:
        """Apply the calibrations chunk by chunk, in place; return the variance plane."""
        for name, source in sources.items():
            if source.shape() != image.shape:
                raise ValueError(
                    f"the {name} has shape {source.shape()}, the detector {image.shape}"
                )
        chunk = self.config.chunk_rows
        readers = {name: source.iter_rows(chunk) for name, source in sources.items()}
        variance = np.empty(image.shape, dtype=np.float32)
        for y0 in range(0, image.shape[0], chunk):
            y1 = min(y0 + chunk, image.shape[0])
            parts = {name: _rows(next(reader)) for name, reader in readers.items()}
            for amp in amps:
                ya, yb = max(y0, amp.section.y0), min(y1, amp.section.y1)
                if ya >= yb:
                    continue
                here = (slice(ya, yb), slice(amp.section.x0, amp.section.x1))
                local = (slice(ya - y0, yb - y0), here[1])
                signal, var, bad = self._correct(image[here], amp, parts, local, dark_time)
                image[here], variance[here] = signal, var
                mask[here] |= bad * np.int32(MaskBit.BAD)
        return variance

    def _correct(
        self,
        pixels: np.ndarray,
        amp: AmpCalibration,
        parts: Mapping[str, CalibrationRows],
        local: tuple[slice, slice],
        dark_time: float,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One amplifier's rows: bias, variance, dark, flat; and the pixels made bad."""
        signal = pixels
        bad = np.zeros(signal.shape, dtype=bool)
        extra: np.ndarray | float = 0.0
        bias, dark, flat = (parts.get(n) for n in CALIBRATIONS)
        if bias is not None:
            scale = hdr.unit_scale(bias.unit, self._unit, amp.gain)
            signal = subtract_bias(signal, bias.image[local] * scale)
            extra = bias.variance[local] * scale**2
            bad |= bias.bad(local)
        per_electron = amp.gain if self._unit == hdr.ADU and amp.gain else 1.0
        variance = variance_plane(signal, amp.read_noise, per_electron) + extra
        if dark is not None:
            scale = hdr.unit_scale(dark.unit, self._unit, amp.gain)
            signal = subtract_dark(signal, dark.image[local] * scale, dark_time)
            variance += dark.variance[local] * (scale * dark_time) ** 2
            bad |= dark.bad(local)
        if flat is not None:
            corrected = divide_flat(signal, variance, flat.image[local])
            signal, variance = corrected.image, corrected.variance
            bad |= corrected.bad | flat.bad(local)
        return signal, variance, bad


def _per_amp(signature: Mapping[str, Any], what: str, amp: str) -> Mapping[str, Any]:
    """The entry of one amplifier in a curated signature; an error naming both if none."""
    entries = signature.get("amplifiers", {})
    if amp not in entries:
        raise ValueError(f"the curated {what} has no amplifier {amp!r}; it has {sorted(entries)}")
    entry: Mapping[str, Any] = entries[amp]
    return entry


def _gains_of(gains: Mapping[str, Any], amp: str) -> Mapping[str, Any]:
    """One amplifier's gain and read noise from curated gains or from a PTC (its ``amps``,
    with the recommended read noise); a PTC amplifier whose fit is suspect is refused."""
    if "amps" not in gains:
        return _per_amp(gains, "gains", amp)
    fitted = gains["amps"]
    if amp not in fitted:
        raise ValueError(f"the PTC has no amplifier {amp!r}; it has {sorted(fitted)}")
    entry: Mapping[str, Any] = fitted[amp]
    quality = entry.get("quality", "good")
    if quality != "good":
        raise ValueError(
            f"the PTC of amplifier {amp!r} is not fit to calibrate with: {quality}; "
            "certify a PTC whose fit is good, or use the header gains"
        )
    if entry.get("gain") is None or entry.get("read_noise") is None:
        raise ValueError(f"the PTC of amplifier {amp!r} has no gain or read noise")
    return {"gain": float(entry["gain"]), "read_noise": float(entry["read_noise"])}


def _number(header: Mapping[str, Any], key: str) -> float | None:
    value = header.get(key)
    return None if value is None else float(value)


def _dark_time(header: Mapping[str, Any]) -> float:
    """The dark time (s) of a raw: ``DARKTIME``, else ``EXPTIME``."""
    value = _number(header, "DARKTIME")
    value = _number(header, "EXPTIME") if value is None else value
    if value is None:
        raise ValueError("the raw has neither DARKTIME nor EXPTIME; cannot scale the dark")
    return value


def _rows(image: Image) -> CalibrationRows:
    """Rows of a calibration, with its unit (``BUNIT`` without ``/s``)."""
    unit = image.header.get("BUNIT")
    base = None if not unit else str(unit).removesuffix(hdr.PER_SECOND)
    return CalibrationRows(*planes(image), base)
