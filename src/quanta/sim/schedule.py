"""The simulated night: which exposures, in what order, at what times, with what headers.

One night (``DAYOBS``) of biases, darks, flat pairs at increasing exposure time and
science frames, in that order. Sequence numbers start at 1 and ``EXPID = DAYOBS *
100000 + SEQNUM``. Each exposure starts ``READOUT_GAP`` seconds after the previous one
ended; ``DATE-END = DATE-OBS + EXPTIME``. ``DARKTIME`` equals ``EXPTIME`` (shutter
overheads are not modelled). The two flats of a pair are consecutive, share their
exposure time exactly and carry the same ``GROUPID``; every other exposure is a group
of its own (``GROUPID`` = its ``OBSID``). With a drifting lamp (``Preset.lamp_drift``)
each exposure time is taken three times (one ``GROUPID``) and the lamp brightens between
the first and second of them; with a photodiode each flat's header carries ``PHOTODIO``,
the lamp's integrated charge (``PHOTODIODE_SCALE`` per electron of signal).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..instruments.simcam_layout import INSTRUMENT
from .presets import Preset
from .truth import detector_name

#: The simulated night, and when its first exposure starts (UTC).
DAY_OBS = 20260301
NIGHT_START = datetime(2026, 3, 1, 20, 0, 0)
#: Seconds from the end of one exposure to the start of the next (readout and overheads).
READOUT_GAP = 3.0
#: How much brighter the lamp shines on the lit half of a half-lit flat.
HALF_LIT_BOOST = 10.0
#: Filter of biases and darks.
DARK_FILTER = "SimCam-empty"
#: Photodiode charge (nC) per electron per pixel of lamp signal.
PHOTODIODE_SCALE = 1e-6


@dataclass(frozen=True)
class Exposure:
    """One exposure of the night, as every detector sees it.

    ``signal`` is the illumination in electrons per pixel where the flat-field pattern
    is 1: the lamp for flats, the sky for science frames, 0 for biases and darks.
    ``half_lit``: a flat lit ``HALF_LIT_BOOST`` times brighter on the right half of every
    amplifier (in detector orientation), which saturates there. ``lamp_flux``: the lamp
    (electrons per second per pixel) during a flat, 0 otherwise; ``photodiode``: the
    ``PHOTODIO`` header value, None when the camera has no photodiode.
    """

    seqnum: int
    imgtype: str
    exptime: float
    filter: str
    date_obs: datetime
    group: str
    object: str
    signal: float
    day_obs: int = DAY_OBS
    instrument: str = INSTRUMENT
    half_lit: bool = False
    lamp_flux: float = 0.0
    photodiode: float | None = None

    @property
    def expid(self) -> int:
        """``DAYOBS * 100000 + SEQNUM``."""
        return self.day_obs * 100_000 + self.seqnum

    @property
    def obsid(self) -> str:
        """A name unique per exposure: ``<instrument>_<DAYOBS>_<SEQNUM:06d>``."""
        return obs_id(self.day_obs, self.seqnum, self.instrument)

    @property
    def darktime(self) -> float:
        """Seconds of dark current: the exposure time."""
        return self.exptime

    @property
    def date_end(self) -> datetime:
        """End of the exposure."""
        return self.date_obs + timedelta(seconds=self.exptime)

    def to_dict(self) -> dict[str, Any]:
        """The ``truth.json`` entry of this exposure (without per-detector details)."""
        return {
            "expid": self.expid,
            "obsid": self.obsid,
            "seqnum": self.seqnum,
            "imgtype": self.imgtype,
            "exptime": self.exptime,
            "darktime": self.darktime,
            "filter": self.filter,
            "date_obs": iso(self.date_obs),
            "date_end": iso(self.date_end),
            "group": self.group,
            "object": self.object,
            "signal": self.signal,
            **({"lamp_flux": self.lamp_flux} if self.lamp_flux else {}),
            **({"photodiode": self.photodiode} if self.photodiode is not None else {}),
            **({"half_lit": HALF_LIT_BOOST} if self.half_lit else {}),
        }


def obs_id(day_obs: int, seqnum: int, instrument: str = INSTRUMENT) -> str:
    """The ``OBSID`` of an exposure: ``<instrument>_<DAYOBS>_<SEQNUM:06d>``."""
    return f"{instrument}_{day_obs}_{seqnum:06d}"


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with milliseconds, as in ``DATE-OBS``."""
    return moment.isoformat(timespec="milliseconds")


