"""The grouping rules quanta ships: ``flat-pairs`` (by exposure time, measured signal,
photodiode charge or order), ``by-keyword KEY`` and ``consecutive N``.

Each gets exposure records sorted by night, start time and id, and names its groups
deterministically, so defining the same groups again changes nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from itertools import groupby

from ...core.errors import ConfigError
from ...core.pairing import (
    DEFAULT_TOLERANCE,
    Flat,
    FlatPairs,
    Measured,
    flat_pairs,
    measured_pairs,
    order_pairs,
    pair_name,
)
from ...core.records import DimensionRecord
from .rules import Group, Grouping, GroupRule, Headers, LeftOut, RuleSpec, check_arguments


def _nights(exposures: Sequence[DimensionRecord]) -> list[list[DimensionRecord]]:
    """The exposures split by ``day_obs``, keeping their order."""
    return [list(night) for _, night in groupby(exposures, key=lambda e: e.day_obs)]


#: ``flat-pairs`` options that choose what a pair must agree on, with their argument count.
MODES = {"--by-signal": "signal", "--by-photodiode": "photodiode", "--by-order": "order"}
#: The photodiode charge keyword of the raws' primary headers.
PHOTODIODE = "PHOTODIO"


class FlatPairsRule(GroupRule):
    """Consecutive flats of one night whose exposure times agree within a tolerance; with
    ``--by-signal TOL`` whose measured signals (``flatStats``), with ``--by-photodiode
    TOL`` whose photodiode charges (``PHOTODIO``), agree within a fraction TOL of their
    mean; with ``--by-order`` simply consecutive flats.

    Pairs are taken greedily in time order, so four matching flats make two pairs; a
    matching flat after a pair that has no partner of its own (a third match), and a
    flat whose neighbours do not match, are left out. Groups are named ``<first>+<second>``.
    """

    name = "flat-pairs"

    def __init__(self, tolerance: float = DEFAULT_TOLERANCE, mode: str = "exposure_time") -> None:
        if not tolerance >= 0:
            what = "--tolerance" if mode == "exposure_time" else f"the {mode} tolerance"
            unit = "seconds" if mode == "exposure_time" else "(a fraction)"
            raise ConfigError(f"{what} must be zero or more {unit}, got {tolerance!r}")
        self.tolerance = tolerance
        self.mode = mode

    @classmethod
    def from_spec(cls, spec: RuleSpec) -> FlatPairsRule:
        """``flat-pairs`` with an optional ``--tolerance`` in seconds (default 5 ms), or
        ``flat-pairs --by-signal TOL``, ``--by-photodiode TOL``, ``--by-order``."""
        if not spec.arguments:
            check_arguments(spec, 0, "set the tolerance with --tolerance", tolerance=True)
            return cls(DEFAULT_TOLERANCE if spec.tolerance is None else spec.tolerance)
        option, *rest = spec.arguments
        mode = MODES.get(option)
        if mode is None:
            raise ConfigError(
                f"rule 'flat-pairs' takes {', '.join(MODES)} or no argument, got {option!r}"
            )
        usage = "no value" if mode == "order" else "TOL, a fraction such as 0.01"
        check_arguments(
            RuleSpec(spec.name, tuple(rest), spec.tolerance),
            int(mode != "order"),
            f"{option} takes {usage}",
        )
        if mode == "order":
            return cls(0.0, mode)
        try:
            fraction = float(rest[0])
        except ValueError:
            raise ConfigError(f"{option} needs a fraction, got {rest[0]!r}") from None
        return cls(fraction, mode)

    @property
    def text(self) -> str:
        """``flat-pairs --tolerance <seconds>``, or the mode and its fraction."""
        if self.mode == "exposure_time":
            return f"{self.name} --tolerance {self.tolerance:g}"
        option = next(o for o, m in MODES.items() if m == self.mode)
        return f"{self.name} {option}" + ("" if self.mode == "order" else f" {self.tolerance:g}")

    @property
    def needs_signals(self) -> bool:
        """True when pairing by measured signal."""
        return self.mode == "signal"

    def header_keywords(self, fields: Collection[str]) -> tuple[str, ...]:
        """``PHOTODIO`` when pairing by photodiode charge."""
        return (PHOTODIODE,) if self.mode == "photodiode" else ()

    @property
    def group_size(self) -> int:
        """Always 2."""
        return 2

    def group(self, exposures: Sequence[DimensionRecord], headers: Headers) -> Grouping:
        """Pair the flats of each night by ``quanta.core.pairing`` (the rule the PTC tasks
        that pair flats themselves use); other observation types are not considered."""
        result = Grouping()
        if self.mode != "exposure_time":
            pairs = self._measured(exposures, headers, result)
        else:
            flats = []
            for exposure in exposures:
                if exposure.observation_type != "flat":
                    continue
                if exposure.exposure_time is None:
                    result.left_out.append(LeftOut(exposure.id, "no exposure time"))
                else:
                    flats.append(Flat(exposure.id, exposure.day_obs, exposure.exposure_time))
            pairs = flat_pairs(flats, self.tolerance)
        result.groups.extend(Group(pair_name(a, b), (a, b)) for a, b in pairs.pairs)
        result.left_out.extend(pairs.left_out)
        result.left_out.sort(key=lambda left: left.exposure)
        return result

    def _measured(
        self, exposures: Sequence[DimensionRecord], values: Headers, result: Grouping
    ) -> FlatPairs:
        """Pairs by signal (``SIGNAL``), photodiode charge (``PHOTODIO``) or order."""
        key = "SIGNAL" if self.mode == "signal" else PHOTODIODE
        flats = []
        for exposure in exposures:
            if exposure.observation_type != "flat":
                continue
            value = 0.0 if self.mode == "order" else values.get(exposure.id, {}).get(key)
            if value is None:
                result.left_out.append(LeftOut(exposure.id, f"no {self.mode} measured"))
            else:
                flats.append(Measured(exposure.id, exposure.day_obs, float(value)))
        if self.mode == "order":
            return order_pairs(flats)
        return measured_pairs(flats, self.tolerance, self.mode)


class ByKeywordRule(GroupRule):
    """Exposures sharing a value of KEY, one group per value, named by the value.

    KEY is an exposure record field (such as ``group_name``, which ingest fills from the
    raw's group header) when the universe has one by that name; otherwise it is read as
    a keyword (upper-cased) from the primary header of each exposure's raw file.
    """

    name = "by-keyword"

    def __init__(self, key: str) -> None:
        self.key = key

    @classmethod
    def from_spec(cls, spec: RuleSpec) -> ByKeywordRule:
        """``by-keyword KEY``."""
        check_arguments(spec, 1, "KEY, an exposure record field or a raw header keyword")
        return cls(spec.arguments[0])

    @property
    def text(self) -> str:
        """``by-keyword <KEY>``."""
        return f"{self.name} {self.key}"

    def header_keywords(self, fields: Collection[str]) -> tuple[str, ...]:
        """KEY, upper-cased, unless it is an exposure record field."""
        return () if self.key in fields else (self.key.upper(),)

    def group(self, exposures: Sequence[DimensionRecord], headers: Headers) -> Grouping:
        """Groups in order of their first member; exposures without a value are left out."""
        members: dict[str, list[int]] = {}
        result = Grouping()
        for exposure in exposures:
            if self.key in exposure.dimension.field_names:
                value = exposure.values[self.key]
                missing = f"no {self.key} value in its exposure record"
            else:
                value = headers.get(exposure.id, {}).get(self.key.upper())
                missing = (
                    f"no {self.key.upper()} keyword in its raw's header"
                    if exposure.id in headers
                    else f"no raw file to read {self.key.upper()} from"
                )
            if value is None or value == "":
                result.left_out.append(LeftOut(exposure.id, missing))
            else:
                members.setdefault(str(value), []).append(exposure.id)
        result.groups = [Group(name, tuple(ids)) for name, ids in members.items()]
        return result


class ConsecutiveRule(GroupRule):
    """Consecutive exposures of one night in groups of N, named ``<first>-<last>``; the
    remainder of each night is left out."""

    name = "consecutive"

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ConfigError(f"rule 'consecutive' needs a group size of 1 or more, got {size}")
        self.size = size

    @classmethod
    def from_spec(cls, spec: RuleSpec) -> ConsecutiveRule:
        """``consecutive N``."""
        check_arguments(spec, 1, "N, the group size")
        try:
            size = int(spec.arguments[0])
        except ValueError:
            raise ConfigError(
                f"rule 'consecutive' needs an integer group size, got {spec.arguments[0]!r}"
            ) from None
        return cls(size)

    @property
    def text(self) -> str:
        """``consecutive <N>``."""
        return f"{self.name} {self.size}"

    @property
    def group_size(self) -> int:
        """N."""
        return self.size

    def group(self, exposures: Sequence[DimensionRecord], headers: Headers) -> Grouping:
        """Chunks of N in time order, night by night."""
        result = Grouping()
        for night in _nights(exposures):
            full = len(night) - len(night) % self.size
            for start in range(0, full, self.size):
                ids = tuple(e.id for e in night[start : start + self.size])
                name = str(ids[0]) if len(ids) == 1 else f"{ids[0]}-{ids[-1]}"
                result.groups.append(Group(name, ids))
            for exposure in night[full:]:
                result.left_out.append(
                    LeftOut(
                        exposure.id,
                        f"one of the last {len(night) - full} exposures of day_obs "
                        f"{exposure.day_obs}, fewer than {self.size}",
                    )
                )
        return result
