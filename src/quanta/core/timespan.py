"""Half-open time intervals stored as integer TAI nanoseconds.

TAI has no leap seconds, so nanoseconds since 1970-01-01T00:00:00 TAI are a
plain integer timeline; conversions from UTC go through astropy, imported
only when needed.
"""

from __future__ import annotations

import contextlib
import datetime
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .errors import QuantaError

#: Stored in place of an unbounded begin or end, so comparisons stay plain integers.
NS_MIN = -(2**62)
NS_MAX = 2**62
_EPOCH = datetime.datetime(1970, 1, 1)
#: A UTC time the fast conversion takes: seconds below 60 (not in a leap second).
_UTC_ISO = re.compile(
    r"^(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})T(?P<hour>[01]\d|2[0-3]):"
    r"(?P<minute>[0-5]\d):(?P<second>[0-5]\d)(?:\.(?P<fraction>\d{1,9}))?$"
)
#: From this year on TAI - UTC changes only by whole leap seconds at the end of a day.
_WHOLE_LEAP_SECONDS_SINCE = 1973
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?$")


class TimespanError(QuantaError, ValueError):
    """A time literal or interval that makes no sense."""


def tai_ns_from_iso(text: str) -> int:
    """Parse an ISO-8601 TAI date-time (up to nanoseconds) to TAI nanoseconds.

    >>> tai_ns_from_iso("1970-01-01T00:00:01.5")
    1500000000
    >>> iso_from_tai_ns(tai_ns_from_iso("2026-03-01 12:34:56.123456789"))
    '2026-03-01T12:34:56.123456789'
    """
    text = text.strip()
    if not _ISO.match(text):
        raise TimespanError(f"invalid time {text!r}; expected YYYY-MM-DD[THH:MM[:SS[.fff]]]")
    fraction = 0
    if "." in text:
        text, digits = text.split(".", 1)
        fraction = int(digits.ljust(9, "0"))
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError as err:
        raise TimespanError(f"invalid time {text!r}: {err}") from None
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + fraction


def tai_ns_from_text(text: str) -> tuple[int, str, bool]:
    """A time with an optional scale: a trailing ``Z`` or `` UTC`` means UTC, `` TAI``
    TAI, nothing TAI; returns (TAI nanoseconds, the scale, whether it was given).

    >>> tai_ns_from_text("2024-06-01T00:00:00Z")[0] == tai_ns_from_iso("2024-06-01T00:00:37")
    True
    >>> tai_ns_from_text("2026-01-01 TAI")[1:]
    ('TAI', True)
    """
    stripped = text.strip()
    upper = stripped.upper()
    for suffix, scale in ((" UTC", "UTC"), ("Z", "UTC"), (" TAI", "TAI")):
        if upper.endswith(suffix):
            moment = stripped[: -len(suffix)].strip()
            if scale == "TAI":
                return tai_ns_from_iso(moment), scale, True
            _check_iso(moment)
            full = moment if "T" in moment or " " in moment else f"{moment}T00:00:00"
            return tai_ns_from_utc_iso(full.replace(" ", "T")), scale, True
    return tai_ns_from_iso(stripped), "TAI", False


def _check_iso(text: str) -> None:
    if not _ISO.match(text):
        raise TimespanError(
            f"invalid time {text!r}; expected YYYY-MM-DD[THH:MM[:SS[.fff]]][Z| UTC| TAI]"
        )


