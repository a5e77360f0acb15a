"""Expectations files: what a run should have produced, declared in YAML.

::

    description: the calibration flow on the quick preset
    datasets:
      bias: {count: 2}                  # exactly 2 datasets in the checked collection
      postISRCCD: {min_count: 10}       # at least 10 (max_count: at most)
      ptcGroupPair: {count: 12, min_rows: 4}        # ArrowTable: rows of every dataset
      ptc:
        fields:                         # StructuredData: every value the path reaches
          "amps.*.gain": [0.5, 3.0]     # inclusive range
          "amps.*.n_pairs_used": {min: 4}
    allowed_failures:                   # quanta whose outputs may be missing
      - {task: ptcSolve, data_id: {detector: 1}, reason: "dead amplifier"}
      - {task: isr, data_id: "*exposure=17*"}       # a glob of the canonical data ID

A dataset type with no count rule must have at least one dataset. Files are read with
safe loading; every mistake is a ``ConfigError`` naming the file and line.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ..core.data_id import DataCoordinate
from ..core.errors import ConfigError
from ..core.yaml_io import config_error, line_of, load_yaml
from .fields import parse_path

Count = Annotated[StrictInt, Field(ge=0)]
Bound = Annotated[float, Field(allow_inf_nan=False)]
#: Clearer words for pydantic errors that would name our classes.
_MESSAGES = {"model_type": "expected a mapping", "dict_type": "expected a mapping"}


class _Strict(BaseModel):
    """A model that refuses unknown keys, naming the valid ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in data:
                if key not in cls.model_fields:
                    raise PydanticCustomError(
                        "unknown_key",
                        "unknown key {text}; valid keys: {valid}",
                        {"key": key, "text": repr(key), "valid": ", ".join(cls.model_fields)},
                    )
        return data


