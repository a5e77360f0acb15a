"""Fixtures of the check tests: the execution tests' repository (raws of detectors 0 and 1,
exposures 9 to 12) and a way to write expectations files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from exec.conftest import put_raws
from quanta.butler import Butler

WriteYaml = Callable[[str], Path]


@pytest.fixture
def repo(butler: Butler) -> Butler:
    """The execution tests' repository on each database backend."""
    put_raws(butler)
    return butler


@pytest.fixture
def write_yaml(tmp_path: Path) -> WriteYaml:
    """Write text to a new ``.yaml`` file under ``tmp_path`` and return its path."""
    count = 0

    def write(text: str) -> Path:
        nonlocal count
        count += 1
        path = tmp_path / f"expect{count}.yaml"
        path.write_text(text)
        return path

    return write
