"""The typed header of a quantum graph: the run it plans and what it was built from.

In the process that built the graph the header holds the resolved pipeline itself; only
a saved graph holds the pipeline's JSON form (``to_json`` and ``from_json``, which
``io.py`` calls when it saves and loads a graph), and a loaded graph parses it when the
pipeline is first asked for.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_serializer

from ..core.data_id_table import DataIdTable
from ..core.errors import ConfigError

if TYPE_CHECKING:
    from ..core.universe import DimensionUniverse
    from ..pipe.resolved import ResolvedPipeline

#: Version of the saved graph's layout; a file of any other version must be rebuilt.
GRAPH_FORMAT_VERSION = 2

_Model = TypeVar("_Model", bound=BaseModel)


def check_format_version(found: object) -> None:
    """Refuse a saved graph whose layout is not the one this quanta reads."""
    if found != GRAPH_FORMAT_VERSION:
        raise ConfigError(
            f"quantum graph format version {found} is not supported "
            f"(this quanta reads version {GRAPH_FORMAT_VERSION}); rebuild the graph"
        )


def _now() -> datetime.datetime:
    """The time a header is made, in UTC to the second."""
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


class UniverseVersion(BaseModel):
    """The namespace and version of the dimension universe a graph was built for."""

    model_config = ConfigDict(frozen=True)

    namespace: str
    version: int

    @classmethod
    def of(cls, universe: DimensionUniverse) -> UniverseVersion:
        """The namespace and version of ``universe``."""
        return cls(namespace=universe.namespace, version=universe.version)

    def __str__(self) -> str:
        return f"{self.namespace}:{self.version}"


class GraphHeader(BaseModel):
    """What a graph plans (run, output chain, inputs, query, data ID table, collections
    whose done quanta it leaves out) and what it was built from (pipeline, dimension
    universe), in the layout of ``format_version``."""

    model_config = ConfigDict(frozen=True)

    format_version: int = GRAPH_FORMAT_VERSION
    run: str
    output: str | None = None
    inputs: tuple[str, ...] = ()
    where: str | None = None
    binds: dict[str, Any] = Field(default_factory=dict)
    data_ids: DataIdTable | None = None
    skip_existing_in: tuple[str, ...] = ()
    universe: UniverseVersion
    created: datetime.datetime = Field(default_factory=_now)
    _resolved: ResolvedPipeline | None = PrivateAttr(None)
    _saved: tuple[Mapping[str, Any], DimensionUniverse] | None = PrivateAttr(None)

    @classmethod
    def of_pipeline(cls, pipeline: ResolvedPipeline, **fields: Any) -> GraphHeader:
        """The header of a graph built here: it holds the resolved ``pipeline`` itself."""
        header = cls(**fields)
        header._resolved = pipeline
        return header

    @property
    def pipeline(self) -> ResolvedPipeline:
        """The resolved pipeline: the builder's own object or, for a loaded graph, the
        saved description, imported and validated on first use (``quanta check`` needs
        no task classes)."""
        if self._resolved is None:
            from ..pipe.resolved import ResolvedPipeline

            assert self._saved is not None
            self._resolved = ResolvedPipeline.from_json(*self._saved)
        return self._resolved

    @field_serializer("created")
    def _created_text(self, created: datetime.datetime) -> str:
        return created.isoformat()

    def to_json(self) -> dict[str, Any]:
        """The JSON form a saved graph keeps, with the pipeline's JSON description."""
        if self._resolved is not None:
            pipeline = self._resolved.to_json()
        else:
            assert self._saved is not None
            pipeline = dict(self._saved[0])
        return {**self.model_dump(mode="json"), "pipeline": pipeline}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], universe: DimensionUniverse) -> GraphHeader:
        """Rebuild a header from ``to_json`` output, refusing one of another layout or
        another dimension universe; its pipeline is parsed when first used."""
        check_format_version(data.get("format_version"))
        saved = _validated(UniverseVersion, data.get("universe"), "universe")
        expected = UniverseVersion.of(universe)
        if saved != expected:
            raise ConfigError(
                f"the quantum graph was built for dimension universe {saved}, but this "
                f"repository's is {expected}; rebuild the graph"
            )
        fields = {name: value for name, value in data.items() if name != "pipeline"}
        header = _validated(cls, fields)
        header._saved = (_validated_pipeline(data.get("pipeline")), universe)
        return header


def _validated(model: type[_Model], value: Any, *where: str) -> _Model:
    """``model.model_validate(value)``; an invalid value is a one-line ``ConfigError``
    naming the field (inside ``where``)."""
    try:
        return model.model_validate(value)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(map(str, (*where, *first["loc"])))
        raise ConfigError(f"invalid quantum graph header: {field}: {first['msg']}") from None


def _validated_pipeline(value: Any) -> Mapping[str, Any]:
    """The saved pipeline description, checked to have a list of tasks."""
    if not isinstance(value, Mapping) or not isinstance(value.get("tasks"), list):
        raise ConfigError("invalid quantum graph header: pipeline: no list of tasks")
    return value
