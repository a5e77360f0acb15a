"""``simulate``: a night of raws and the ``truth.json`` that produced them.

Each amplifier is computed on its own, whatever the layout (``layouts``: SimCam's, a
DECam-like and an LSST-like one), and files are written one detector of one exposure at a
time (one exposure at a time for a layout of many detectors per file), so memory stays at
about one raw file whatever the preset. Every detector's noise comes from its own random
stream (seed, detector, sequence number): the same seed gives byte-identical files.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ConfigError
from ..core.progress import ProgressCallback, tracked
from .layout import AmpBlock, Layout
from .layouts import get_layout
from .physics import Star, detector_shape, nonlinear, readout
from .presets import Preset, with_lamp
from .raw_files import AmpImage
from .scene import collected_electrons, draw_stars, expected_electrons
from .schedule import DAY_OBS, Exposure, plan_night
from .truth import DetectorTruth, draw_detector

#: Stream tags of the per-file noise and of the stars of a science frame.
NOISE_STREAM = 2
STARS_STREAM = 3
TRUTH_FILE = "truth.json"
BRIGHTER_FATTER_MODEL = (
    "flats only: each pixel gives -e/4 of its Poisson excess (collected - expected) to "
    "each of its 4 neighbours, e = (sqrt(1.25 r - 0.25) - 1) / 1.25, "
    "r = (exp(2 a00 mu) - 1) / (2 a00 mu), mu = expected electrons; so "
    "C00 = (exp(2 a00 mu) - 1) / (2 a00) in electrons (Astier et al. 2019, eq. 16); "
    "each amplifier's a and b are the a_ij, b_ij of Astier eq. 20 that this exchange "
    "implies ([i][j], i the lag in y), derived analytically (quanta.sim.bf_truth); then "
    "the amplifier outputs q + nonlinearity * q^2 electrons for q collected"
)


@dataclass(frozen=True)
class SimulationSummary:
    """What ``simulate`` wrote: raw files by image type (in time order), the truth file,
    and the camera file of a camera quanta does not ship (``None`` for SimCam)."""

    outdir: Path
    truth_path: Path
    preset: Preset
    files: dict[str, list[Path]] = field(default_factory=dict)
    instrument: str = "SimCam"
    camera_path: Path | None = None

    @property
    def n_files(self) -> int:
        """How many raw files were written."""
        return sum(len(paths) for paths in self.files.values())


@dataclass(frozen=True)
class _Camera:
    """The camera being simulated: its size, raw layout, amplifier blocks and every
    detector's truth."""

    preset: Preset
    seed: int
    zero_noise: bool
    layout: Layout
    detectors: list[DetectorTruth]
    blocks: list[AmpBlock]

    @property
    def detector_shape(self) -> tuple[int, int]:
        """Rows and columns of an assembled detector."""
        return detector_shape([block.geometry for block in self.blocks])


