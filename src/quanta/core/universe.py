"""The dimension universe: which dimensions exist, their keys, fields and relationships.

Loaded from YAML (the default ships with the package; each repository keeps a
copy), validated with pydantic at the file boundary, then held as small frozen
dataclasses that the hot paths use.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError, DimensionNotFoundError
from .text import text_problem
from .yaml_io import config_error, load_yaml

FieldType = Literal["int", "float", "string", "bool"]
DEFAULT_UNIVERSE_PATH = Path(__file__).with_name("dimensions.yaml")
#: The width of a string column whose universe entry gives no length.
DEFAULT_STRING_LENGTH = 256


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One typed column of a dimension record or join row."""

    name: str
    type: FieldType
    length: int | None = None
    nullable: bool = True
    doc: str = ""

    def coerce(self, value: Any) -> Any:
        """Return ``value`` converted to this field's Python type, or raise ``ValueError``."""
        if value is None:
            if not self.nullable:
                raise ValueError(f"{self.name} may not be null")
            return None
        return coerce_value(self.type, value, self.length or DEFAULT_STRING_LENGTH)


def _int64(value: int) -> int:
    """``value`` if a 64-bit database column can hold it."""
    if not -(2**63) <= value < 2**63:
        raise ValueError(f"{value} is outside the 64-bit integer range")
    return value


def coerce_value(type_: FieldType, value: Any, length: int | None = None) -> Any:
    """Convert ``value`` to the Python type for a field type, refusing lossy conversions."""
    if type_ == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and value.strip().lstrip("-").isdigit():
                return _int64(int(value))
            if hasattr(value, "__index__"):
                return _int64(int(value.__index__()))
            raise ValueError(f"expected an integer, got {value!r}")
        return _int64(int(value))
    if type_ == "float":
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"expected a number, got {value!r}") from None
    if type_ == "bool":
        if isinstance(value, bool):
            return value
        if value in (0, 1):
            return bool(value)
        raise ValueError(f"expected true or false, got {value!r}")
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    if length is not None and len(value) > length:
        raise ValueError(f"{value!r} is longer than {length} characters")
    if (problem := text_problem(value)) is not None:
        raise ValueError(f"{value!r} is not allowed: it {problem}")
    return value


@dataclass(frozen=True, slots=True)
class Dimension:
    """A dimension: a key, what identifies it, what its records imply, its record fields."""

    name: str
    key: FieldSpec
    required: tuple[str, ...]
    implied: tuple[str, ...]
    fields: tuple[FieldSpec, ...]
    has_timespan: bool
    aliases: Mapping[str, str]
    doc: str = ""

    @property
    def field_names(self) -> tuple[str, ...]:
        """Names of every record attribute, in column order."""
        names = (*self.required, self.key.name, *self.implied, *(f.name for f in self.fields))
        return (*names, "timespan") if self.has_timespan else names

    def field(self, name: str) -> FieldSpec:
        """The spec of one record field (not a key)."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise DimensionNotFoundError(
            f"dimension {self.name!r} has no field {name!r}; valid fields: "
            f"{', '.join(self.field_names)}"
        )


@dataclass(frozen=True, slots=True)
class JoinSpec:
    """A many-to-many table relating dimensions, such as group membership."""

    name: str
    dimensions: tuple[str, ...]
    fields: tuple[FieldSpec, ...]
    doc: str = ""


@dataclass(frozen=True)
class DimensionUniverse:
    """Every dimension and join of one repository, in dependency order."""

    version: int
    namespace: str
    dimensions: Mapping[str, Dimension]
    joins: Mapping[str, JoinSpec] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Dimension:
        try:
            return self.dimensions[name]
        except KeyError:
            raise DimensionNotFoundError(
                f"unknown dimension {name!r}; valid dimensions: {', '.join(self.dimensions)}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self.dimensions

    @functools.cached_property
    def _order(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.dimensions)}

    def sorted(self, names: Iterable[str]) -> tuple[str, ...]:
        """Return dimension names in universe order, checking each exists."""
        unique = set(names)
        for name in unique:
            self[name]
        return tuple(sorted(unique, key=self._order.__getitem__))

    def group(self, names: Iterable[str]) -> DimensionGroup:
        """The ``DimensionGroup`` for a set of dimension names (closed over requirements)."""
        return self._group(frozenset(names))

    @functools.lru_cache(maxsize=512)  # noqa: B019 - universes live as long as the process
    def _group(self, names: frozenset[str]) -> DimensionGroup:
        required: set[str] = set()
        pending = list(names)
        while pending:
            name = pending.pop()
            if name not in required:
                required.add(name)
                pending.extend(self[name].required)
        implied: set[str] = set()
        pending = [i for name in required for i in self[name].implied]
        while pending:
            name = pending.pop()
            if name not in implied and name not in required:
                implied.add(name)
                pending.extend(self[name].implied)
                pending.extend(self[name].required)
        return DimensionGroup(self, self.sorted(required), self.sorted(implied - required))

    def empty(self) -> DimensionGroup:
        """The group with no dimensions."""
        return self.group(())

    def joins_within(self, names: Iterable[str]) -> tuple[JoinSpec, ...]:
        """Join tables whose dimensions are all in ``names``."""
        present = set(names)
        return tuple(j for j in self.joins.values() if set(j.dimensions) <= present)

    def __hash__(self) -> int:
        return hash((self.namespace, self.version, tuple(self.dimensions)))

    def __eq__(self, other: object) -> bool:
        return self is other or (
            isinstance(other, DimensionUniverse)
            and (self.namespace, self.version, self.dimensions, self.joins)
            == (other.namespace, other.version, other.dimensions, other.joins)
        )

    @classmethod
    def default(cls) -> DimensionUniverse:
        """The universe shipped with the package."""
        return load_universe(DEFAULT_UNIVERSE_PATH)


@dataclass(frozen=True, slots=True)
class DimensionGroup:
    """A set of dimensions closed over requirements: the keys of a data ID.

    ``required`` are the dimensions a data ID must give; ``implied`` are the
    ones its records determine (exposure implies physical_filter, which
    implies band).
    """

    universe: DimensionUniverse
    required: tuple[str, ...]
    implied: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Required then implied names."""
        return self.required + self.implied

    def __contains__(self, name: object) -> bool:
        return name in self.required or name in self.implied

    def __iter__(self) -> Iterator[str]:
        return iter(self.required)

    def __len__(self) -> int:
        return len(self.required)

    def issubset(self, other: DimensionGroup) -> bool:
        """True if every required dimension of this group is required by ``other``."""
        return set(self.required) <= set(other.required)

    def union(self, *others: DimensionGroup) -> DimensionGroup:
        """The group of all dimensions of this and the other groups."""
        names = set(self.required)
        for other in others:
            names.update(other.required)
        return self.universe.group(names)

    def __hash__(self) -> int:
        return hash(self.required)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DimensionGroup) and self.required == other.required

    def __repr__(self) -> str:
        return f"DimensionGroup({', '.join(self.required)})"

    def __str__(self) -> str:
        return "(" + ", ".join(self.required) + ")"


