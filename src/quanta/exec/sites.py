"""Parsl sites: where a cluster execution runs, read from a YAML file and checked first.

A site names a batch system (``local``, ``slurm``, ``pbs`` or ``condor``) and how much of
it to use: nodes per block, blocks, walltime, partition or queue, the shell commands
that prepare a worker's environment, and the cores and memory one quantum needs.
Built-in templates ship in ``quanta/exec/site_templates``; ``quanta sites NAME`` prints
one to copy and edit. Every field is validated before anything is submitted, and an
error names the file, the line and the field. The Parsl configuration a site makes is
built by ``parsl_executor.parsl_config``, so that only that module imports Parsl.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from ..core.errors import ConfigError
from ..core.yaml_io import config_error, load_yaml

#: Names of the built-in sites, in the order help text lists them.
BUILTIN_SITES = ("local", "slurm", "pbs", "condor")
_WALLTIME = re.compile(r"^\d+:[0-5]\d:[0-5]\d$")
#: Fields that only one kind of batch system understands.
_ONLY_FOR = {"partition": "slurm", "queue": "pbs", "requirements": "condor"}


class Site(BaseModel):
    """One Parsl site: a batch system and the resources a run may use on it."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    provider: Literal["local", "slurm", "pbs", "condor"] = Field(
        description="Batch system: local (this machine), slurm, pbs or condor."
    )
    workers_per_node: int = Field(1, ge=1, description="Quanta running at once on each node.")
    cores_per_quantum: int = Field(
        1, ge=1, strict=True, description="Cores one quantum needs, a whole number."
    )
    memory_per_quantum: float | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        description="Memory one quantum needs, in GB (none: no limit).",
    )
    nodes_per_block: int = Field(1, ge=1, description="Nodes in each batch job (block).")
    init_blocks: int = Field(1, ge=0, description="Blocks requested at the start.")
    min_blocks: int = Field(0, ge=0, description="Blocks kept while idle.")
    max_blocks: int = Field(1, ge=1, description="Most blocks requested at once.")
    walltime: str = Field("01:00:00", description="Time limit of each block, HH:MM:SS.")
    partition: str | None = Field(None, description="Slurm partition (slurm only).")
    queue: str | None = Field(None, description="PBS queue (pbs only).")
    account: str | None = Field(None, description="Account or project charged for the blocks.")
    requirements: str = Field("", description="HTCondor requirements expression (condor only).")
    scheduler_options: str = Field("", description="Extra lines for the batch script header.")
    worker_init: list[str] = Field(
        default_factory=list,
        description="Shell commands run before a worker starts (activate the environment).",
    )
    address: str | None = Field(
        None, description="Address workers reach the driver at (default: found automatically)."
    )
    max_in_flight: int | None = Field(
        None, ge=1, description="Most jobs submitted and unfinished (default: 2 per worker)."
    )
    heartbeat_period: int = Field(30, ge=1, description="Seconds between heartbeats.")
    heartbeat_threshold: int = Field(
        120, ge=2, description="Seconds without heartbeat before a worker counts as lost."
    )

    @field_validator("walltime")
    @classmethod
    def _walltime(cls, value: str) -> str:
        if not _WALLTIME.match(value):
            raise ValueError(f"{value!r} is not HH:MM:SS")
        return value

    @field_validator("partition", "queue", "requirements")
    @classmethod
    def _provider_field(cls, value: str | None, info: ValidationInfo) -> str | None:
        provider = info.data.get("provider")
        wanted = _ONLY_FOR[str(info.field_name)]
        if value and provider and provider != wanted:
            raise ValueError(f"only {wanted} sites have it, not {provider} sites")
        return value

    @field_validator("max_blocks")
    @classmethod
    def _blocks(cls, value: int, info: ValidationInfo) -> int:
        low, start = info.data.get("min_blocks", 0), info.data.get("init_blocks", 1)
        if not low <= start <= value:
            raise ValueError(
                f"needs min_blocks ({low}) <= init_blocks ({start}) <= max_blocks ({value})"
            )
        return value

    @field_validator("heartbeat_threshold")
    @classmethod
    def _heartbeat(cls, value: int, info: ValidationInfo) -> int:
        period = info.data.get("heartbeat_period", 30)
        if value <= period:
            raise ValueError(f"must be longer than heartbeat_period ({period})")
        return value

    @property
    def workers(self) -> int:
        """Quanta that can run at once when every block is up."""
        return self.workers_per_node * self.nodes_per_block * self.max_blocks

    @property
    def in_flight(self) -> int:
        """How many jobs may be submitted and unfinished at once."""
        return self.max_in_flight or 2 * self.workers

    @property
    def grace_seconds(self) -> float:
        """How long workers may outlive a dead driver: they stop when heartbeats stop."""
        return float(self.heartbeat_threshold + self.heartbeat_period)


def template_text(name: str) -> str:
    """The YAML text of a built-in site."""
    if name not in BUILTIN_SITES:
        raise ConfigError(f"unknown site {name!r}; built-in sites: {', '.join(BUILTIN_SITES)}")
    return resources.files("quanta.exec").joinpath(f"site_templates/{name}.yaml").read_text()


def load_site(spec: str | Path, workers: int | None = None) -> Site:
    """A built-in site by name, or a site file; ``workers`` overrides ``workers_per_node``."""
    text = str(spec)
    if text in BUILTIN_SITES:
        source, data = f"site {text!r}", load_yaml(f"<site {text}>", template_text(text))
    elif text.endswith((".yaml", ".yml")) or Path(text).is_file():
        path = Path(text)
        if not path.is_file():
            raise ConfigError(f"site file {path} does not exist")
        source, data = str(path), load_yaml(path)
    else:
        raise ConfigError(
            f"unknown site {text!r}: give one of {', '.join(BUILTIN_SITES)} or a YAML file"
        )
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a site is a mapping of fields, not {type(data).__name__}")
    try:
        site = Site.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = tuple(first["loc"])
        field = ".".join(map(str, loc))
        message = first["msg"].removeprefix("Value error, ")
        where = f"field {field!r}: " if field else ""
        raise config_error(source, data, loc, f"{where}{message}") from None
    if workers is None:
        return site
    return Site.model_validate({**site.model_dump(), "workers_per_node": workers})
