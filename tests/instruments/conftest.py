"""Fixtures of the instrument tests: SimCam registered in the test repository, and
packages of header translators or instruments installed for one test."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from quanta.butler import Butler
from quanta.instruments import get_instrument
from quanta.instruments.loader import INSTRUMENTS
from quanta.instruments.translation import LIBRARY_PLUGINS, TRANSLATORS, load_translators


@pytest.fixture
def simcam_butler(butler: Butler) -> Butler:
    """The shared test repository (SQLite and PostgreSQL) with SimCam registered."""
    get_instrument("SimCam").register(butler)
    return butler


@pytest.fixture
def sqlite_simcam(sqlite_butler: Butler) -> Butler:
    """The SQLite test repository with SimCam registered."""
    get_instrument("SimCam").register(sqlite_butler)
    return sqlite_butler


@pytest.fixture
def install_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[dict[str, str], str], None]]:
    """Install a package for one test: its modules (name -> source) and the text of its
    ``entry_points.txt``, in a ``.dist-info`` on ``sys.path``. The header translator and
    instrument loaders forget what they had found, and are restored afterwards."""
    from astro_metadata_translator import MetadataTranslator

    monkeypatch.setattr(MetadataTranslator, "translators", dict(MetadataTranslator.translators))
    loaders = (TRANSLATORS, LIBRARY_PLUGINS, INSTRUMENTS)
    for loader in loaders:
        monkeypatch.setattr(loader, "_loaded", {})
    site = tmp_path / "site"
    installed: list[str] = []

    def forget() -> None:
        for loader in loaders:
            loader.__dict__.pop("_entry_points", None)
        load_translators.cache_clear()
        get_instrument.cache_clear()

    def install(modules: dict[str, str], entry_points: str) -> None:
        dist = site / "toy_plugins-1.0.dist-info"
        dist.mkdir(parents=True)
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-plugins\nVersion: 1.0\n")
        (dist / "entry_points.txt").write_text(entry_points)
        for name, source in modules.items():
            (site / f"{name}.py").write_text(source)
            installed.append(name)
        monkeypatch.syspath_prepend(str(site))
        forget()

    yield install
    forget()
    for name in installed:
        sys.modules.pop(name, None)