#: One planned exposure: imgtype, exptime, filter, pair group, object, lamp flux, half lit.
_Planned = tuple[str, float, str, str | None, str, float, bool]


def lamp_factors(count: int, drift: float) -> list[float]:
    """The lamp's flux, relative to ``Preset.flat_flux``, for each of ``count`` flats taken
    at one exposure time: steady without drift; with it, the lamp brightens by ``drift``
    between the first and the second flat and holds for the rest."""
    return [1.0 if i == 0 or not drift else 1.0 + drift for i in range(count)]


def _plan(preset: Preset, dark_filter: str) -> list[_Planned]:
    """Every exposure of the night, in order."""
    plan: list[_Planned] = []
    plan += [("bias", 0.0, dark_filter, None, "BIAS", 0.0, False)] * preset.n_bias
    plan += [("dark", preset.dark_time, dark_filter, None, "DARK", 0.0, False)] * preset.n_dark
    flats = [(t, False) for t in preset.flat_times] + [(t, True) for t in preset.half_lit_times]
    repeats = 3 if preset.lamp_drift else 2
    for number, (exptime, half_lit) in enumerate(flats):
        group = f"{DAY_OBS}_flatpair_{number:03d}"
        plan += [
            ("flat", exptime, preset.flat_filter, group, "FLAT", preset.flat_flux * f, half_lit)
            for f in lamp_factors(repeats, preset.lamp_drift)
        ]
    science = ("science", preset.science_time, preset.science_filter, None, "field-A")
    plan += [(*science, preset.sky_flux, False)] * preset.n_science
    return plan


def plan_night(
    preset: Preset, instrument: str = INSTRUMENT, dark_filter: str = DARK_FILTER
) -> list[Exposure]:
    """Every exposure of the night in time order, biases and darks through ``dark_filter``."""
    exposures = []
    start = NIGHT_START
    plan = _plan(preset, dark_filter)
    for seqnum, (imgtype, exptime, filt, group, target, flux, half) in enumerate(plan, 1):
        group = group or obs_id(DAY_OBS, seqnum, instrument)
        signal = flux * exptime
        lamp = flux if imgtype == "flat" else 0.0
        diode = signal * PHOTODIODE_SCALE if lamp and preset.photodiode else None
        exposure = Exposure(
            seqnum,
            imgtype,
            exptime,
            filt,
            start,
            group,
            target,
            signal,
            DAY_OBS,
            instrument,
            half,
            lamp,
            None if diode is None else float(f"{diode:.9g}"),
        )
        exposures.append(exposure)
        start = exposure.date_end + timedelta(seconds=READOUT_GAP)
    return exposures


def primary_header(exposure: Exposure, detector: int) -> dict[str, Any]:
    """The primary-header values of one raw file (every key of ``HEADER_KEYWORDS``)."""
    return {
        "INSTRUME": INSTRUMENT,
        "DETECTOR": detector,
        "DETNAME": detector_name(detector),
        "EXPID": exposure.expid,
        "OBSID": exposure.obsid,
        "IMGTYPE": exposure.imgtype,
        "EXPTIME": exposure.exptime,
        "DARKTIME": exposure.darktime,
        "FILTER": exposure.filter,
        "DATE-OBS": iso(exposure.date_obs),
        "DATE-END": iso(exposure.date_end),
        "DAYOBS": exposure.day_obs,
        "SEQNUM": exposure.seqnum,
        "GROUPID": exposure.group,
        "OBJECT": exposure.object,
        **({"PHOTODIO": exposure.photodiode} if exposure.photodiode is not None else {}),
    }
