"""Grouping rules: plugins, found by short name, that turn exposures into ordered groups.

A package adds a rule by declaring, in its ``pyproject.toml``::

    [project.entry-points."quanta.group_rules"]
    my-rule = "mypackage.rules:MyRule"

where ``MyRule`` subclasses ``GroupRule``. Only the rule asked for is imported. A rule
is pure: it gets the exposure records (and raw header values, if it asks for any) and
returns groups and the exposures it left out, with why; it never touches the registry.
"""

from __future__ import annotations

import shlex
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ...core.errors import ConfigError
from ...core.group_files import Group as Group
from ...core.pairing import LeftOut as LeftOut
from ...core.plugins import PluginLoader, subclass_of
from ...core.records import DimensionRecord

ENTRY_POINT_GROUP = "quanta.group_rules"

#: Values a rule asked for, by exposure id then name: raw header keywords, and ``SIGNAL``
#: (measured, from ``flatStats``) for a rule that ``needs_signals``.
Headers = Mapping[int, Mapping[str, Any]]


@dataclass
class Grouping:
    """What a rule made of the exposures: groups in order, and the exposures left out."""

    groups: list[Group] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)


@dataclass(frozen=True)
class RuleSpec:
    """A rule as asked for: ``--rule "NAME [ARGUMENT...]"`` and ``--tolerance``."""

    name: str
    arguments: tuple[str, ...] = ()
    tolerance: float | None = None

    @classmethod
    def parse(cls, text: str, tolerance: float | None = None) -> RuleSpec:
        """Split ``"consecutive 3"`` into the rule name and its arguments."""
        try:
            words = shlex.split(text)
        except ValueError as err:
            raise ConfigError(f"cannot parse rule {text!r}: {err}") from None
        if not words:
            raise ConfigError("empty rule: give its name, e.g. --rule flat-pairs")
        return cls(words[0], tuple(words[1:]), tolerance)


class GroupRule(ABC):
    """A way of grouping exposures; subclasses are found through ``ENTRY_POINT_GROUP``."""

    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_spec(cls, spec: RuleSpec) -> GroupRule:
        """The rule with its arguments checked; a ``ConfigError`` says what is expected."""

    @property
    @abstractmethod
    def text(self) -> str:
        """The rule and its arguments, as recorded in the ``group_system`` record."""

    @property
    def group_size(self) -> int | None:
        """Members of every group this rule makes, when fixed."""
        return None

    def header_keywords(self, fields: Collection[str]) -> tuple[str, ...]:
        """Raw header keywords the rule needs, given the exposure record's field names."""
        return ()

    @property
    def needs_signals(self) -> bool:
        """True if the rule reads each exposure's measured signal (``SIGNAL``)."""
        return False

    @abstractmethod
    def group(self, exposures: Sequence[DimensionRecord], headers: Headers) -> Grouping:
        """Group exposure records sorted by night, start time and id."""


def check_arguments(spec: RuleSpec, count: int, usage: str, tolerance: bool = False) -> None:
    """Refuse a wrong number of arguments, or a ``--tolerance`` the rule does not take."""
    if len(spec.arguments) != count:
        raise ConfigError(
            f"rule {spec.name!r} takes {count or 'no'} argument{'s' * (count != 1)} "
            f"({usage}), got {' '.join(spec.arguments) or 'none'}"
        )
    if spec.tolerance is not None and not tolerance:
        raise ConfigError(f"rule {spec.name!r} takes no --tolerance")


RULES: PluginLoader[type[GroupRule]] = PluginLoader(
    ENTRY_POINT_GROUP,
    "grouping rule",
    subclass_of(GroupRule),
    "a GroupRule subclass",
    listing="known rules",
)


def known_rules() -> list[str]:
    """Short names of every installed grouping rule."""
    return RULES.known()


def load_rule(spec: RuleSpec) -> GroupRule:
    """The rule ``spec`` names, built from its arguments."""
    return RULES.load(spec.name).from_spec(spec)
