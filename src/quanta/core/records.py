"""Dimension records: the typed rows that describe each dimension value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .data_id import unsafe_reason
from .errors import DataIdError, DimensionNotFoundError
from .timespan import Timespan
from .universe import Dimension, DimensionUniverse


class DimensionRecord:
    """One row of a dimension table, with attribute access to its fields."""

    __slots__ = ("dimension", "values")

    def __init__(self, dimension: Dimension, values: dict[str, Any]) -> None:
        self.dimension = dimension
        self.values = values

    @classmethod
    def from_mapping(
        cls, universe: DimensionUniverse, element: str, data: Mapping[str, Any]
    ) -> DimensionRecord:
        """Validate a plain mapping into a record: every key known, every value typed."""
        dim = universe[element]
        unknown = [k for k in data if k not in dim.field_names]
        if unknown:
            raise DimensionNotFoundError(
                f"unknown field(s) {', '.join(map(repr, unknown))} for dimension {element!r}; "
                f"valid fields: {', '.join(dim.field_names)}"
            )
        values: dict[str, Any] = {}
        for name in dim.required:
            values[name] = _typed(element, name, universe[name].key, data.get(name))
        values[dim.key.name] = _typed(element, dim.key.name, dim.key, data.get(dim.key.name))
        for name in dim.implied:
            spec = universe[name].key
            values[name] = (
                None if data.get(name) is None else _typed(element, name, spec, data[name])
            )
        for spec in dim.fields:
            try:
                values[spec.name] = spec.coerce(data.get(spec.name))
            except ValueError as err:
                raise DataIdError(f"{element} record field {spec.name!r}: {err}") from None
        if dim.has_timespan:
            span = data.get("timespan")
            if span is not None and not isinstance(span, Timespan):
                try:
                    span = Timespan(*span)
                except TypeError:
                    raise DataIdError(
                        f"{element} record field 'timespan' must be a Timespan or (begin, end)"
                    ) from None
            values["timespan"] = span
        return cls(dim, values)

    @property
    def key_value(self) -> Any:
        """The value of this record's own key."""
        return self.values[self.dimension.key.name]

    @property
    def data_id_values(self) -> dict[str, Any]:
        """Required dimension values, with this dimension's own key under its name."""
        result = {name: self.values[name] for name in self.dimension.required}
        result[self.dimension.name] = self.key_value
        return result

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(
                f"{self.dimension.name} record has no field {name!r}; valid: "
                f"{', '.join(self.dimension.field_names)}"
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """Plain values, with a timespan as a Timespan object."""
        return dict(self.values)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, DimensionRecord)
            and self.dimension.name == other.dimension.name
            and self.values == other.values
        )

    def __hash__(self) -> int:
        return hash((self.dimension.name, tuple(self.data_id_values.values())))

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"{self.dimension.name}({fields})"


def _typed(element: str, name: str, spec: Any, value: Any) -> Any:
    if value is None:
        raise DataIdError(f"{element} record is missing its key {name!r}")
    try:
        typed = spec.coerce(value)
    except ValueError as err:
        raise DataIdError(f"{element} record key {name!r}: {err}") from None
    if (reason := unsafe_reason(typed)) is not None:
        raise DataIdError(f"{element} record key {name!r}: {typed!r} is not allowed: it {reason}")
    return typed
