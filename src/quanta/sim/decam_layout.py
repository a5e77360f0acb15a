"""The ``decam`` layout: SimDECam, a small DECam-like camera of two-amplifier CCDs.

Each CCD is one image HDU of a file holding the whole exposure, with its two amplifiers
side by side as on DECam: columns ``PRESECB | BIASSECB | DATASECB | DATASECA | BIASSECA |
PRESECA`` (6 prescan and 50 overscan columns each), B imaging the left half of the CCD
and A the right half, both stored in CCD orientation. CCDs are numbered from 1
(``CCDNUM``) and named ``S1``, ``S2``... (``DETPOS``); amplifier ``A`` of ``S1`` is the
``RawImage`` formatter's ``S1A``. Each preset has its own default size (``SIZES``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ..core.raw import AmpGeometry, Section
from .decam_files import (
    CAMERA_FILE,
    INSTRUMENT,
    camera_file,
    primary_header,
    raw_filename,
    write_exposure,
)
from .layout import AmpBlock, Layout, Readouts, WrittenFile, fixed_amps_preset
from .presets import Preset
from .schedule import Exposure
from .truth import DetectorTruth

AMPS = 2
PRESCAN = 6
OVERSCAN = 50
#: The FILTER of flats and science frames, and of biases and darks, with their bands.
LIGHT_FILTER = "r DECam SDSS c0002 6415.0 1480.0"
DARK_FILTER = "solid plate 0.0 0.0"
FILTERS = {LIGHT_FILTER: "r", DARK_FILTER: None}
#: Default detectors and amplifier imaging size (width, height) per preset: ``quick`` and
#: ``ptc`` keep SimCam's detector size in two halves (``ptc``: 80,000 pixels per amplifier,
#: its PTC gain to ~0.2%), ``full`` is one real DECam CCD of two 1024 x 4096 amplifiers.
SIZES = {"quick": (2, (64, 96)), "ptc": (2, (200, 400)), "full": (1, (1024, 4096))}


def decam_blocks(width: int, height: int) -> list[AmpBlock]:
    """Amplifiers A (right half of the CCD; imaging, overscan, prescan from the left of its
    block) and B (left half; prescan, overscan, imaging), each of ``width`` x ``height``
    imaging pixels."""
    shape = (height, width + OVERSCAN + PRESCAN)
    a = AmpGeometry(
        name="A",
        data=Section(0, height, 0, width),
        overscan=Section(0, height, width, width + OVERSCAN),
        detector=Section(0, height, width, 2 * width),
        prescan=Section(0, height, width + OVERSCAN, width + OVERSCAN + PRESCAN),
    )
    b = AmpGeometry(
        name="B",
        data=Section(0, height, PRESCAN + OVERSCAN, PRESCAN + OVERSCAN + width),
        overscan=Section(0, height, PRESCAN, PRESCAN + OVERSCAN),
        detector=Section(0, height, 0, width),
        prescan=Section(0, height, 0, PRESCAN),
    )
    return [AmpBlock(a, shape), AmpBlock(b, shape)]


class DecamLayout(Layout):
    """SimDECam: one file per exposure, one HDU per CCD, two amplifiers per HDU."""

    name = "decam"
    instrument = INSTRUMENT
    dark_filter = DARK_FILTER
    first_detector = 1

    def resolve(
        self,
        preset: str,
        detectors: int | None,
        amps: int | None,
        amp_size: tuple[int, int] | None,
    ) -> Preset:
        """The preset with two amplifiers per CCD and this layout's default size
        (``SIZES``) where ``detectors`` and ``amp_size`` do not override it; flats and
        science frames through the DECam r filter."""
        resolved = fixed_amps_preset(self.name, preset, detectors, amps, amp_size, AMPS, SIZES)
        return replace(resolved, flat_filter=LIGHT_FILTER, science_filter=LIGHT_FILTER)

    def blocks(self, preset: Preset) -> list[AmpBlock]:
        """Amplifiers A and B of a CCD."""
        return decam_blocks(*preset.amp_size)

    def detector_name(self, detector: int) -> str:
        """``DETPOS``: ``S<CCDNUM>``."""
        return f"S{detector}"

    def amp_name(self, detector: str, amp: str) -> str:
        """``<DETPOS><letter>``, as the ``RawImage`` formatter names it."""
        return f"{detector}{amp}"

    def camera_truth(self, preset: Preset) -> dict[str, Any]:
        """Prescan and overscan columns of each amplifier."""
        return {"prescan": PRESCAN, "overscan": OVERSCAN}

    def write_exposure(
        self, outdir: Path, exposure: Exposure, readouts: Readouts
    ) -> list[WrittenFile]:
        """Write the whole exposure to one file, one HDU per CCD (HDU n holds the n-th)."""
        path = outdir / raw_filename(exposure.expid)
        detectors = write_exposure(path, primary_header(exposure), readouts)
        return [WrittenFile(detector, path, hdu) for hdu, detector in enumerate(detectors, 1)]

    def write_camera(self, outdir: Path, preset: Preset, detectors: list[DetectorTruth]) -> Path:
        """``camera.yaml``: the camera file of the simulated CCDs, for ``register-instrument``."""
        blocks = [block.geometry for block in self.blocks(preset)]
        names = [(d.id, d.name) for d in detectors]
        path = outdir / CAMERA_FILE
        path.write_text(camera_file(INSTRUMENT, FILTERS, blocks, names))
        return path
