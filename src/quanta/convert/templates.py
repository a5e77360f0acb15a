"""Mapper policy templates: each %-format path template as a regular expression.

A legacy mapper policy names, per dataset type, a path template such as
``%(field)s/%(dateObs)s/%(pointing)05d/%(filter)s/RAW-%(visit)07d-%(ccd)03d.fits``; matching
a file's relative path against every template recovers its dataset type and data ID.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from ..core.errors import ConfigError
from ..core.yaml_io import load_yaml

#: One %-format field: ``%(name)flags width .precision conversion``, or a literal ``%%``.
_FIELD = re.compile(r"%(?:\((?P<name>\w+)\)[-#0 +]*\d*(?:\.\d+)?(?P<conv>[a-zA-Z])|%)")
#: Conversions a template may use, with the pattern of their text and the Python type.
_CONVERSIONS: dict[str, tuple[str, type]] = {
    "d": (r"[-+]?\d+", int),
    "i": (r"[-+]?\d+", int),
    "s": (r"[^/]+?", str),
}
#: File names the walk never reports: the repository's own bookkeeping and editor backups.
IGNORED_NAMES = (
    "_mapper",
    "_parent",
    "repositoryCfg.yaml",
    "registry.sqlite3",
    "calibRegistry.sqlite3",
    "README.txt",
    "*~",
)

DataId = dict[str, int | str]


@dataclass(frozen=True)
class Template:
    """One dataset type's path template, its policy section, Python type and tables, and
    whether (a calibration) it is valid until the next one supersedes it."""

    dataset_type: str
    section: str
    template: str
    python_type: str
    tables: tuple[str, ...]
    pattern: re.Pattern[str]
    fields: Mapping[str, type]
    until_superseded: bool = False

    @classmethod
    def parse(
        cls,
        dataset_type: str,
        template: str,
        section: str = "",
        python_type: str = "",
        tables: Sequence[str] = (),
        until_superseded: bool = False,
    ) -> Template:
        """Compile ``template``; one that does not parse is a one-line ``ConfigError``."""
        parts: list[str] = []
        fields: dict[str, type] = {}
        position = 0
        for found in _FIELD.finditer(template):
            parts.append(re.escape(template[position : found.start()]))
            position = found.end()
            name, conv = found.group("name"), found.group("conv")
            if name is None:
                parts.append("%")
            elif not name.isidentifier():
                _bad(dataset_type, template, f"field name {name!r}")
            elif conv not in _CONVERSIONS:
                _bad(dataset_type, template, f"conversion %{conv} of field {name!r}")
            elif name in fields:
                if _CONVERSIONS[conv][1] is not fields[name]:
                    _bad(dataset_type, template, f"field {name!r} with two types")
                parts.append(f"(?P={name})")
            else:
                text, kind = _CONVERSIONS[conv]
                fields[name] = kind
                parts.append(f"(?P<{name}>{text})")
        if "%" in _FIELD.sub("", template):
            _bad(dataset_type, template, "a % that starts no field")
        parts.append(re.escape(template[position:]))
        if not template or template.startswith("/"):
            _bad(dataset_type, template, "an empty or absolute path")
        return cls(
            dataset_type,
            section,
            template,
            python_type,
            tuple(tables),
            re.compile("".join(parts)),
            fields,
            until_superseded,
        )

    def match(self, path: str) -> DataId | None:
        """The data ID of a relative POSIX ``path`` this template names, else ``None``.

        >>> Template.parse("raw", "%(filter)s/RAW-%(visit)07d.fits").match("r/RAW-0000042.fits")
        {'filter': 'r', 'visit': 42}
        """
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        return {name: kind(found.group(name)) for name, kind in self.fields.items()}

    def format(self, data_id: Mapping[str, int | str]) -> str:
        """The relative path of ``data_id``, as the legacy mapper wrote it."""
        return self.template % data_id


def _bad(dataset_type: str, template: str, why: str) -> NoReturn:
    """Refuse a template in one line that names its dataset type."""
    raise ConfigError(f"dataset type {dataset_type!r}: template {template!r} has {why}")


def load_policy(policy: Mapping[str, Any], errors: list[str] | None = None) -> list[Template]:
    """Every dataset type with a ``template`` in a policy's sections, in policy order.

    A policy maps section names (``exposures``, ``calibrations``, ``datasets``...) to
    dataset types, each with ``template``, ``python``, ``tables`` (one name or a list)
    and, for calibrations, ``valid_until_superseded``. A bad entry raises ``ConfigError``,
    or, given an ``errors`` list, is left out with its message appended there.
    """
    templates = []
    for section, entries in policy.items():
        if not isinstance(entries, Mapping):
            continue
        for name, entry in entries.items():
            if not isinstance(entry, Mapping) or "template" not in entry:
                continue
            try:
                templates.append(_entry(str(section), str(name), entry))
            except ConfigError as err:
                if errors is None:
                    raise
                errors.append(str(err))
    return templates


def _entry(section: str, name: str, entry: Mapping[str, Any]) -> Template:
    """One policy entry's template, checked."""
    template = entry["template"]
    if not isinstance(template, str):
        raise ConfigError(f"dataset type {name!r}: template {template!r} is not text")
    tables = entry.get("tables", ())
    tables = [tables] if isinstance(tables, str) else tables
    if not isinstance(tables, list | tuple) or not all(isinstance(t, str) for t in tables):
        raise ConfigError(f"dataset type {name!r}: tables {tables!r} are not names")
    superseded = entry.get("valid_until_superseded", False)
    if not isinstance(superseded, bool):
        raise ConfigError(f"dataset type {name!r}: valid_until_superseded is not true or false")
    python = str(entry.get("python", ""))
    return Template.parse(name, template, section, python, tables, superseded)


