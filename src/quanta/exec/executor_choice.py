"""Choosing where quanta run: the executor, its workers and its time limit, in one place.

Executors are plugins of the ``quanta.executors`` entry point group, each with a
pydantic settings model; quanta ships ``inline``, ``pool`` and ``parsl``. ``local`` (the
default of ``quanta run --executor``) is inline for one process without a time limit and
a process pool otherwise, since only a separate process can be stopped when it overruns;
a graph of a single quantum without a time limit runs inline even then, its quantum
mapping over the ``-j`` workers (``quanta.pipe.parallel``);
Parsl cannot stop a quantum, so it refuses a time limit. A choice is checked before
anything starts and started once the graph is ready.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from ..core.errors import ConfigError, UnknownNameError
from ..core.plugins import PluginLoader
from .sites import Site, load_site

if TYPE_CHECKING:
    from .executors import Executor, ExecutorPlugin

#: Not a plugin: inline or a process pool, by worker count and time limit.
LOCAL = "local"
#: The executors quanta ships.
INLINE, POOL, PARSL = "inline", "pool", "parsl"


def _accepts(_name: str, plugin: Any) -> bool:
    """A class with a pydantic ``Settings`` model, ``can_interrupt`` and ``from_settings``."""
    settings = getattr(plugin, "Settings", None)
    return (
        isinstance(plugin, type)
        and isinstance(settings, type)
        and issubclass(settings, BaseModel)
        and isinstance(getattr(plugin, "can_interrupt", None), bool)
        and callable(getattr(plugin, "from_settings", None))
    )


EXECUTORS: PluginLoader[type[ExecutorPlugin]] = PluginLoader(
    "quanta.executors",
    "executor",
    _accepts,
    "an executor class with a pydantic Settings model, can_interrupt and from_settings",
)


@dataclass(frozen=True)
class ExecutorChoice:
    """An executor plugin by name and its validated settings, ready to start; ``alone``
    is what runs a graph of one quantum instead, when that is better."""

    name: str
    settings: BaseModel
    alone: ExecutorChoice | None = None

    def start(self, root: Path) -> Executor:
        """Start the executor for the repository at ``root``; its owner shuts it down."""
        return EXECUTORS.load(self.name).from_settings(self.settings, Path(root))


def known_executors() -> list[str]:
    """Every executor name ``choose_executor`` accepts: ``local`` and the plugins."""
    return [LOCAL, *EXECUTORS.known()]


def choose_executor(
    executor: str | None = None,
    processes: int | None = None,
    timeout: float | None = None,
    site: str | Path | Site | None = None,
) -> ExecutorChoice:
    """The executor that ``--executor``, ``-j``, ``--timeout`` and ``--site`` ask for,
    checked before anything starts.

    ``executor`` None means ``parsl`` when a site is given, else ``local``. ``processes``
    is the number of local worker processes (None: one) or, on Parsl, the workers per node
    of a site given by name or file (None: the site's own); a ``Site`` is used as it is.
    """
    name = executor or (PARSL if site is not None else LOCAL)
    if site is not None and name != PARSL:
        raise ConfigError("--site needs --executor parsl")
    alone = None
    if name == LOCAL:
        name = INLINE if (processes or 1) == 1 and timeout is None else POOL
        if name == POOL and timeout is None:
            alone = _inline_with_workers(processes or 1)
    elif name not in EXECUTORS.known():
        known = ", ".join(known_executors())
        raise UnknownNameError(f"unknown executor {name!r}; known executors: {known}")
    plugin = EXECUTORS.load(name)
    try:
        settings = plugin.Settings.model_validate(_options(name, plugin, processes, site))
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise ConfigError(f"executor {name!r}: {where}: {first['msg']}") from None
    if timeout is not None and not plugin.can_interrupt:
        raise ConfigError(
            f"--timeout needs local worker processes; the {name} executor cannot stop a quantum"
        )
    return ExecutorChoice(name, settings, alone)


def _inline_with_workers(workers: int) -> ExecutorChoice:
    """Inline, each quantum mapping over ``workers``: a graph of one quantum gains nothing
    from worker processes but pays for starting them and importing its task again."""
    plugin = EXECUTORS.load(INLINE)
    return ExecutorChoice(INLINE, plugin.Settings.model_validate({"workers": workers}))


def _options(
    name: str, plugin: type[ExecutorPlugin], processes: int | None, site: str | Path | Site | None
) -> dict[str, Any]:
    """The settings an executor gets from the common options: Parsl its site, the others
    their worker count if they take one (and refuse one otherwise)."""
    if name == PARSL:
        return {"site": site if isinstance(site, Site) else load_site(site or "local", processes)}
    if processes is None or processes == 1:
        return {}
    if "processes" not in plugin.Settings.model_fields:
        raise ConfigError(f"the {name} executor takes no worker count (-j {processes})")
    return {"processes": processes}
