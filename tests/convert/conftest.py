"""One legacy repository for the whole session: the readers under test never change it."""

from __future__ import annotations

import pytest

from convert.legacy_fixture import LegacyRepo, write_legacy_repo


@pytest.fixture(scope="session")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> LegacyRepo:
    """The legacy repository and what it holds."""
    return write_legacy_repo(tmp_path_factory.mktemp("legacy"))
