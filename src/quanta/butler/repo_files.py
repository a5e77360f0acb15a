"""A repository's files without its registry: what a worker process opens.

A worker reads its quantum's inputs and writes its outputs through the datastore; the
driver alone touches the registry. So this module, and what it imports, never loads
SQLAlchemy: the universe comes from the repository's copy of it and the file templates
from its configuration.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..core.data_id import DataCoordinate
from ..core.universe import DimensionUniverse, load_universe
from ..datastore.datastore import FileDatastore
from ..datastore.templates import DEFAULT_TEMPLATE, FileTemplates
from .config import UNIVERSE_NAME, RepoConfig
from .quantum_io import ButlerQuantumIO, InputBinding, OutputBinding


@dataclass(frozen=True)
class RepoFiles:
    """A repository's dimension universe and file datastore."""

    universe: DimensionUniverse
    datastore: FileDatastore

    def quantum_io(
        self,
        data_id: DataCoordinate,
        inputs: Mapping[str, InputBinding],
        outputs: Mapping[str, OutputBinding],
        hidden: Collection[str] = (),
    ) -> ButlerQuantumIO:
        """The I/O of one quantum over these files."""
        return ButlerQuantumIO(self.datastore, data_id, inputs, outputs, hidden)


def open_repo_files(
    root: Path, config: RepoConfig | None = None, universe: DimensionUniverse | None = None
) -> RepoFiles:
    """The universe and datastore of the repository at ``root`` (its configuration and
    universe are read unless given)."""
    config = config if config is not None else RepoConfig.load(root)
    universe = universe if universe is not None else load_universe(root / UNIVERSE_NAME)
    settings = config.datastore
    verify = settings.verify_max_bytes if settings.verify_checksums else None
    return RepoFiles(universe, FileDatastore(root, file_templates(universe, config), verify))


def file_templates(universe: DimensionUniverse, config: RepoConfig) -> FileTemplates:
    """File templates from the configuration, validated against the universe."""
    settings = config.datastore
    default = settings.default_template or DEFAULT_TEMPLATE
    return FileTemplates(universe, default, settings.templates)
