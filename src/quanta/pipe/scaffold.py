"""``quanta new-task``: the files of a new task, its pipeline and its test, from templates.

The templates (``task_template/``) hold a small working task (median and spread of each
ISR-corrected image) that a user renames and changes; ``TaskNames`` derives every name
they use from the one the user gives, so the generated files agree with each other.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from importlib.resources import files
from importlib.util import find_spec
from pathlib import Path
from string import Template

from ..core.errors import ConfigError

_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z0-9]+|[A-Z]+[0-9]*")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


@dataclass(frozen=True)
class TaskNames:
    """The names of one new task: its module, class prefix, pipeline label and title."""

    module: str
    prefix: str
    label: str
    title: str

    @classmethod
    def from_name(cls, name: str) -> TaskNames:
        """Names from ``FlatStats``, ``flat_stats`` or ``flatStats`` alike.

        >>> TaskNames.from_name("flat_stats")
        TaskNames(module='flat_stats', prefix='FlatStats', label='flatStats', title='Flat stats')
        """
        if not _NAME.fullmatch(name):
            raise ConfigError(
                f"task name {name!r}: use letters, digits and underscores, starting with a "
                "letter (e.g. FlatStats)"
            )
        words = [w.lower() for w in _WORDS.findall(name)]
        module = "_".join(words)
        if keyword.iskeyword(module) or module in ("quanta", "tests", "test"):
            raise ConfigError(f"task name {name!r}: {module!r} cannot be a module name")
        prefix = "".join(w.capitalize() for w in words)
        label = words[0] + "".join(w.capitalize() for w in words[1:])
        return cls(module, prefix, label, " ".join(words).capitalize())


def task_files(names: TaskNames) -> dict[Path, str]:
    """The text of every file, by path relative to the directory it goes in."""
    templates = files(__package__) / "task_template"
    values = {
        "module": names.module,
        "prefix": names.prefix,
        "label": names.label,
        "title": names.title,
    }
    targets = {
        "__init__.py.tmpl": Path(names.module) / "__init__.py",
        "tasks.py.tmpl": Path(names.module) / "tasks.py",
        "pipeline.yaml.tmpl": Path(f"{names.module}.yaml"),
        "test.py.tmpl": Path("tests") / f"test_{names.module}.py",
    }
    return {
        target: Template((templates / template).read_text()).substitute(values)
        for template, target in targets.items()
    }


def write_task(name: str, directory: Path, overwrite: bool = False) -> list[Path]:
    """Write the files of a new task under ``directory``; refuse, writing nothing, when one
    exists and ``overwrite`` is false. Returns the paths written."""
    names = TaskNames.from_name(name)
    if find_spec(names.module) is not None:
        raise ConfigError(
            f"task name {name!r}: a module named {names.module!r} is already importable "
            "here; choose another name"
        )
    contents = task_files(names)
    paths = {directory / relative: text for relative, text in contents.items()}
    existing = [str(path) for path in paths if path.exists()]
    if existing and not overwrite:
        raise ConfigError(
            f"new-task {name!r}: {', '.join(existing)} already exist(s); "
            "choose another name or directory, or pass --force"
        )
    for path, text in paths.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return list(paths)
