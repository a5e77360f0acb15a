"""File templates: where in the datastore a dataset's file goes.

A template is a relative path with fields in braces::

    {run}/{dataset_type}/{instrument:?}/{detector:?}/{dataset_type}_{instrument:?}_{detector:?}

Fields are ``run``, ``dataset_type``, ``storage_class``, ``extras`` (the data
ID's free-form keys as ``key-value`` joined by ``_``, such as
``pair-1001+1002``) and any dimension of the universe, required or implied
(an implied value is available only once the data ID has been expanded).
Braces are not allowed outside fields.

``{name:?}`` marks a field optional: when the data ID has no value for it,
the field is dropped with one adjacent separator (``/``, ``_``, ``-`` or
``.``): the one after it when the field starts a path segment, else the one
before it. A missing field without ``?`` is a ``DataIdError``. ``{run}``
must appear, and not as optional.

Every template yields a unique path per data ID within one run and dataset
type: required dimensions the template does not name, and the extras if it has
no ``{extras}``, are appended to the file name as ``_value`` in universe order
(unique as long as string values that share a segment contain no ``_``). The
datastore adds the formatter's extension.

Invariant 5: every substituted value is checked before a path is returned;
values may not be empty or contain ``/``, ``\\``, ``..`` or control
characters. The run name may contain ``/`` (it is a collection name such as
``SimCam/raw/all``), but no empty segments and no segment starting with ``.``.
No rendered path segment may start with ``.``: such names are kept for
temporary files and are never dataset files.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from quanta.core.errors import ConfigError, DataIdError
from quanta.core.refs import DatasetRef
from quanta.core.universe import DimensionUniverse

#: The default template: readable for the common per-detector datasets, unique for any data ID.
DEFAULT_TEMPLATE = (
    "{run}/{dataset_type}/{instrument:?}/{detector:?}/"
    "{dataset_type}_{instrument:?}_{exposure:?}_{detector:?}_{extras:?}"
)
_SPECIAL_FIELDS = ("run", "dataset_type", "storage_class", "extras")
_SEPARATORS = "/_-."
_FIELD = re.compile(r"\{([^{}:]*)(?::([^{}]*))?\}")
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _has_control(text: str) -> bool:
    """True if ``text`` holds a control, format, surrogate or line/paragraph separator
    character (for ASCII text, the quick test: every other character is printable)."""
    if text.isascii():
        return not text.isprintable()
    return any(unicodedata.category(c) in _UNSAFE_CATEGORIES for c in text)


def _bad_segment(segment: str) -> bool:
    """Empty segments make absolute or ambiguous paths; leading '.' is '..' or a hidden name."""
    return not segment or segment.startswith(".")


def check_value(field: str, value: object) -> str:
    """Return ``value`` as text if it is safe inside a path segment, else raise ``DataIdError``."""
    text = str(value)
    if not text or "/" in text or "\\" in text or ".." in text or _has_control(text):
        raise DataIdError(
            f"value {field}={text!r} cannot be used in a file name: values may not be empty "
            "or contain '/', '\\', '..' or control characters"
        )
    return text


def check_run(run: str) -> str:
    """Return ``run`` if it is safe as a relative directory path, else raise ``DataIdError``."""
    if "\\" in run or _has_control(run) or any(_bad_segment(s) for s in run.split("/")):
        raise DataIdError(
            f"run name {run!r} cannot be used as a directory: it may contain '/' but no empty "
            "segments, segments starting with '.', '\\' or control characters"
        )
    return run


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    optional: bool


class FileTemplate:
    """One parsed, validated template; ``render`` turns a ref into a relative path."""

    def __init__(self, text: str, universe: DimensionUniverse) -> None:
        self.text = text
        self.universe = universe
        self._tokens = self._parse(text)
        self.fields = tuple(t.name for t in self._tokens if isinstance(t, _Field))

    def _parse(self, text: str) -> list[str | _Field]:
        valid = (*_SPECIAL_FIELDS, *self.universe.dimensions)
        tokens: list[str | _Field] = []
        pos = 0
        for match in _FIELD.finditer(text):
            tokens.append(text[pos : match.start()])
            name, spec = match.group(1), match.group(2)
            if name not in valid:
                raise ConfigError(
                    f"file template {text!r} has unknown field {name!r}; "
                    f"valid fields: {', '.join(valid)}"
                )
            if spec not in (None, "?"):
                raise ConfigError(
                    f"file template {text!r}: field {name!r} has spec {spec!r}; "
                    "the only spec is '?' (optional)"
                )
            tokens.append(_Field(name, spec == "?"))
            pos = match.end()
        tokens.append(text[pos:])
        literal = "".join(t for t in tokens if isinstance(t, str))
        if "{" in literal or "}" in literal:
            raise ConfigError(f"file template {text!r} has an unmatched brace")
        if _Field("run", False) not in tokens:
            raise ConfigError(f"file template {text!r} must contain '{{run}}' (not optional)")
        skeleton = "".join(t if isinstance(t, str) else "x" for t in tokens)
        segments = skeleton.split("/")
        if "\\" in literal or _has_control(literal) or any(_bad_segment(s) for s in segments):
            raise ConfigError(
                f"file template {text!r} must be a relative path without '\\', control "
                "characters, empty segments or segments starting with '.'"
            )
        return [t for t in tokens if t != ""]

    def render(self, ref: DatasetRef) -> str:
        """The relative path (without extension) of ``ref``'s file; refuses unsafe values."""
        values = self._values(ref)
        out = ""
        drop_next = False
        for token in self._tokens:
            if isinstance(token, str):
                out += token[1:] if drop_next and token[0] in _SEPARATORS else token
                drop_next = False
            elif token.name in values:
                out += values[token.name]
                drop_next = False
            elif not token.optional:
                raise DataIdError(
                    f"file template {self.text!r} needs {token.name!r}, which data ID "
                    f"{ref.data_id} of {ref.dataset_type.name!r} lacks; "
                    f"write {{{token.name}:?}} to make it optional"
                )
            elif not out or out.endswith("/"):
                drop_next = True
            elif out[-1] in _SEPARATORS:
                out = out[:-1]
        if drop_next and out.endswith("/"):
            out = out[:-1]
        named = set(self.fields)
        missing = [values[d] for d in ref.data_id.group.required if d not in named]
        if "extras" in values and "extras" not in named:
            missing.append(values["extras"])
        out = "_".join([out, *missing])
        if any(_bad_segment(s) for s in out.split("/")):
            raise DataIdError(
                f"file template {self.text!r} gives path {out!r} for {ref}, which has an "
                "empty segment or one starting with '.'"
            )
        return out

    @staticmethod
    def _values(ref: DatasetRef) -> dict[str, str]:
        """Every field value ``ref`` can supply, each checked for path safety."""
        data_id = ref.data_id
        values = {name: check_value(name, value) for name, value in data_id.full().items()}
        values["run"] = check_run(ref.run)
        values["dataset_type"] = check_value("dataset_type", ref.dataset_type.name)
        values["storage_class"] = check_value("storage_class", ref.dataset_type.storage_class)
        extras = data_id.extras
        if extras:
            values["extras"] = "_".join(
                f"{check_value('extras', key)}-{check_value(key, value)}"
                for key, value in sorted(extras.items())
            )
        return values

    def __repr__(self) -> str:
        return f"FileTemplate({self.text!r})"


class FileTemplates:
    """A repository's templates: a default plus per-dataset-type overrides."""

    def __init__(
        self,
        universe: DimensionUniverse,
        default: str = DEFAULT_TEMPLATE,
        overrides: Mapping[str, str] | None = None,
    ) -> None:
        self.default = FileTemplate(default, universe)
        self.overrides = {
            name: FileTemplate(text, universe) for name, text in (overrides or {}).items()
        }

    @property
    def run_first(self) -> bool:
        """True if every template puts a run's files under a directory named for the run."""
        return all(t.text.startswith("{run}/") for t in (self.default, *self.overrides.values()))

    def template_for(self, dataset_type: str) -> FileTemplate:
        """The override for ``dataset_type`` if there is one, else the default."""
        return self.overrides.get(dataset_type, self.default)

    def path(self, ref: DatasetRef) -> str:
        """The relative path (without extension) of ``ref``'s file."""
        return self.template_for(ref.dataset_type.name).render(ref)
