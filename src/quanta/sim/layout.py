"""How simulated amplifiers become raw files: the ``Layout`` interface, and SimCam's own.

The physics is the same for every layout: ``simulate`` computes each amplifier on its own,
in its *block* (its imaging pixels with the prescan and overscan it reads out). A layout
decides the amplifiers' geometry within their blocks and on the detector, the instrument,
detectors and filters the headers name, and how one exposure's blocks are laid into HDUs
and files. ``SimCamLayout`` writes one file per exposure and detector with one HDU per
amplifier, in the SimCam header dialect.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError
from ..core.raw import AmpGeometry
from ..instruments import simcam_layout
from .physics import hdu_shape
from .presets import Preset, resolve_preset
from .raw_files import AmpImage, raw_filename, write_raw
from .schedule import DARK_FILTER, Exposure, primary_header
from .truth import DetectorTruth, detector_name

#: One detector's truth and its amplifiers as read out, in block order.
Readouts = Iterable[tuple[DetectorTruth, list[AmpImage]]]
#: A layout's default size per preset: (detectors, (amplifier width, height)).
Sizes = Mapping[str, tuple[int, tuple[int, int]]]


@dataclass(frozen=True)
class AmpBlock:
    """One amplifier as read out on its own: its sections within its block of pixels
    (``data``, ``overscan``, ``prescan``) and on the detector, and the block's rows and
    columns."""

    geometry: AmpGeometry
    shape: tuple[int, int]


@dataclass(frozen=True)
class WrittenFile:
    """Where one detector of one exposure went: the file, and the detector's HDU when the
    file holds several detectors (``None`` when it holds one)."""

    detector: int
    path: Path
    hdu: int | None = None


class Layout:
    """SimCam's layout, and the interface every layout offers ``simulate``."""

    name = "simcam"
    instrument = simcam_layout.INSTRUMENT
    #: The filter of biases and darks.
    dark_filter = DARK_FILTER
    #: The id of the first detector; detectors are numbered from it.
    first_detector = 0

    def resolve(
        self,
        preset: str,
        detectors: int | None,
        amps: int | None,
        amp_size: tuple[int, int] | None,
    ) -> Preset:
        """The preset called ``preset`` with this layout's camera size and overrides."""
        return resolve_preset(preset, detectors, amps, amp_size)

    def blocks(self, preset: Preset) -> list[AmpBlock]:
        """Every amplifier of a detector in file order, each in its own block."""
        geometry = simcam_layout.amp_geometry(preset.amps, *preset.amp_size)
        return [AmpBlock(g, hdu_shape(g)) for g in geometry]

    def detector_ids(self, preset: Preset) -> list[int]:
        """The ids of the simulated detectors."""
        return list(range(self.first_detector, self.first_detector + preset.detectors))

    def detector_name(self, detector: int) -> str:
        """The full name of a detector."""
        return detector_name(detector)

    def amp_name(self, detector: str, amp: str) -> str:
        """The name the ``RawImage`` formatter gives amplifier ``amp`` of detector
        ``detector`` (and ``truth.json`` uses)."""
        return amp

    def camera_truth(self, preset: Preset) -> dict[str, Any]:
        """The readout geometry ``truth.json`` records beside the camera size."""
        return {"prescan": simcam_layout.PRESCAN, "overscan": simcam_layout.OVERSCAN}

    def write_exposure(
        self, outdir: Path, exposure: Exposure, readouts: Readouts
    ) -> list[WrittenFile]:
        """Write one exposure, one file per detector, consuming ``readouts`` one detector at
        a time."""
        written = []
        for detector, amps in readouts:
            path = outdir / raw_filename(exposure.expid, detector.id)
            write_raw(path, primary_header(exposure, detector.id), amps)
            written.append(WrittenFile(detector.id, path))
        return written

    def write_camera(
        self, outdir: Path, preset: Preset, detectors: list[DetectorTruth]
    ) -> Path | None:
        """Write the camera file of the simulated camera, when it is not a shipped instrument;
        its path (``None`` for SimCam, which ships with quanta)."""
        return None


def fixed_amps_preset(
    layout: str,
    preset: str,
    detectors: int | None,
    amps: int | None,
    amp_size: tuple[int, int] | None,
    fixed: int,
    sizes: Sizes,
) -> Preset:
    """The preset for a layout of ``fixed`` amplifiers per detector, with the layout's
    default size (``sizes``) where ``detectors`` and ``amp_size`` do not override it;
    asking for another number of amplifiers is a ``ConfigError``."""
    if amps not in (None, fixed):
        raise ConfigError(
            f"invalid number of amplifiers {amps!r}: the {layout} layout always has {fixed} "
            "per detector"
        )
    default_detectors, default_size = sizes.get(preset, (detectors, amp_size))
    return resolve_preset(
        preset,
        default_detectors if detectors is None else detectors,
        fixed,
        default_size if amp_size is None else amp_size,
    )
