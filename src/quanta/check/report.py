"""What a check found: one outcome per expectation, with the problems that failed it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExpectationResult:
    """One expectation (``ptc count``, ``ptc amps.*.gain``...) and its problems, each a
    line that names the dataset type, data ID or field and says expected versus found."""

    expectation: str
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True if nothing contradicted the expectation."""
        return not self.problems


@dataclass(frozen=True)
class CheckReport:
    """The outcomes of checking a collection, and the runs whose saved graphs were used."""

    collection: str
    runs: tuple[str, ...]
    outcomes: tuple[ExpectationResult, ...]

    @property
    def failed(self) -> list[ExpectationResult]:
        """The expectations that did not hold."""
        return [o for o in self.outcomes if not o.ok]

    @property
    def ok(self) -> bool:
        """True if every expectation held."""
        return not self.failed
