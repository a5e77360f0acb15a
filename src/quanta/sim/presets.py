"""Named simulation sizes (``quick``, ``ptc``, ``full``) and how overrides apply to them.

A preset fixes the camera size (detectors, amplifiers per detector, imaging pixels per
amplifier) and the night's observing plan (how many biases, darks, flat pairs and
science frames, and their exposure times). The three shipped presets serve three
audiences: tests (``quick``, seconds), the calibration demo (``ptc``, a Photon Transfer
Curve from low signal to near saturation) and benchmarks (``full``, one detector the
size of a modern CCD).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..core.errors import ConfigError
from ..instruments.simcam_layout import FULL_AMP_SIZE, FULL_AMPS, MAX_DETECTORS, amp_names

#: Smallest imaging width and height of an amplifier: room for a star and its edges.
MIN_AMP_SIZE = 8


@dataclass(frozen=True)
class Preset:
    """The size of the simulated camera and the night's plan of exposures.

    Exposure times are in seconds. ``flat_times`` lists each flat exposure time once;
    every time is taken twice in a row (a pair). ``half_lit_times`` are pairs taken
    after those, lit ``HALF_LIT_BOOST`` times brighter on one half of every amplifier, so
    that half saturates and ISR masks it. ``flat_flux`` and ``sky_flux`` are electrons
    per second per pixel where the flat-field pattern is 1; ``n_stars`` is per detector
    and science frame. ``nonlinearity`` (1/e-, 0 in the shipped presets) is the scale of
    each amplifier's quadratic response term (``truth.draw_detector``). A ``lamp_drift``
    (a fraction, 0 in the shipped presets) makes the lamp drift: every exposure time is
    then taken three times, and the lamp brightens by that fraction between the first
    and second flat of each (``schedule.lamp_factors``). ``photodiode`` writes the
    lamp's integrated photodiode charge into each flat's header (``PHOTODIO``).
    """

    name: str
    detectors: int
    amps: int
    amp_size: tuple[int, int]
    n_bias: int
    n_dark: int
    dark_time: float
    flat_times: tuple[float, ...]
    flat_flux: float
    n_science: int
    science_time: float
    sky_flux: float
    n_stars: int
    flat_filter: str = "SimCam-r"
    science_filter: str = "SimCam-r"
    half_lit_times: tuple[float, ...] = ()
    nonlinearity: float = 0.0
    lamp_drift: float = 0.0
    photodiode: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.detectors <= MAX_DETECTORS:
            raise ConfigError(
                f"invalid number of detectors {self.detectors!r}: simulated cameras have 1 to "
                f"{MAX_DETECTORS}"
            )
        try:
            amp_names(self.amps)
        except ValueError as err:
            raise ConfigError(str(err)) from err
        if min(self.amp_size) < MIN_AMP_SIZE:
            raise ConfigError(
                f"invalid amplifier size {self.amp_size!r}: width and height must be at least "
                f"{MIN_AMP_SIZE} pixels"
            )
        if not 0 <= self.lamp_drift < 1:
            raise ConfigError(
                f"invalid lamp drift {self.lamp_drift!r}: a fraction from 0 to below 1"
            )


def geometric_times(first: float, last: float, count: int) -> tuple[float, ...]:
    """``count`` exposure times from ``first`` to ``last`` seconds in a geometric series (ms)."""
    ratio = last / first
    return tuple(round(first * ratio ** (i / (count - 1)), 3) for i in range(count))


PRESETS: dict[str, Preset] = {
    # Tests: 48 small files in well under a second.
    "quick": Preset(
        name="quick",
        detectors=2,
        amps=4,
        amp_size=(64, 48),
        n_bias=5,
        n_dark=5,
        dark_time=100.0,
        flat_times=(1.0, 4.0, 12.0, 30.0, 60.0, 85.0),
        flat_flux=1000.0,
        n_science=2,
        science_time=30.0,
        sky_flux=50.0,
        n_stars=20,
    ),
    # The calibration demo: 20 flat pairs from 100 e- to ~85% of the full well, one pair
    # saturated everywhere (250,000 e- lamp), one with half of every amplifier saturated.
    "ptc": Preset(
        name="ptc",
        detectors=2,
        amps=4,
        amp_size=(200, 200),
        n_bias=10,
        n_dark=5,
        dark_time=100.0,
        flat_times=(*geometric_times(0.1, 85.0, 20), 250.0),
        half_lit_times=(25.0,),
        flat_flux=1000.0,
        n_science=1,
        science_time=30.0,
        sky_flux=50.0,
        n_stars=100,
    ),
    # Benchmarks: one detector of 16 amplifiers of 509 x 2000 imaging pixels.
    "full": Preset(
        name="full",
        detectors=1,
        amps=FULL_AMPS,
        amp_size=FULL_AMP_SIZE,
        n_bias=20,
        n_dark=5,
        dark_time=100.0,
        flat_times=(5.0, 30.0, 70.0),
        flat_flux=1000.0,
        n_science=1,
        science_time=30.0,
        sky_flux=50.0,
        n_stars=500,
    ),
}


def resolve_preset(
    name: str,
    detectors: int | None = None,
    amps: int | None = None,
    amp_size: tuple[int, int] | None = None,
) -> Preset:
    """The preset called ``name`` with the camera size overridden where given (the lamp
    with ``with_lamp``)."""
    try:
        preset = PRESETS[name]
    except KeyError:
        raise ConfigError(
            f"unknown simulation preset {name!r}; presets: {', '.join(PRESETS)}"
        ) from None
    return replace(
        preset,
        detectors=preset.detectors if detectors is None else detectors,
        amps=preset.amps if amps is None else amps,
        amp_size=preset.amp_size if amp_size is None else (int(amp_size[0]), int(amp_size[1])),
    )


def with_lamp(preset: Preset, lamp_drift: float | None, photodiode: bool | None) -> Preset:
    """``preset`` with its lamp drift and photodiode overridden where given."""
    return replace(
        preset,
        lamp_drift=preset.lamp_drift if lamp_drift is None else float(lamp_drift),
        photodiode=preset.photodiode if photodiode is None else photodiode,
    )
