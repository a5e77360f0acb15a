"""The flat-pair rule, shared by group definition and by tasks that pair flats themselves.

Flats are taken in pairs of equal exposure time, one right after the other. The rule
walks the flats of each night in order and pairs an exposure with the next one when
their exposure times agree within a tolerance; an exposure without such a partner,
such as a third flat of the same time, is left out with the reason why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: Default tolerance on the exposure times of a pair, in seconds.
DEFAULT_TOLERANCE = 0.005
#: Added to every tolerance, so that times equal but for float round-off always match.
ROUND_OFF = 1e-9


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