def simulate(
    outdir: Path | str,
    preset: str = "quick",
    detectors: int | None = None,
    amps: int | None = None,
    amp_size: tuple[int, int] | None = None,
    seed: int = 0,
    zero_noise: bool = False,
    layout: str = "simcam",
    lamp_drift: float | None = None,
    photodiode: bool | None = None,
    progress: ProgressCallback | None = None,
) -> SimulationSummary:
    """Simulate one night of raws into ``outdir`` and describe the truth in ``truth.json``.

    ``preset`` (``quick``, ``ptc`` or ``full``; see ``PRESETS``) sets the camera size
    and the plan of the night; ``detectors``, ``amps`` and ``amp_size`` (imaging
    width, height of one amplifier) override its size. ``layout`` chooses the raw files:
    ``simcam`` (SimCam, one HDU per amplifier), ``decam`` (SimDECam: one file per
    exposure, two amplifiers per CCD HDU, DECam headers, and ``camera.yaml``) or
    ``lsst`` (SimCam with 16 LSST-like amplifier HDUs per detector). With ``zero_noise``
    there is no photon or read noise, no brighter-fatter effect and no rounding: pixels
    are float32 and equal the model. ``lamp_drift`` (a fraction) and ``photodiode``
    override the preset's lamp (see ``Preset``). ``progress`` hears of each exposure
    written. A bad preset, layout, size or seed raises ``ConfigError``.
    """
    if seed < 0:
        raise ConfigError(f"invalid seed {seed!r}: seeds are integers >= 0")
    chosen = get_layout(layout)
    config = with_lamp(chosen.resolve(preset, detectors, amps, amp_size), lamp_drift, photodiode)
    blocks = chosen.blocks(config)
    truths = []
    for detector in chosen.detector_ids(config):
        name = chosen.detector_name(detector)
        amp_names = [chosen.amp_name(name, block.geometry.name) for block in blocks]
        truths.append(draw_detector(seed, detector, name, amp_names, config.nonlinearity))
    camera = _Camera(config, seed, zero_noise, chosen, truths, blocks)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    exposures = plan_night(config, chosen.instrument, chosen.dark_filter)
    files: dict[str, list[Path]] = {}
    records = []
    for exposure in tracked(exposures, progress, "simulating exposures", len(exposures)):
        record = exposure.to_dict()
        stars = {d.id: _stars(camera, exposure, d.id) for d in camera.detectors}
        readouts = ((d, _amps(camera, exposure, d, stars[d.id])) for d in camera.detectors)
        for written in chosen.write_exposure(out, exposure, readouts):
            paths = files.setdefault(exposure.imgtype, [])
            if written.path not in paths:
                paths.append(written.path)
            key = str(written.detector)
            record.setdefault("files", {})[key] = written.path.name
            if written.hdu is not None:
                record.setdefault("hdus", {})[key] = written.hdu
            if stars[written.detector]:
                record.setdefault("stars", {})[key] = [asdict(s) for s in stars[written.detector]]
        records.append(record)
    camera_path = chosen.write_camera(out, config, camera.detectors)
    truth_path = out / TRUTH_FILE
    truth_path.write_text(json.dumps(_truth(camera, records), indent=2) + "\n")
    return SimulationSummary(out, truth_path, config, files, chosen.instrument, camera_path)


def _stars(camera: _Camera, exposure: Exposure, detector: int) -> list[Star]:
    """The stars of a science frame on one detector (none for calibration frames)."""
    if exposure.imgtype != "science":
        return []
    rng = np.random.default_rng([camera.seed, STARS_STREAM, detector, exposure.seqnum])
    return draw_stars(rng, camera.preset.n_stars, camera.detector_shape)


def _amps(
    camera: _Camera, exposure: Exposure, detector: DetectorTruth, stars: Sequence[Star]
) -> list[AmpImage]:
    """Every amplifier block of one detector of one exposure, computed one at a time."""
    rng = None
    if not camera.zero_noise:
        rng = np.random.default_rng([camera.seed, NOISE_STREAM, detector.id, exposure.seqnum])
    images = []
    for block in camera.blocks:
        geometry = block.geometry
        truth = detector.amps[camera.layout.amp_name(detector.name, geometry.name)]
        expected = expected_electrons(
            exposure, truth, detector.flat, camera.detector_shape, geometry.detector, stars
        )
        electrons = nonlinear(
            collected_electrons(exposure, expected, truth, rng), truth.nonlinearity
        )
        noise = None
        if rng is not None:
            noise = rng.standard_normal(block.shape, dtype=np.float32) * truth.read_noise
        pixels = readout(
            electrons, geometry, truth.gain, truth.bias_level, truth.saturation, noise, block.shape
        )
        images.append(AmpImage(geometry, truth, pixels))
    return images


def _truth(camera: _Camera, exposures: list[dict[str, Any]]) -> dict[str, Any]:
    """The content of ``truth.json``."""
    preset = camera.preset
    width, height = preset.amp_size
    return {
        "instrument": camera.layout.instrument,
        "layout": camera.layout.name,
        "preset": preset.name,
        "seed": camera.seed,
        "zero_noise": camera.zero_noise,
        "day_obs": DAY_OBS,
        "camera": {
            "detectors": preset.detectors,
            "amps": preset.amps,
            "amp_width": width,
            "amp_height": height,
            **camera.layout.camera_truth(preset),
            "detector_shape": list(camera.detector_shape),
        },
        "brighter_fatter_model": BRIGHTER_FATTER_MODEL,
        "detectors": {str(d.id): d.to_dict() for d in camera.detectors},
        "exposures": exposures,
    }