def read_policy(path: Path, errors: list[str] | None = None) -> list[Template]:
    """``load_policy`` of a policy YAML file; an unreadable file always raises."""
    policy = load_yaml(path)
    if not isinstance(policy, Mapping):
        raise ConfigError(f"{path}: a mapper policy is a mapping of sections")
    return load_policy(policy, errors)


def is_ignored(name: str) -> bool:
    """Whether a file name is bookkeeping the walk skips."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in IGNORED_NAMES)


def match_path(templates: Iterable[Template], path: str) -> tuple[str, DataId] | None:
    """The dataset type and data ID of the first template naming ``path``, else ``None``."""
    for template in templates:
        data_id = template.match(path)
        if data_id is not None:
            return template.dataset_type, data_id
    return None


@dataclass(frozen=True)
class TreeScan:
    """What a walk found: each matched file's dataset type and data ID, and the rest."""

    matched: dict[str, tuple[str, DataId]]
    unmatched: list[str]


def scan_tree(root: Path, templates: Sequence[Template], prune: Iterable[str] = ()) -> TreeScan:
    """Match every file under ``root`` (relative POSIX paths), skipping ignored names and
    the top-level directories in ``prune`` (such as ``CALIB`` and ``rerun``)."""
    matched: dict[str, tuple[str, DataId]] = {}
    unmatched: list[str] = []
    for relative in _files(root, frozenset(prune)):
        found = match_path(templates, relative)
        if found is None:
            unmatched.append(relative)
        else:
            matched[relative] = found
    return TreeScan(matched, unmatched)


def _files(root: Path, prune: frozenset[str]) -> Iterator[str]:
    """Relative paths of the files under ``root`` that are not ignored, in sorted order."""
    for directory, subdirs, names in os.walk(root):
        if Path(directory) == root:
            subdirs[:] = [d for d in subdirs if d not in prune]
        subdirs.sort()
        for name in sorted(names):
            if not is_ignored(name):
                yield (Path(directory) / name).relative_to(root).as_posix()
