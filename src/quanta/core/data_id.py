"""Data IDs: validated mappings from dimension names to key values.

A ``DataCoordinate`` holds the values of a ``DimensionGroup``'s required
dimensions (and, once expanded, the implied ones and the records), plus
optional free-form keys that are not universe dimensions, such as
``pair=1001+1002`` for task-defined quanta.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .errors import DataIdError
from .ids import data_id_key
from .text import text_problem
from .universe import DimensionGroup, DimensionUniverse

if TYPE_CHECKING:
    from .records import DimensionRecord

DataIdValue = int | str
_FREE_KEY = re.compile(r"^[a-z_][a-z0-9_]*$")
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f/\\]")


def unsafe_reason(value: DataIdValue) -> str | None:
    """Why a key value could escape a path or not be stored, or None if it is safe."""
    if not isinstance(value, str):
        return None
    if value in ("", ".", ".."):
        return "may not be empty, '.' or '..'"
    if (found := _BAD_CHARS.search(value)) is not None:
        return f"may not contain {found.group()!r} ('/', '\\' and control characters are refused)"
    if (problem := text_problem(value)) is not None:
        return problem
    return None


def check_safe_value(name: str, value: DataIdValue) -> None:
    """Refuse string values that could escape a path: separators, ``..``, control characters."""
    if (reason := unsafe_reason(value)) is not None:
        raise DataIdError(f"data ID value {name}={value!r} is not allowed: it {reason}")


class DataCoordinate(Mapping[str, DataIdValue]):
    """An immutable data ID for one ``DimensionGroup``."""

    __slots__ = ("_extras", "_hash", "_implied", "_key", "_records", "_values", "group")

    def __init__(
        self,
        group: DimensionGroup,
        values: tuple[DataIdValue, ...],
        implied: tuple[DataIdValue, ...] | None = None,
        records: Mapping[str, DimensionRecord] | None = None,
        extras: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.group = group
        self._values = values
        self._implied = implied
        self._records = records
        self._extras = extras
        self._hash: int | None = None
        self._key: str | None = None

    @classmethod
    def standardize(
        cls,
        data_id: Mapping[str, Any] | None,
        group: DimensionGroup | None = None,
        *,
        universe: DimensionUniverse | None = None,
        extras: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> DataCoordinate:
        """Validate a plain mapping into a data ID for ``group``.

        Values are converted to the key type of their dimension; keys that are
        not dimensions of the group (implied ones aside) are refused, naming
        the valid keys. Keys not in the universe go to ``extras`` only when
        passed there explicitly.

        >>> universe = DimensionUniverse.default()
        >>> data_id = DataCoordinate.standardize(
        ...     {"instrument": "Cam", "detector": "3"}, universe=universe
        ... )
        >>> data_id, data_id["detector"] + 1
        ({instrument=Cam,detector=3}, 4)
        >>> DataCoordinate.standardize({"instrument": "Cam", "detector": "x"}, universe=universe)
        Traceback (most recent call last):
        ...
        quanta.core.errors.DataIdError: invalid value for data ID key 'detector':
        expected an integer, got 'x'
        """
        merged: dict[str, Any] = {}
        if isinstance(data_id, DataCoordinate):
            merged.update(data_id.full())
            extras = {**data_id.extras, **(extras or {})}
        elif data_id:
            merged.update(data_id)
        merged.update(kwargs)
        if group is None:
            if universe is None:
                raise DataIdError("a universe or a dimension group is needed to standardize")
            group = universe.group(k for k in merged if k in universe)
        universe = group.universe
        unknown = [k for k in merged if k not in group]
        if unknown:
            raise DataIdError(
                f"unknown data ID key(s) {', '.join(map(repr, unknown))} for dimensions "
                f"{group}; valid keys: {', '.join(group.names)}"
            )
        missing = [k for k in group.required if k not in merged]
        if missing:
            raise DataIdError(
                f"data ID {dict(merged)!r} is missing {', '.join(missing)} (dimensions {group})"
            )
        values = tuple(_coerce_key(universe, k, merged[k]) for k in group.required)
        implied = None
        if group.implied and all(k in merged for k in group.implied):
            implied = tuple(_coerce_key(universe, k, merged[k]) for k in group.implied)
        extra_items: tuple[tuple[str, str], ...] = ()
        if extras:
            for key, value in extras.items():
                if not _FREE_KEY.match(key) or key in universe:
                    raise DataIdError(
                        f"free-form key {key!r} must be a lowercase name that is not a dimension"
                    )
                check_safe_value(key, str(value))
            extra_items = tuple(sorted((k, str(v)) for k, v in extras.items()))
        return cls(group, values, implied, None, extra_items)

    @property
    def universe(self) -> DimensionUniverse:
        return self.group.universe

    @property
    def required_values(self) -> tuple[DataIdValue, ...]:
        """Values of the required dimensions, in universe order."""
        return self._values

    @property
    def extras(self) -> dict[str, str]:
        """Free-form keys (not universe dimensions) and their values."""
        return dict(self._extras)

    @property
    def has_full_values(self) -> bool:
        """True if implied dimension values are known."""
        return self._implied is not None or not self.group.implied

    @property
    def records(self) -> Mapping[str, DimensionRecord] | None:
        """Dimension records, when this data ID has been expanded by the registry."""
        return self._records

    def full(self) -> dict[str, DataIdValue]:
        """Required and (when known) implied values as a plain dict."""
        result = dict(zip(self.group.required, self._values, strict=True))
        if self._implied is not None:
            result.update(zip(self.group.implied, self._implied, strict=True))
        return result

    def expanded(
        self, implied: tuple[DataIdValue, ...], records: Mapping[str, DimensionRecord]
    ) -> DataCoordinate:
        """A copy with implied values and records filled in."""
        return DataCoordinate(self.group, self._values, implied, records, self._extras)

    def with_extras(self, extras: Mapping[str, Any]) -> DataCoordinate:
        """A copy carrying free-form keys."""
        return DataCoordinate.standardize(self, self.group, extras=extras)

    def subset(self, group: DimensionGroup) -> DataCoordinate:
        """The data ID restricted to a smaller group (implied values must be known if needed)."""
        if group == self.group:
            return self
        full = self.full()
        try:
            values = tuple(full[k] for k in group.required)
        except KeyError as err:
            raise DataIdError(f"data ID {self} does not determine {err.args[0]!r}") from None
        implied = None
        if group.implied and all(k in full for k in group.implied):
            implied = tuple(full[k] for k in group.implied)
        records = None
        if self._records is not None:
            records = {k: v for k, v in self._records.items() if k in group}
        return DataCoordinate(group, values, implied, records)

    def key(self) -> str:
        """The canonical text form: required values then free-form keys, in a fixed order.

        Used for uniqueness in the registry and as input of deterministic UUIDs.
        """
        if self._key is None:
            self._key = data_id_key(self.group.required, self._values, self._extras)
        return self._key

    def __getitem__(self, key: str) -> DataIdValue:
        try:
            return self._values[self.group.required.index(key)]
        except ValueError:
            pass
        if self._implied is not None and key in self.group.implied:
            return self._implied[self.group.implied.index(key)]
        for k, v in self._extras:
            if k == key:
                return v
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.group.required)

    def __len__(self) -> int:
        return len(self.group.required)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DataCoordinate):
            return (
                self.group == other.group
                and self._values == other._values
                and self._extras == other._extras
            )
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other)
        return NotImplemented

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash((self.group.required, self._values, self._extras))
        return self._hash

    def __repr__(self) -> str:
        return "{" + self.key() + "}"

    __str__ = __repr__


def _coerce_key(universe: DimensionUniverse, name: str, value: Any) -> DataIdValue:
    spec = universe[name].key
    try:
        result = spec.coerce(value)
    except ValueError as err:
        raise DataIdError(f"invalid value for data ID key {name!r}: {err}") from None
    if result is None:
        raise DataIdError(f"data ID key {name!r} may not be null")
    check_safe_value(name, result)
    return result
