"""The repository configuration file, ``quanta.yaml`` at the repository root."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..core.errors import RepositoryError
from ..core.yaml_io import config_error, load_yaml

CONFIG_NAME = "quanta.yaml"
UNIVERSE_NAME = "dimensions.yaml"
SQLITE_NAME = "registry.sqlite3"


class RegistrySettings(BaseModel):
    """Where the registry database is: a SQLAlchemy URL; relative SQLite paths are
    relative to the repository root."""

    model_config = ConfigDict(extra="forbid")
    db: str = f"sqlite:///{SQLITE_NAME}"


#: Files up to this size have their checksum verified on every read by default.
VERIFY_MAX_BYTES = 8 * 2**20


class DatastoreSettings(BaseModel):
    """File templates (a default and per-dataset-type overrides), and whether reads check
    each file's checksum first (files up to ``verify_max_bytes``: larger ones cost a
    second full read)."""

    model_config = ConfigDict(extra="forbid")
    default_template: str | None = None
    templates: dict[str, str] = Field(default_factory=dict)
    verify_checksums: bool = True
    verify_max_bytes: int = Field(VERIFY_MAX_BYTES, ge=0)


class InstrumentSettings(BaseModel):
    """Raw ingest: directories of per-observation header corrections, searched in order;
    relative paths are relative to the repository root."""

    model_config = ConfigDict(extra="forbid")
    header_corrections: list[str] = Field(default_factory=list)


class RepoConfig(BaseModel):
    """Everything ``quanta.yaml`` holds."""

    model_config = ConfigDict(extra="forbid")
    version: int = 1
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    datastore: DatastoreSettings = Field(default_factory=DatastoreSettings)
    instruments: InstrumentSettings = Field(default_factory=InstrumentSettings)

    def db_url(self, root: Path) -> str:
        """The registry URL with a relative SQLite path resolved against ``root``."""
        url = self.registry.db
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url[len(prefix) :].startswith("/"):
            return prefix + str((root / url[len(prefix) :]).resolve())
        return url

    def header_corrections(self, root: Path) -> list[Path]:
        """The header correction directories, relative ones resolved against ``root``."""
        return [(root / path).resolve() for path in self.instruments.header_corrections]

    @classmethod
    def load(cls, root: Path) -> RepoConfig:
        """Read and validate a repository's configuration, naming file and line on errors."""
        path = root / CONFIG_NAME
        if not path.exists():
            raise RepositoryError(f"{root} is not a quanta repository (no {CONFIG_NAME})")
        data = load_yaml(path)
        try:
            return cls.model_validate(data or {})
        except ValidationError as err:
            first = err.errors()[0]
            loc = tuple(first["loc"])
            raise config_error(
                path, data, loc, f"{'.'.join(map(str, loc))}: {first['msg']}"
            ) from err

    def save(self, root: Path) -> None:
        """Write ``quanta.yaml``."""
        import yaml

        text = yaml.safe_dump(self.model_dump(exclude_defaults=False), sort_keys=False)
        (root / CONFIG_NAME).write_text(text)