def iso_from_tai_ns(ns: int) -> str:
    """Format TAI nanoseconds as ISO-8601 (TAI) with nanoseconds when nonzero."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    moment = _EPOCH + datetime.timedelta(seconds=seconds)
    text = moment.isoformat()
    return f"{text}.{fraction:09d}" if fraction else text


def tai_ns_from_time(time: Any) -> int:
    """Convert an astropy ``Time`` (any scale) to TAI nanoseconds."""
    tai = time.tai
    jd1, jd2 = tai.jd1, tai.jd2
    # Split into whole days and fraction to keep nanosecond precision.
    days = round(jd1 - 2440587.5)
    frac = (jd1 - 2440587.5 - days) + jd2
    return int(days) * 86_400_000_000_000 + round(frac * 86_400_000_000_000)


def tai_ns_from_utc_iso(text: str) -> int:
    """Convert a UTC ISO-8601 string (as in FITS DATE-OBS headers) to TAI nanoseconds.

    A time since 1972 (whole leap seconds) and outside a leap second is the exact integer
    nanoseconds of its calendar time plus ERFA's TAI-UTC for its day, without building an
    astropy ``Time`` (ingest converts two per raw); any other goes through astropy.

    >>> tai_ns_from_utc_iso("2017-01-01T00:00:00") - tai_ns_from_utc_iso("2016-12-31T23:59:59")
    2000000000
    """
    fast = _UTC_ISO.match(text)
    if fast is not None and int(fast["year"]) >= _WHOLE_LEAP_SECONDS_SINCE:
        return _tai_ns_from_utc_parts(fast)
    from astropy.time import Time

    try:
        with _future_leap_seconds_unknown():
            return tai_ns_from_time(Time(text, scale="utc", format="isot"))
    except ValueError as err:
        raise TimespanError(f"invalid UTC time {text!r}: {err}") from None


def _tai_ns_from_utc_parts(parts: re.Match[str]) -> int:
    """TAI nanoseconds of a matched UTC time past 1972 and not within a leap second."""
    import erfa

    day = datetime.date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    fraction = (parts["fraction"] or "").ljust(9, "0")
    seconds = int(parts["hour"]) * 3600 + int(parts["minute"]) * 60 + int(parts["second"])
    with _future_leap_seconds_unknown():
        offset = erfa.dat(day.year, day.month, day.day, 0.0)
    days = day.toordinal() - _EPOCH.toordinal()
    return (days * 86_400 + seconds + round(offset)) * 1_000_000_000 + int(fraction)


def utc_iso_from_tai_ns(ns: int) -> str:
    """Format TAI nanoseconds as a UTC ISO-8601 time to the millisecond, as FITS headers
    give it.

    >>> utc_iso_from_tai_ns(tai_ns_from_utc_iso("2013-09-01T06:02:55.754"))
    '2013-09-01T06:02:55.754'
    """
    from astropy.time import Time

    days, rest = divmod(ns, 86_400_000_000_000)
    time = Time(2440587.5 + days, rest / 86_400_000_000_000, format="jd", scale="tai")
    time.precision = 3
    with _future_leap_seconds_unknown():
        return str(time.utc.isot)


@contextlib.contextmanager
def _future_leap_seconds_unknown() -> Iterator[None]:
    """Silence ERFA's "dubious year" for UTC times past the known leap seconds: such
    times (a validity open to 2037) convert as if no leap second came after."""
    from erfa import ErfaWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ErfaWarning)
        yield


@dataclass(frozen=True, slots=True)
class Timespan:
    """A half-open interval [begin, end) in TAI nanoseconds; ``None`` means unbounded."""

    begin: int | None
    end: int | None

    def __post_init__(self) -> None:
        if self.begin is not None and self.end is not None and self.end < self.begin:
            raise TimespanError(
                f"timespan ends ({iso_from_tai_ns(self.end)}) before it begins "
                f"({iso_from_tai_ns(self.begin)})"
            )

    @classmethod
    def from_iso(cls, begin: str | None, end: str | None) -> Timespan:
        """Build from TAI ISO strings; ``None`` or empty for an unbounded side."""
        return cls(tai_ns_from_iso(begin) if begin else None, tai_ns_from_iso(end) if end else None)

    @classmethod
    def from_text(cls, begin: str | None, end: str | None) -> tuple[Timespan, list[str]]:
        """Build from times with optional scales (see ``tai_ns_from_text``); also says, for
        each side given without a scale, that it was read as TAI."""
        sides: list[int | None] = []
        assumed = []
        for name, text in (("begin", begin), ("end", end)):
            if not text:
                sides.append(None)
                continue
            ns, _, explicit = tai_ns_from_text(text)
            sides.append(ns)
            if not explicit:
                assumed.append(f"--{name} {text.strip()} has no time scale: read as TAI")
        return cls(sides[0], sides[1]), assumed

    def describe(self) -> str:
        """The interval in TAI and in UTC, for people.

        >>> Timespan.from_iso("2026-01-01T00:00:37", None).describe()
        '[2026-01-01T00:00:37 TAI, +inf) = [2026-01-01T00:00:00.000 UTC, +inf)'
        """
        if self.begin is None and self.end is None:
            return "[-inf, +inf)"
        tai = [
            iso_from_tai_ns(t) + " TAI" if t is not None else None for t in (self.begin, self.end)
        ]
        utc = [
            utc_iso_from_tai_ns(t) + " UTC" if t is not None else None
            for t in (self.begin, self.end)
        ]
        return (
            f"[{tai[0] or '-inf'}, {tai[1] or '+inf'}) = [{utc[0] or '-inf'}, {utc[1] or '+inf'})"
        )

    @classmethod
    def from_db(cls, begin: int, end: int) -> Timespan:
        """Build from stored columns, where sentinels stand for unbounded sides."""
        return cls(None if begin <= NS_MIN else begin, None if end >= NS_MAX else end)

    def to_db(self) -> tuple[int, int]:
        """The (begin, end) integers to store."""
        return (
            NS_MIN if self.begin is None else self.begin,
            NS_MAX if self.end is None else self.end,
        )

    def overlaps(self, other: Timespan) -> bool:
        """True if the two intervals share any instant.

        The end is excluded, so back-to-back intervals do not overlap; an unbounded
        side reaches every instant on that side.

        >>> night = Timespan.from_iso("2025-01-01T20:00", "2025-01-02T06:00")
        >>> night.overlaps(Timespan.from_iso("2025-01-02T06:00", None))
        False
        >>> night.overlaps(Timespan.from_iso(None, "2025-01-01T20:00:00.000000001"))
        True
        """
        b1, e1 = self.to_db()
        b2, e2 = other.to_db()
        return b1 < e2 and b2 < e1

    def contains(self, ns: int) -> bool:
        """True if the instant ``ns`` is inside the interval."""
        b, e = self.to_db()
        return b <= ns < e

    def __str__(self) -> str:
        b = "-inf" if self.begin is None else iso_from_tai_ns(self.begin)
        e = "+inf" if self.end is None else iso_from_tai_ns(self.end)
        return f"[{b}, {e})"

    def to_json(self) -> list[int | None]:
        """A JSON-friendly [begin, end] pair."""
        return [self.begin, self.end]