def _model_classes() -> tuple[Any, Any, Any, Any]:
    """The pydantic models of a universe file, made on first use (pydantic loads then)."""
    from pydantic import BaseModel, ConfigDict, Field

    class _Strict(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

    class FieldModel(_Strict):
        name: str = Field(pattern=r"^[a-z_][a-z0-9_]*$")
        type: FieldType
        length: int | None = None
        nullable: bool = True
        doc: str = ""

    class DimensionModel(_Strict):
        doc: str = ""
        key: FieldModel
        requires: list[str] = []
        implies: list[str] = []
        fields: list[FieldModel] = []
        timespan: bool = False
        aliases: dict[str, str] = {}

    class JoinModel(_Strict):
        doc: str = ""
        dimensions: list[str]
        fields: list[FieldModel] = []

    class UniverseModel(_Strict):
        version: int
        namespace: str
        dimensions: dict[str, DimensionModel]
        joins: dict[str, JoinModel] = {}

    return FieldModel, DimensionModel, JoinModel, UniverseModel


def _spec(model: Any) -> FieldSpec:
    return FieldSpec(model.name, model.type, model.length, model.nullable, model.doc)


def parse_universe(data: Any, source: str | Path) -> DimensionUniverse:
    """Validate loaded YAML as a universe; errors name the file and the line."""
    from pydantic import ValidationError

    universe_model = _model_classes()[3]
    try:
        model = universe_model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = tuple(first["loc"])
        where = ".".join(str(p) for p in loc)
        raise config_error(source, data, loc, f"{where}: {first['msg']}") from err
    dims: dict[str, Dimension] = {}
    pending = dict(model.dimensions)
    # Order dimensions so that each comes after those it requires or implies.
    while pending:
        ready = [
            name
            for name, m in pending.items()
            if all(d in dims for d in (*m.requires, *m.implies) if d != name)
        ][:1]
        if not ready:
            for name, m in pending.items():
                for dep in (*m.requires, *m.implies):
                    if dep not in model.dimensions:
                        raise config_error(
                            source,
                            data,
                            ("dimensions", name),
                            f"dimension {name!r} refers to unknown dimension {dep!r}",
                        )
            raise config_error(
                source,
                data,
                ("dimensions", next(iter(pending))),
                f"dimensions {sorted(pending)} depend on each other in a cycle",
            )
        for name in ready:
            m = pending.pop(name)
            names = [*m.requires, m.key.name, *m.implies, *(f.name for f in m.fields)]
            if len(set(names)) != len(names):
                raise config_error(
                    source, data, ("dimensions", name), f"dimension {name!r} repeats a field name"
                )
            dims[name] = Dimension(
                name=name,
                key=_spec(m.key),
                required=tuple(m.requires),
                implied=tuple(m.implies),
                fields=tuple(_spec(f) for f in m.fields),
                has_timespan=m.timespan,
                aliases=dict(m.aliases),
                doc=m.doc,
            )
    joins = {}
    for name, j in model.joins.items():
        for dim in j.dimensions:
            if dim not in dims:
                raise config_error(
                    source, data, ("joins", name), f"join {name!r} names unknown dimension {dim!r}"
                )
        joins[name] = JoinSpec(name, tuple(j.dimensions), tuple(_spec(f) for f in j.fields), j.doc)
    return DimensionUniverse(model.version, model.namespace, dims, joins)


@functools.lru_cache(maxsize=16)
def _load_cached(path: str, mtime: float) -> DimensionUniverse:
    return parse_universe(load_yaml(path), path)


def load_universe(path: str | Path) -> DimensionUniverse:
    """Load and validate a universe YAML file."""
    path = Path(path)
    try:
        mtime = path.stat().st_mtime
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the dimension universe: {err.strerror}") from err
    return _load_cached(str(path), mtime)
