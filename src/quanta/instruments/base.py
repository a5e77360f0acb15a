"""The ``Instrument`` abstraction: a camera's filters and detectors, and the translation of
its raw headers into the observation facts quanta records for each exposure.

An instrument is found by its short name through the ``quanta.instruments`` entry point
group (see ``loader``), so other packages can add cameras without changing quanta.
"""

from __future__ import annotations

import datetime
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from ..core.errors import QuantaError, UnknownNameError
from ..core.raw import AmpGeometry
from ..core.timespan import Timespan

if TYPE_CHECKING:
    from ..butler import Butler

T = TypeVar("T", int, float, str)


class HeaderError(QuantaError, ValueError):
    """A raw file's header lacks a keyword its instrument needs, or holds a bad value."""


class UnknownInstrumentError(UnknownNameError):
    """An instrument name that no installed package provides."""


@dataclass(frozen=True)
class AmplifierInfo:
    """One amplifier: its geometry in the raw and the detector, and its nominal
    electronics (gain in e-/ADU, read noise in e-, saturation and linearity limit in
    ADU; None where the camera file does not say)."""

    geometry: AmpGeometry
    gain: float | None = None
    read_noise: float | None = None
    saturation: float | None = None
    linearity_limit: float | None = None


@dataclass(frozen=True)
class DetectorInfo:
    """One detector: its id, full name, amplifiers (file order), purpose and serial."""

    id: int
    full_name: str
    amplifiers: tuple[AmplifierInfo, ...]
    purpose: str = "SCIENCE"
    serial: str | None = None


@dataclass(frozen=True)
class ObservationInfo:
    """What one raw file's headers say about its observation, in quanta's terms."""

    instrument: str
    detector: int
    exposure_id: int
    obs_id: str
    observation_type: str
    exposure_time: float
    dark_time: float
    physical_filter: str
    day_obs: int
    seq_num: int
    timespan: Timespan
    group_name: str | None = None
    target_name: str | None = None

    def exposure_record(self) -> dict[str, Any]:
        """The ``exposure`` dimension record of this observation."""
        return {
            "instrument": self.instrument,
            "id": self.exposure_id,
            "obs_id": self.obs_id,
            "physical_filter": self.physical_filter,
            "day_obs": self.day_obs,
            "seq_num": self.seq_num,
            "exposure_time": self.exposure_time,
            "dark_time": self.dark_time,
            "observation_type": self.observation_type,
            "group_name": self.group_name,
            "target_name": self.target_name,
            "timespan": self.timespan,
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain values (the timespan as ``[begin, end]``), for passing between processes."""
        return {**asdict(self), "timespan": self.timespan.to_json()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ObservationInfo:
        """The inverse of ``to_dict``."""
        return cls(**{**data, "timespan": Timespan(*data["timespan"])})


class Instrument(ABC):
    """A camera: name, filters, detectors, and the translator of its raw headers."""

    #: The short name: the ``instrument`` dimension value and the entry point name (a class
    #: attribute, or set by the constructor of an instrument built from arguments).
    name: str
    #: Physical filter -> band (``None`` for a filter with no band, such as an empty slot).
    filters: Mapping[str, str | None]

    @property
    @abstractmethod
    def detectors(self) -> Sequence[DetectorInfo]:
        """Every detector slot, by increasing id."""

    @abstractmethod
    def translate(self, header: Mapping[str, Any]) -> ObservationInfo:
        """The observation a raw file's primary header describes; ``HeaderError`` naming
        the keyword when one is missing or malformed."""

    @classmethod
    def class_name(cls) -> str:
        """The dotted path of this class, recorded with the instrument."""
        return f"{cls.__module__}.{cls.__qualname__}"

    def detector(self, detector_id: int) -> DetectorInfo:
        """The detector with id ``detector_id``."""
        for info in self.detectors:
            if info.id == detector_id:
                return info
        ids = [d.id for d in self.detectors]
        raise HeaderError(
            f"detector {detector_id!r} is not a {self.name} detector; valid: {ids[0]}..{ids[-1]}"
        )

    def check_filter(self, physical_filter: str) -> str:
        """``physical_filter`` if this instrument has it, else a ``HeaderError``."""
        if physical_filter not in self.filters:
            raise HeaderError(
                f"unknown {self.name} filter {physical_filter!r}; valid: {', '.join(self.filters)}"
            )
        return physical_filter

    def dimension_records(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """The instrument, band, physical_filter and detector records, in insertion order."""
        return instrument_records(self.name, self.class_name(), self.filters, self.detectors)

    def register(self, butler: Butler) -> int:
        """Write this instrument's dimension records, idempotently, in one transaction;
        returns how many were new."""
        return register_records(butler, self.dimension_records())


def instrument_records(
    name: str,
    class_name: str,
    filters: Mapping[str, str | None],
    detectors: Sequence[DetectorInfo],
) -> list[tuple[str, list[dict[str, Any]]]]:
    """The instrument, band, physical_filter and detector records of a camera, in
    insertion order."""
    bands = sorted({b for b in filters.values() if b is not None})
    return [
        (
            "instrument",
            [
                {
                    "name": name,
                    "class_name": class_name,
                    "detector_max": max(d.id for d in detectors) + 1,
                }
            ],
        ),
        ("band", [{"name": band} for band in bands]),
        (
            "physical_filter",
            [{"instrument": name, "name": f, "band": b} for f, b in filters.items()],
        ),
        (
            "detector",
            [
                {"instrument": name, "id": d.id, "full_name": d.full_name, "purpose": d.purpose}
                for d in detectors
            ],
        ),
    ]


def register_records(butler: Butler, records: list[tuple[str, list[dict[str, Any]]]]) -> int:
    """Insert dimension records idempotently, in one transaction; how many were new."""
    with butler.registry.transaction():
        return sum(butler.insert_dimension_records(element, rows) for element, rows in records)


def required(header: Mapping[str, Any], keyword: str, kind: type[T]) -> T:
    """The value of ``keyword`` as ``kind``; a ``HeaderError`` naming it if absent or bad."""
    value = header.get(keyword)
    if value is None or value == "":
        raise HeaderError(f"missing keyword {keyword}")
    return _convert(keyword, value, kind)


def optional(header: Mapping[str, Any], keyword: str, kind: type[T]) -> T | None:
    """The value of ``keyword`` as ``kind``, or ``None`` when absent or empty."""
    value = header.get(keyword)
    return None if value is None or value == "" else _convert(keyword, value, kind)


def day_obs_value(header: Mapping[str, Any], keyword: str) -> int:
    """An observing night as the integer YYYYMMDD, checked to be a real date."""
    value = required(header, keyword, int)
    try:
        datetime.datetime.strptime(str(value), "%Y%m%d")
    except ValueError:
        raise HeaderError(f"keyword {keyword}: {value!r} is not a YYYYMMDD date") from None
    return value


def _convert(keyword: str, value: Any, kind: type[T]) -> T:
    if isinstance(value, bool) and kind is not str:
        raise HeaderError(f"keyword {keyword}: expected {kind.__name__}, got {value!r}")
    try:
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError
        converted = kind(value)
    except (TypeError, ValueError):
        raise HeaderError(f"keyword {keyword}: expected {kind.__name__}, got {value!r}") from None
    return converted.strip() if isinstance(converted, str) else converted
