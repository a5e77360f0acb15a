"""Importing the CLI, or the core data model, must not load the heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY_FOR_CLI = ("sqlalchemy", "astropy", "pyarrow", "rich", "numpy")
HEAVY_FOR_CORE = ("sqlalchemy", "astropy")


def loaded_after(module: str, candidates: tuple[str, ...]) -> list[str]:
    """Which of ``candidates`` a fresh interpreter has loaded after importing ``module``."""
    code = (
        f"import json, sys, {module}; "
        f"print(json.dumps([m for m in {list(candidates)!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)


@pytest.mark.parametrize(
    ("module", "heavy"),
    [("quanta.cli.main", HEAVY_FOR_CLI), ("quanta.core", HEAVY_FOR_CORE)],
)
def test_import_loads_no_heavy_library(module: str, heavy: tuple[str, ...]) -> None:
    assert loaded_after(module, heavy) == []


def test_cli_import_does_not_load_the_butler() -> None:
    assert loaded_after("quanta.cli.main", ("quanta.butler", "quanta.registry")) == []