class Range(_Strict):
    """Inclusive bounds on a value, either of them open; ``[min, max]`` in a file."""

    min: Bound | None = None
    max: Bound | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, data: Any) -> Any:
        if isinstance(data, list):
            if len(data) != 2:
                raise ValueError("a range is [min, max], or a mapping with min and/or max")
            return {"min": data[0], "max": data[1]}
        return data

    @field_validator("min", "max", mode="before")
    @classmethod
    def _not_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"a bound is a number, not {value!r}")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("a range needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is greater than max {self.max:g}")
        return self

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies within the bounds (NaN never does)."""
        if math.isnan(value):
            return False
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def describe(self) -> str:
        """``in [a, b]``, ``at least a`` or ``at most b``."""
        if self.min is not None and self.max is not None:
            return f"in [{number(self.min)}, {number(self.max)}]"
        if self.min is not None:
            return f"at least {number(self.min)}"
        return f"at most {number(self.max)}"  # type: ignore[arg-type]


class DatasetExpectation(_Strict):
    """What the datasets of one type should be: how many, how many rows, which values."""

    count: Count | None = None
    min_count: Count | None = None
    max_count: Count | None = None
    min_rows: Count | None = None
    fields: dict[str, Range] = Field(default_factory=dict)

    @field_validator("fields")
    @classmethod
    def _paths(cls, fields: dict[str, Range]) -> dict[str, Range]:
        for path in fields:
            parse_path(path)
        return fields

    @model_validator(mode="after")
    def _consistent(self) -> DatasetExpectation:
        if self.count is not None and (self.min_count, self.max_count) != (None, None):
            raise ValueError("give count, or min_count and/or max_count, not both")
        low, high = self.min_count, self.max_count
        if low is not None and high is not None and low > high:
            raise ValueError(f"min_count {low} is greater than max_count {high}")
        return self

    @property
    def count_range(self) -> Range:
        """The allowed number of datasets (at least one when no count rule is given)."""
        if self.count is not None:
            return Range(min=self.count, max=self.count)
        if self.min_count is None and self.max_count is None:
            return Range(min=1)
        return Range(min=self.min_count, max=self.max_count)


class AllowedFailure(_Strict):
    """Quanta of one task whose outputs may be missing (they failed or found no work).

    ``data_id`` narrows them: a mapping of data ID keys (dimensions or free-form keys) to
    a value or a list of values, or a glob matched against the canonical data ID text
    (``instrument=SimCam,detector=1,exposure=17``). Without it every quantum of the task
    is allowed.
    """

    task: str
    data_id: dict[str, tuple[str, ...]] | str | None = None
    reason: str | None = None

    @field_validator("data_id", mode="before")
    @classmethod
    def _pattern(cls, value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value
        if not isinstance(value, dict):
            raise ValueError("data_id is a mapping of keys to values, or a glob of the data ID")
        pattern = {}
        for key, given in value.items():
            values = given if isinstance(given, list) else [given]
            if not values or not all(_is_key_value(v) for v in values):
                raise ValueError(
                    f"data_id value of {key!r} must be an integer or a string, or a list of them"
                )
            pattern[str(key)] = tuple(str(v) for v in values)
        return pattern

    def matches(self, label: str, data_id: DataCoordinate) -> bool:
        """Whether the quantum of task ``label`` with ``data_id`` is allowed to fail."""
        if label != self.task:
            return False
        if self.data_id is None:
            return True
        if isinstance(self.data_id, str):
            return fnmatch.fnmatchcase(data_id.key(), self.data_id)
        for key, values in self.data_id.items():
            try:
                if str(data_id[key]) not in values:
                    return False
            except KeyError:
                return False
        return True


class Expectations(_Strict):
    """A whole expectations file."""

    description: str = ""
    datasets: dict[str, DatasetExpectation] = Field(default_factory=dict)
    allowed_failures: list[AllowedFailure] = Field(default_factory=list)

    @field_validator("datasets", mode="before")
    @classmethod
    def _empty_entries(cls, value: Any) -> Any:
        """``bias:`` with nothing after it means ``bias: {}``: at least one dataset."""
        if isinstance(value, dict):
            return {k: {} if v is None else v for k, v in value.items()}
        return value

    def allows(self, label: str, data_id: DataCoordinate) -> bool:
        """Whether some entry of ``allowed_failures`` covers this quantum."""
        return any(entry.matches(label, data_id) for entry in self.allowed_failures)


@dataclass(frozen=True)
class ExpectationsFile:
    """Loaded expectations, with the file they came from to name lines in errors."""

    expectations: Expectations
    source: str
    document: Any = None

    def where(self, *path: Any) -> str:
        """``file:line`` of ``path`` in the file."""
        line = line_of(self.document, path) if self.document is not None else None
        return f"{self.source}:{line}" if line else self.source


def shipped_root() -> Traversable:
    """The directory of the expectations files shipped in the package."""
    return resources.files("quanta") / "expectations"


def shipped_expectations() -> list[str]:
    """Names of the shipped expectations files (``quanta/expectations/<name>.yaml``)."""
    return sorted(
        e.name[: -len(".yaml")] for e in shipped_root().iterdir() if e.name.endswith(".yaml")
    )


def load_expectations(ref: str | Path) -> ExpectationsFile:
    """Load an expectations file, or a shipped one by name (as ``Pipeline.load`` does)."""
    text = str(ref)
    if text.endswith((".yaml", ".yml")) or Path(text).is_file():
        return parse_expectations(load_yaml(text), text)
    shipped = shipped_root() / f"{text}.yaml"
    if not shipped.is_file():
        raise ConfigError(
            f"no expectations file or shipped expectations {text!r}; "
            f"shipped: {', '.join(shipped_expectations())}"
        )
    return parse_expectations(load_yaml(str(shipped), shipped.read_text()), str(shipped))


def parse_expectations(document: Any, source: str) -> ExpectationsFile:
    """Validate a loaded document; the first mistake becomes a ``file:line`` error."""
    if not isinstance(document, dict):
        raise ConfigError(
            f"{source}: an expectations file is a mapping with keys "
            f"{', '.join(Expectations.model_fields)}"
        )
    try:
        expectations = Expectations.model_validate(document)
    except ValidationError as err:
        first = err.errors()[0]
        path = tuple(first["loc"])
        message = _MESSAGES.get(first["type"], first["msg"].removeprefix("Value error, "))
        if first["type"] == "missing":
            path, message = path[:-1], f"missing key {path[-1]!r}"
        at = ".".join(map(str, path))
        if first["type"] == "unknown_key":
            path = (*path, first["ctx"]["key"])
        raise config_error(source, document, path, f"{at}: {message}" if at else message) from err
    return ExpectationsFile(expectations, source, document)


def _is_key_value(value: Any) -> bool:
    return isinstance(value, int | str) and not isinstance(value, bool)


def number(value: float) -> str:
    """A number as messages show it: six significant digits, no trailing zeros."""
    return f"{value:.6g}"
