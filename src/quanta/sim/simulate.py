"""``simulate``: a night of SimCam raws and the ``truth.json`` that produced them.

Files are written one detector of one exposure at a time, and each amplifier is
computed on its own, so memory stays at about one detector's raw file whatever the
preset. Every file's noise comes from its own random stream (seed, detector, sequence
number): the same seed gives byte-identical files.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ConfigError
from ..core.raw import AmpGeometry
from ..instruments.simcam_layout import INSTRUMENT, OVERSCAN, PRESCAN, amp_geometry, amp_names
from .physics import Star, detector_shape, hdu_shape, readout
from .presets import Preset, resolve_preset
from .raw_files import AmpImage, raw_filename, write_raw
from .scene import collected_electrons, draw_stars, expected_electrons
from .schedule import DAY_OBS, Exposure, plan_night, primary_header
from .truth import DetectorTruth, draw_detector

#: Stream tags of the per-file noise and of the stars of a science frame.
NOISE_STREAM = 2
STARS_STREAM = 3
TRUTH_FILE = "truth.json"
BRIGHTER_FATTER_MODEL = (
    "flats only: each pixel gives -e/4 of its Poisson excess (collected - expected) to "
    "each of its 4 neighbours, e = (sqrt(1.25 r - 0.25) - 1) / 1.25, "
    "r = (exp(2 a00 mu) - 1) / (2 a00 mu), mu = expected electrons; so "
    "C00 = (exp(2 a00 mu) - 1) / (2 a00) in electrons (Astier et al. 2019, eq. 16)"
)


@dataclass(frozen=True)
class SimulationSummary:
    """What ``simulate`` wrote: raw files by image type (in time order) and the truth file."""

    outdir: Path
    truth_path: Path
    preset: Preset
    files: dict[str, list[Path]] = field(default_factory=dict)

    @property
    def n_files(self) -> int:
        """How many raw files were written."""
        return sum(len(paths) for paths in self.files.values())


@dataclass(frozen=True)
class _Camera:
    """The camera being simulated: its size, amplifier layout and every detector's truth."""

    preset: Preset
    seed: int
    zero_noise: bool
    detectors: list[DetectorTruth]
    geometry: list[AmpGeometry]

    @property
    def detector_shape(self) -> tuple[int, int]:
        """Rows and columns of an assembled detector."""
        return detector_shape(self.geometry)


def simulate(
    outdir: Path | str,
    preset: str = "quick",
    detectors: int | None = None,
    amps: int | None = None,
    amp_size: tuple[int, int] | None = None,
    seed: int = 0,
    zero_noise: bool = False,
) -> SimulationSummary:
    """Simulate one night of SimCam raws into ``outdir`` and describe the truth in ``truth.json``.

    ``preset`` (``quick``, ``ptc`` or ``full``; see ``PRESETS``) sets the camera size
    and the plan of the night; ``detectors``, ``amps`` and ``amp_size`` (imaging
    width, height of one amplifier) override its size. With ``zero_noise`` there is no
    photon or read noise, no brighter-fatter effect and no rounding: pixels are float32
    and equal the model. A bad preset, size or seed raises ``ConfigError``.
    """
    if seed < 0:
        raise ConfigError(f"invalid seed {seed!r}: seeds are integers >= 0")
    config = resolve_preset(preset, detectors, amps, amp_size)
    names = amp_names(config.amps)
    camera = _Camera(
        config,
        seed,
        zero_noise,
        [draw_detector(seed, d, names) for d in range(config.detectors)],
        amp_geometry(config.amps, *config.amp_size),
    )
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    exposures = plan_night(config)
    files: dict[str, list[Path]] = {}
    records = []
    for exposure in exposures:
        record = exposure.to_dict()
        for detector in camera.detectors:
            stars = _stars(camera, exposure, detector.id)
            path = out / raw_filename(exposure.expid, detector.id)
            write_raw(
                path,
                primary_header(exposure, detector.id),
                _amps(camera, exposure, detector, stars),
            )
            files.setdefault(exposure.imgtype, []).append(path)
            record.setdefault("files", {})[str(detector.id)] = path.name
            if stars:
                record.setdefault("stars", {})[str(detector.id)] = [asdict(s) for s in stars]
        records.append(record)
    truth_path = out / TRUTH_FILE
    truth_path.write_text(json.dumps(_truth(camera, records), indent=2) + "\n")
    return SimulationSummary(out, truth_path, config, files)


def _stars(camera: _Camera, exposure: Exposure, detector: int) -> list[Star]:
    """The stars of a science frame on one detector (none for calibration frames)."""
    if exposure.imgtype != "science":
        return []
    rng = np.random.default_rng([camera.seed, STARS_STREAM, detector, exposure.seqnum])
    return draw_stars(rng, camera.preset.n_stars, camera.detector_shape)


def _amps(
    camera: _Camera, exposure: Exposure, detector: DetectorTruth, stars: Sequence[Star]
) -> list[AmpImage]:
    """Every amplifier HDU of one detector of one exposure, computed one amplifier at a time."""
    rng = None
    if not camera.zero_noise:
        rng = np.random.default_rng([camera.seed, NOISE_STREAM, detector.id, exposure.seqnum])
    images = []
    for geometry in camera.geometry:
        truth = detector.amps[geometry.name]
        expected = expected_electrons(
            exposure, truth, detector.flat, camera.detector_shape, geometry.detector, stars
        )
        electrons = collected_electrons(exposure, expected, truth, rng)
        noise = None
        if rng is not None:
            noise = rng.standard_normal(hdu_shape(geometry), dtype=np.float32) * truth.read_noise
        pixels = readout(electrons, geometry, truth.gain, truth.bias_level, truth.saturation, noise)
        images.append(AmpImage(geometry, truth, pixels))
    return images


def _truth(camera: _Camera, exposures: list[dict[str, Any]]) -> dict[str, Any]:
    """The content of ``truth.json``."""
    preset = camera.preset
    width, height = preset.amp_size
    return {
        "instrument": INSTRUMENT,
        "preset": preset.name,
        "seed": camera.seed,
        "zero_noise": camera.zero_noise,
        "day_obs": DAY_OBS,
        "camera": {
            "detectors": preset.detectors,
            "amps": preset.amps,
            "amp_width": width,
            "amp_height": height,
            "prescan": PRESCAN,
            "overscan": OVERSCAN,
            "detector_shape": list(camera.detector_shape),
        },
        "brighter_fatter_model": BRIGHTER_FATTER_MODEL,
        "detectors": {str(d.id): d.to_dict() for d in camera.detectors},
        "exposures": exposures,
    }
