"""Simulations shared by the SimCam tests: the ``quick`` preset with noise and without."""

from __future__ import annotations

import pytest

from quanta.sim import SimulationSummary, simulate


@pytest.fixture(scope="session")
def quick(tmp_path_factory: pytest.TempPathFactory) -> SimulationSummary:
    """The ``quick`` preset, seed 0 (read-only: tests must not modify its files)."""
    return simulate(tmp_path_factory.mktemp("quick"), "quick", seed=0)


@pytest.fixture(scope="session")
def zero(tmp_path_factory: pytest.TempPathFactory) -> SimulationSummary:
    """The ``quick`` preset in zero-noise mode."""
    return simulate(tmp_path_factory.mktemp("zero"), "quick", seed=0, zero_noise=True)
