"""The flat-pair rules, shared by group definition and by tasks that pair flats themselves.

Flats are taken in pairs, one right after the other. Every rule walks the flats of each
night in exposure id order and pairs an exposure with the next one when they match;
an exposure without such a partner, such as a third flat of the same time, is left out
with the reason why. They match by one of the four modes calibration teams use
(``PAIRING_MODES``): equal exposure times (``flat_pairs``, within seconds), measured
signals or photodiode charges that agree within a fraction (``measured_pairs``, for a
lamp whose flux drifts), or simply the next exposure (``order_pairs``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

#: Default tolerance on the exposure times of a pair, in seconds.
DEFAULT_TOLERANCE = 0.005
#: Added to every tolerance, so that times equal but for float round-off always match.
ROUND_OFF = 1e-9
#: Default tolerance on the measured signals (or photodiode charges) of a pair: a fraction.
DEFAULT_SIGNAL_TOLERANCE = 0.005
#: How a pair may be matched: exposure time, measured signal, photodiode charge, order.
PAIRING_MODES = ("exposure_time", "signal", "photodiode", "order")


@dataclass(frozen=True)
class Flat:
    """What the rule needs of a flat exposure: its id, night and exposure time (s)."""

    exposure: int
    day_obs: int
    exposure_time: float


@dataclass(frozen=True)
class LeftOut:
    """An exposure a rule considered but put in no group (here: a flat not paired), and why."""

    exposure: int
    reason: str


@dataclass(frozen=True)
class FlatPairs:
    """The pairs (in time order, each as two exposure ids) and the flats left out."""

    pairs: list[tuple[int, int]]
    left_out: list[LeftOut]


@dataclass(frozen=True)
class Measured:
    """A flat with a measured value (median signal in ADU, or photodiode charge)."""

    exposure: int
    day_obs: int
    value: float


def pair_name(first: int, second: int) -> str:
    """The name of a pair as groups and free-form keys spell it: ``1001+1002``."""
    return f"{first}+{second}"


def flat_pairs(flats: Iterable[Flat], tolerance: float = DEFAULT_TOLERANCE) -> FlatPairs:
    """Pair consecutive flats (ordered by night, then exposure id) of the same night whose
    exposure times agree within ``tolerance`` seconds."""
    if tolerance < 0:
        raise ValueError(f"the tolerance must not be negative, got {tolerance}")
    ordered = sorted(flats, key=lambda f: (f.day_obs, f.exposure))
    pairs: list[tuple[int, int]] = []
    left_out: list[LeftOut] = []
    previous: tuple[Flat, Flat] | None = None
    i = 0
    while i < len(ordered):
        first = ordered[i]
        second = ordered[i + 1] if i + 1 < len(ordered) else None
        if (
            second is not None
            and second.day_obs == first.day_obs
            and abs(second.exposure_time - first.exposure_time) <= tolerance + ROUND_OFF
        ):
            pairs.append((first.exposure, second.exposure))
            previous = (first, second)
            i += 2
            continue
        left_out.append(LeftOut(first.exposure, _reason(first, second, previous, tolerance)))
        previous = None
        i += 1
    return FlatPairs(pairs, left_out)


def _reason(
    flat: Flat, following: Flat | None, previous: tuple[Flat, Flat] | None, tolerance: float
) -> str:
    """Why ``flat`` has no partner: a third match right after a pair, or no match next to it."""
    if previous is not None:
        a, b = previous
        if a.day_obs == flat.day_obs and abs(b.exposure_time - flat.exposure_time) <= (
            tolerance + ROUND_OFF
        ):
            return (
                f"third flat of exposure time {flat.exposure_time:g} s after the pair "
                f"{pair_name(a.exposure, b.exposure)}"
            )
    return (
        f"no neighbouring flat of day_obs {flat.day_obs} with exposure time "
        f"{flat.exposure_time:g} s (within {tolerance:g} s)"
    )


def measured_pairs(
    flats: Iterable[Measured], tolerance: float = DEFAULT_SIGNAL_TOLERANCE, what: str = "signal"
) -> FlatPairs:
    """Pair consecutive flats of one night whose values (``what``: a signal, a photodiode
    charge) differ by at most ``tolerance`` times their mean."""
    if tolerance < 0:
        raise ValueError(f"the tolerance must not be negative, got {tolerance}")

    def match(a: Measured, b: Measured) -> bool:
        return abs(a.value - b.value) <= tolerance * 0.5 * abs(a.value + b.value) + ROUND_OFF

    def reason(flat: Measured) -> str:
        return (
            f"no neighbouring flat of day_obs {flat.day_obs} with a {what} within "
            f"{100 * tolerance:g}% of {flat.value:.6g}"
        )

    return _consecutive(flats, match, reason)


def order_pairs(flats: Iterable[Measured]) -> FlatPairs:
    """Pair each flat with the next one of its night in exposure id order (values unused);
    an odd one out at the end of a night is left out."""
    return _consecutive(
        flats,
        lambda a, b: True,
        lambda flat: f"last of an odd number of flats of day_obs {flat.day_obs}",
    )


def _consecutive(
    flats: Iterable[Measured],
    match: Callable[[Measured, Measured], bool],
    reason: Callable[[Measured], str],
) -> FlatPairs:
    """Greedy pairs of consecutive flats of one night that ``match``, in id order."""
    ordered: Sequence[Measured] = sorted(flats, key=lambda f: (f.day_obs, f.exposure))
    pairs: list[tuple[int, int]] = []
    left_out: list[LeftOut] = []
    i = 0
    while i < len(ordered):
        first = ordered[i]
        second = ordered[i + 1] if i + 1 < len(ordered) else None
        if second is not None and second.day_obs == first.day_obs and match(first, second):
            pairs.append((first.exposure, second.exposure))
            i += 2
        else:
            left_out.append(LeftOut(first.exposure, reason(first)))
            i += 1
    return FlatPairs(pairs, left_out)
