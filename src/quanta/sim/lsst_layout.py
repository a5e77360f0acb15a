"""The ``lsst`` layout: SimCam detectors read out like an LSST CCD, 16 amplifier HDUs.

Each detector has 16 amplifiers in two rows of eight, each HDU named by its amplifier and
holding 3 prescan columns, the imaging columns and 64 serial overscan columns, over the
imaging rows plus 48 rows of parallel overscan above them (the ``RawImage`` formatter
ignores pixels outside the sections). HDUs come in the order C10..C17 (bottom row, left
to right, each read out flipped in x) then C07..C00 (top row, right to left, each read out
flipped in y), as on an ITL-style LSST sensor. Headers are SimCam's: no LSST header
translator ships with astro-metadata-translator. Each preset has its own default size
(``SIZES``): sixteen amplifiers need more pixels each than SimCam's four for the same
precision, and ``full`` is one real LSST CCD.
"""

from __future__ import annotations

from typing import Any

from ..core.raw import AmpGeometry, Section
from .layout import AmpBlock, Layout, fixed_amps_preset
from .presets import Preset

AMPS = 16
COLUMNS = 8
PRESCAN = 3
OVERSCAN = 64
PARALLEL_OVERSCAN = 48
#: Default detectors and amplifier imaging size (width, height) per preset: ``ptc`` gives
#: each amplifier 80,000 pixels (its PTC gain to ~0.2%), ``full`` is LSST's 509 x 2000.
SIZES = {"quick": (1, (32, 48)), "ptc": (1, (200, 400)), "full": (1, (509, 2000))}


def amp_names() -> list[str]:
    """Amplifier names in file order: C10..C17, then C07..C00."""
    return [f"C1{c}" for c in range(COLUMNS)] + [f"C0{c}" for c in reversed(range(COLUMNS))]


def lsst_blocks(width: int, height: int) -> list[AmpBlock]:
    """Every amplifier of an LSST-like detector of ``width`` x ``height`` imaging pixels
    per amplifier, in file order."""
    shape = (height + PARALLEL_OVERSCAN, PRESCAN + width + OVERSCAN)
    blocks = []
    for name in amp_names():
        top, column = name[1] == "0", int(name[2])
        detector = Section(
            height if top else 0,
            2 * height if top else height,
            column * width,
            (column + 1) * width,
            flip_y=top,
            flip_x=not top,
        )
        geometry = AmpGeometry(
            name=name,
            data=Section(0, height, PRESCAN, PRESCAN + width),
            overscan=Section(0, height, PRESCAN + width, PRESCAN + width + OVERSCAN),
            detector=detector,
            prescan=Section(0, height, 0, PRESCAN),
        )
        blocks.append(AmpBlock(geometry, shape))
    return blocks


class LsstLayout(Layout):
    """SimCam raws with 16 LSST-like amplifier HDUs per detector."""

    name = "lsst"

    def resolve(
        self,
        preset: str,
        detectors: int | None,
        amps: int | None,
        amp_size: tuple[int, int] | None,
    ) -> Preset:
        """The preset with 16 amplifiers per detector and this layout's default size
        (``SIZES``) where ``detectors`` and ``amp_size`` do not override it."""
        return fixed_amps_preset(self.name, preset, detectors, amps, amp_size, AMPS, SIZES)

    def blocks(self, preset: Preset) -> list[AmpBlock]:
        """The 16 amplifiers of a detector in file order."""
        return lsst_blocks(*preset.amp_size)

    def camera_truth(self, preset: Preset) -> dict[str, Any]:
        """Prescan, serial overscan and parallel overscan sizes."""
        return {"prescan": PRESCAN, "overscan": OVERSCAN, "parallel_overscan": PARALLEL_OVERSCAN}
