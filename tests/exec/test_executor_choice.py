"""Choosing the executor: ``local`` is inline or a pool by workers and time limit, Parsl
refuses a time limit, every option is checked before anything starts, and only the Parsl
executor module imports Parsl."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

import quanta
from quanta.core.errors import ConfigError, UnknownNameError
from quanta.exec import ExecutorChoice, InlineExecutor, ProcessPoolExecutor, choose_executor
from quanta.exec.executor_choice import known_executors
from quanta.exec.executors import InlineSettings, PoolSettings
from quanta.exec.parsl_executor import ParslSettings
from quanta.exec.sites import Site, load_site


def _site(chosen: ExecutorChoice) -> Site:
    """The site a Parsl choice runs on."""
    assert isinstance(chosen.settings, ParslSettings)
    return chosen.settings.site


@pytest.mark.parametrize(
    ("executor", "processes", "timeout", "name", "settings"),
    [
        ("local", None, None, "inline", InlineSettings()),
        ("local", 1, None, "inline", InlineSettings()),
        (None, None, None, "inline", InlineSettings()),
        ("local", 4, None, "pool", PoolSettings(processes=4)),
        ("local", 1, 5.0, "pool", PoolSettings(processes=1)),
        ("local", 3, 5.0, "pool", PoolSettings(processes=3)),
        ("pool", None, None, "pool", PoolSettings(processes=1)),
        ("inline", 1, None, "inline", InlineSettings()),
    ],
)
def test_local_is_inline_for_one_process_without_time_limit_else_a_pool(
    executor: str | None,
    processes: int | None,
    timeout: float | None,
    name: str,
    settings: BaseModel,
) -> None:
    chosen = choose_executor(executor, processes, timeout)
    assert (chosen.name, chosen.settings) == (name, settings)


def test_parsl_runs_on_a_site_with_workers_per_node_from_processes(tmp_path: Path) -> None:
    default = choose_executor("parsl")
    assert default == ExecutorChoice("parsl", ParslSettings(site=load_site("local")))
    assert _site(choose_executor("parsl", 3)).workers_per_node == 3
    site_file = tmp_path / "site.yaml"
    site_file.write_text("provider: slurm\npartition: short\nworkers_per_node: 4\n")
    chosen = _site(choose_executor("parsl", None, None, site_file))
    assert (chosen.provider, chosen.partition, chosen.workers_per_node) == ("slurm", "short", 4)
    site = load_site("local", 5)
    assert choose_executor(None, 2, None, site).settings == ParslSettings(site=site)


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (("local", 2, None, "local"), ConfigError, "--site needs --executor parsl"),
        (
            ("parsl", None, 5.0, None),
            ConfigError,
            "--timeout needs local worker processes; the parsl executor cannot stop a quantum",
        ),
        (
            ("warp", None, None, None),
            UnknownNameError,
            "unknown executor 'warp'; known executors: local, inline, parsl, pool",
        ),
        (("inline", 4, None, None), ConfigError, "the inline executor takes no worker count"),
        (
            ("pool", 0, None, None),
            ConfigError,
            "executor 'pool': processes: Input should be greater than or equal to 1",
        ),
        (("parsl", None, None, "moon"), ConfigError, "unknown site 'moon'"),
    ],
)
def test_options_an_executor_cannot_honour_are_refused(
    args: tuple[str, int | None, float | None, str | None], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        choose_executor(*args)
    assert str(info.value).startswith(message)


def test_known_executors_are_local_and_the_plugins() -> None:
    known = known_executors()
    assert known[0] == "local" and {"inline", "pool", "parsl"} <= set(known[1:])


def test_a_choice_starts_its_executor(tmp_path: Path) -> None:
    inline = choose_executor("local").start(tmp_path)
    assert isinstance(inline, InlineExecutor)
    inline.shutdown()
    pool = choose_executor("local", 2).start(tmp_path)
    try:
        assert isinstance(pool, ProcessPoolExecutor)
        assert pool.max_in_flight == 4 and pool.can_interrupt
    finally:
        pool.shutdown()
    assert list(tmp_path.iterdir()) == []


def test_choosing_and_loading_parsl_does_not_import_it() -> None:
    code = (
        "import json, sys\n"
        "from quanta.exec.executor_choice import EXECUTORS, choose_executor\n"
        "choose_executor('parsl', 2)\n"
        "EXECUTORS.load('parsl')\n"
        "print(json.dumps('parsl' in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) is False


def test_only_the_parsl_executor_module_imports_parsl() -> None:
    package = Path(quanta.__file__).parent
    importers = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            if any(n == "parsl" or n.startswith("parsl.") for n in names):
                importers.add(path.relative_to(package).as_posix())
    assert importers == {"exec/parsl_executor.py"}
