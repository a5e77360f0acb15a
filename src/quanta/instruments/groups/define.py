"""Defining groups, by a rule or from a file: everything checked first, then one transaction.

The definition writes the ``group_system`` record, the ``group`` records and their
``group_membership`` rows (each member with its position). Before anything is written
every group is checked: its name, its size against the system's, its members (known
exposures, each once, and in an exclusive system in no other group) and, for a group
that exists already, that its members are the same. Defining the same groups again
changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...core.data_id import check_safe_value
from ...core.errors import (
    ConfigError,
    ConflictError,
    DataIdError,
    QuantaError,
    RecordNotFoundError,
)
from ...core.group_files import raise_problems, read_group_file
from ...core.records import DimensionRecord
from .headers import raw_headers
from .rules import Group, GroupRule, LeftOut, RuleSpec, load_rule
from .stats import measured_signals

if TYPE_CHECKING:
    from ...butler import Butler

#: The rule text of a system whose groups were first defined from a file.
FROM_FILE = "from-file"


class GroupDefinitionError(ConflictError):
    """Groups that contradict themselves, their system or the groups already defined."""


@dataclass(frozen=True)
class GroupSystem:
    """What a ``group_system`` record says: how its groups are made and what holds for them."""

    name: str
    rule: str
    exclusive: bool = False
    group_size: int | None = None


@dataclass
class GroupReport:
    """What a definition did: groups new and already there, their members, and the
    exposures the rule left out, with why."""

    instrument: str
    system: GroupSystem
    new: int = 0
    existing: int = 0
    members: int = 0
    left_out: list[LeftOut] = field(default_factory=list)

    def summary(self) -> str:
        """One line: the system, its groups (new and existing), members and left-outs."""
        system = self.system
        traits = [self.instrument, f"rule {system.rule!r}"]
        if system.group_size is not None:
            traits.append(f"groups of {system.group_size}")
        if system.exclusive:
            traits.append("exclusive")
        return (
            f"group system {system.name} ({', '.join(traits)}): {self.new + self.existing} "
            f"groups ({self.new} new, {self.existing} existing), {self.members} members, "
            f"{len(self.left_out)} exposures left out"
        )


def define_groups(
    butler: Butler,
    system: str,
    *,
    rule: str | GroupRule | None = None,
    from_file: str | Path | None = None,
    exclusive: bool = False,
    instrument: str | None = None,
    where: str | None = None,
    binds: Mapping[str, Any] | None = None,
    tolerance: float | None = None,
    group_size: int | None = None,
    stats: Sequence[str] = (),
) -> GroupReport:
    """What ``quanta define-groups`` does: define groups by ``rule`` (its text, such as
    ``"consecutive 3"``, or a rule object) or from the group file ``from_file``; a rule
    that pairs by measured signal reads ``flatStats`` from the collections ``stats``."""
    either = "give either a rule (--rule) or a group file (--from-file)"
    if from_file is not None:
        if rule is not None:
            raise ConfigError(either)
        if where or binds or stats or tolerance is not None:
            raise ConfigError(
                "--where, --bind, --stats and --tolerance apply to --rule, not --from-file"
            )
        return define_groups_from_file(
            butler,
            system,
            from_file,
            exclusive=exclusive,
            group_size=group_size,
            instrument=instrument,
        )
    if rule is None:
        raise ConfigError(either)
    if group_size is not None:
        raise ConfigError("--group-size applies to --from-file; a rule sets its own group size")
    if isinstance(rule, str):
        rule = load_rule(RuleSpec.parse(rule, tolerance))
    elif tolerance is not None:
        raise ConfigError("a rule object carries its own tolerance")
    if stats and not rule.needs_signals:
        raise ConfigError(f"--stats applies to rules that pair by signal, not {rule.text!r}")
    return define_groups_by_rule(
        butler,
        system,
        rule,
        exclusive=exclusive,
        instrument=instrument,
        where=where,
        binds=binds,
        stats=stats,
    )


def define_groups_by_rule(
    butler: Butler,
    system: str,
    rule: GroupRule,
    *,
    exclusive: bool = False,
    instrument: str | None = None,
    where: str | None = None,
    binds: Mapping[str, Any] | None = None,
    stats: Sequence[str] = (),
) -> GroupReport:
    """Group the exposures of ``instrument`` that match ``where`` by ``rule`` into
    ``system``; the rule sees them sorted by night, start time and id (and, if it needs
    them, their signals measured in the ``flatStats`` of the collections ``stats``)."""
    instrument = resolve_instrument(butler, instrument)
    exposures = sorted(
        butler.query_dimension_records(
            "exposure", where=where, binds=binds, data_id={"instrument": instrument}
        ),
        key=_time_order,
    )
    keywords = rule.header_keywords(butler.universe["exposure"].field_names)
    headers = raw_headers(butler, instrument, exposures, keywords) if keywords else {}
    if rule.needs_signals:
        signals = measured_signals(butler, instrument, stats)
        headers = {e: {"SIGNAL": value} for e, value in signals.items()}
    grouping = rule.group(exposures, headers)
    wanted = GroupSystem(system, rule.text, exclusive, rule.group_size)
    located: list[tuple[Group, str | None]] = [(g, None) for g in grouping.groups]
    return _define(butler, instrument, wanted, located, grouping.left_out)


def define_groups_from_file(
    butler: Butler,
    system: str,
    path: str | Path,
    *,
    exclusive: bool = False,
    group_size: int | None = None,
    instrument: str | None = None,
) -> GroupReport:
    """Define the groups of a CSV or YAML file (see ``files``) into ``system``; errors name
    the file and line. A file may add groups to a system a rule defined."""
    instrument = resolve_instrument(butler, instrument)
    located = read_group_file(Path(path))
    wanted = GroupSystem(system, FROM_FILE, exclusive, group_size)
    return _define(butler, instrument, wanted, list(located), [])


def resolve_instrument(butler: Butler, name: str | None) -> str:
    """``name`` if the repository has that instrument; when None, its only instrument."""
    names = [r.name for r in butler.query_dimension_records("instrument")]
    if name is None and len(names) == 1:
        return str(names[0])
    if name is None:
        listed = ", ".join(names) if names else "none; register one first"
        raise DataIdError(f"choose the instrument with --instrument; instruments: {listed}")
    if name not in names:
        raise RecordNotFoundError(
            f"no instrument {name!r} in the repository; instruments: {', '.join(names) or 'none'}"
        )
    return name


def _time_order(exposure: DimensionRecord) -> tuple[int, int, int]:
    span = exposure.timespan
    begin = span.begin if span is not None and span.begin is not None else -1
    return (exposure.day_obs if exposure.day_obs is not None else -1, begin, exposure.id)


def _define(
    butler: Butler,
    instrument: str,
    wanted: GroupSystem,
    located: Sequence[tuple[Group, str | None]],
    left_out: list[LeftOut],
) -> GroupReport:
    """Check every group against the system and the repository, then write the new ones."""
    registry = butler.registry
    check_name(butler, "group_system", wanted.name)
    with registry.transaction():
        system = _reconcile(butler, instrument, wanted)
        existing = _existing_groups(butler, instrument, system.name)
        known = _exposure_ids(butler, instrument)
        new = _check(butler, system, located, existing, known)
        butler.insert_dimension_records(
            "group_system",
            [
                {
                    "instrument": instrument,
                    "name": system.name,
                    "exclusive": system.exclusive,
                    "group_size": system.group_size,
                    "rule": system.rule,
                }
            ],
        )
        keys = {"instrument": instrument, "group_system": system.name}
        butler.insert_dimension_records(
            "group", [{**keys, "name": g.name, "n_members": len(g.members)} for g in new]
        )
        registry.insert_join_rows(
            "group_membership",
            [
                {**keys, "group": g.name, "exposure": e, "position": i}
                for g in new
                for i, e in enumerate(g.members)
            ],
        )
    return GroupReport(
        instrument,
        system,
        new=len(new),
        existing=len(located) - len(new),
        members=sum(len(g.members) for g, _ in located),
        left_out=left_out,
    )


def _reconcile(butler: Butler, instrument: str, wanted: GroupSystem) -> GroupSystem:
    """The system as it will be: ``wanted`` if new, else the existing one, provided they
    agree on exclusivity, group size and (for rules) the rule."""
    records = butler.query_dimension_records(
        "group_system", data_id={"instrument": instrument, "group_system": wanted.name}
    )
    if not records:
        return wanted
    old = records[0]
    current = GroupSystem(old.name, old.rule or "", bool(old.exclusive), old.group_size)
    named = f"group system {wanted.name!r} of {instrument}"
    if wanted.exclusive != current.exclusive:
        raise GroupDefinitionError(
            f"{named} is {'' if current.exclusive else 'not '}exclusive; define its groups "
            f"{'with' if current.exclusive else 'without'} --exclusive, or use another system"
        )
    from_file = wanted.rule == FROM_FILE
    size = current.group_size if from_file and wanted.group_size is None else wanted.group_size
    if size != current.group_size:
        raise GroupDefinitionError(
            f"{named} has groups of {_size_text(current.group_size)}, not of {_size_text(size)}"
        )
    if not from_file and wanted.rule != current.rule:
        raise GroupDefinitionError(
            f"{named} was defined by the rule {current.rule!r}, not {wanted.rule!r}; use "
            "another system"
        )
    return current


def _size_text(size: int | None) -> str:
    return "any size" if size is None else f"{size} exposure{'s' * (size != 1)}"


def _existing_groups(butler: Butler, instrument: str, system: str) -> dict[str, tuple[int, ...]]:
    """The groups of a system with their members in position order."""
    data_id = {"instrument": instrument, "group_system": system}
    groups = {r.name: () for r in butler.query_dimension_records("group", data_id=data_id)}
    members = butler.registry.query_group_members(instrument, system)
    return {**groups, **{name: tuple(ids) for name, ids in members.items()}}


def _exposure_ids(butler: Butler, instrument: str) -> set[int]:
    _, rows = butler.registry.query_data_id_rows(
        ["instrument", "exposure"], data_id={"instrument": instrument}
    )
    return {row[1] for row in rows}


def _check(
    butler: Butler,
    system: GroupSystem,
    located: Sequence[tuple[Group, str | None]],
    existing: Mapping[str, tuple[int, ...]],
    known: set[int],
) -> list[Group]:
    """The groups to write; every problem of every group is found before any is raised."""
    claimed: dict[int, str] = (
        {e: name for name, members in existing.items() for e in members} if system.exclusive else {}
    )
    seen: set[str] = set()
    new: list[Group] = []
    problems: list[str] = []
    for group, origin in located:
        name = group.name
        where = f"{origin}: " if origin else ""
        try:
            check_name(butler, "group", name)
        except DataIdError as err:
            problems.append(f"{where}{err}")
            continue
        if name in seen:
            problems.append(f"{where}group {name!r} is defined twice")
            continue
        seen.add(name)
        twice = _first_repeat(group.members)
        unknown = [e for e in group.members if e not in known]
        if twice is not None:
            problems.append(f"{where}exposure {twice} appears twice in group {name!r}")
        elif unknown:
            problems.append(
                f"{where}group {name!r} has unknown exposure{'s' * (len(unknown) > 1)} "
                f"{', '.join(map(str, unknown))}"
            )
        elif system.group_size is not None and len(group.members) != system.group_size:
            problems.append(
                f"{where}group {name!r} has {_size_text(len(group.members))}; the groups of "
                f"system {system.name!r} have {system.group_size}"
            )
        elif name in existing:
            if existing[name] != group.members:
                problems.append(
                    f"{where}group {name!r} already exists in system {system.name!r} with the "
                    f"exposures {list(existing[name])}, not {list(group.members)}"
                )
        else:
            for exposure in group.members if system.exclusive else ():
                holder = claimed.setdefault(exposure, name)
                if holder != name:
                    problems.append(
                        f"{where}exposure {exposure} of group {name!r} is already in group "
                        f"{holder!r} of the exclusive system {system.name!r}"
                    )
                    break
            new.append(group)
    raise_problems(problems, GroupDefinitionError)
    return new


def check_name(butler: Butler, dimension: str, name: str) -> None:
    """Refuse a name that cannot be a key of ``dimension`` or a safe part of a file path
    (file templates refuse '..' anywhere in a value)."""
    try:
        butler.universe[dimension].key.coerce(name)
        check_safe_value(dimension, name)
        if ".." in name:
            raise DataIdError(f"data ID value {dimension}={name!r} may not contain '..'")
    except (ValueError, QuantaError) as err:
        raise DataIdError(f"invalid {dimension} name: {err}") from None


def _first_repeat(members: Sequence[int]) -> int | None:
    seen: set[int] = set()
    for exposure in members:
        if exposure in seen:
            return exposure
        seen.add(exposure)
    return None
