"""SimCam, the simulated camera: its camera file (``cameras/simcam.yaml``: 16 detector
slots of the full amplifier geometry) and the translator of the headers
``simcam_layout.HEADER_KEYWORDS`` describes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.timespan import Timespan, TimespanError, tai_ns_from_utc_iso
from . import simcam_layout as layout
from .base import (
    DetectorInfo,
    HeaderError,
    Instrument,
    ObservationInfo,
    day_obs_value,
    optional,
    required,
)
from .camera import Camera, shipped_camera


class SimCam(Instrument):
    """The simulated camera written by ``quanta simulate``."""

    name = layout.INSTRUMENT

    def __init__(self) -> None:
        self.camera: Camera = shipped_camera(self.name)
        #: The filters of the camera file (the simulator writes the same).
        self.filters = self.camera.filters

    @property
    def detectors(self) -> tuple[DetectorInfo, ...]:
        """The detectors of the camera file: ``S00``.. with the full amplifier layout."""
        return self.camera.detectors

    def translate(self, header: Mapping[str, Any]) -> ObservationInfo:
        """Map the SimCam primary header keywords to an ``ObservationInfo``."""
        instrument = required(header, "INSTRUME", str)
        if instrument != self.name:
            raise HeaderError(f"keyword INSTRUME: {instrument!r} is not {self.name!r}")
        detector = self.detector(required(header, "DETECTOR", int)).id
        return ObservationInfo(
            instrument=self.name,
            detector=detector,
            exposure_id=required(header, "EXPID", int),
            obs_id=required(header, "OBSID", str),
            observation_type=required(header, "IMGTYPE", str).lower(),
            exposure_time=required(header, "EXPTIME", float),
            dark_time=required(header, "DARKTIME", float),
            physical_filter=self.check_filter(required(header, "FILTER", str)),
            day_obs=day_obs_value(header, "DAYOBS"),
            seq_num=required(header, "SEQNUM", int),
            timespan=_timespan(header),
            group_name=optional(header, "GROUPID", str),
            target_name=optional(header, "OBJECT", str),
        )


def _timespan(header: Mapping[str, Any]) -> Timespan:
    """[DATE-OBS, DATE-END) converted from UTC to TAI nanoseconds."""
    ends = []
    for keyword in ("DATE-OBS", "DATE-END"):
        try:
            ends.append(tai_ns_from_utc_iso(required(header, keyword, str)))
        except TimespanError as err:
            raise HeaderError(f"keyword {keyword}: {err}") from None
    try:
        return Timespan(*ends)
    except TimespanError as err:
        raise HeaderError(f"keywords DATE-OBS and DATE-END: {err}") from None
