"""Memory: ``simulate`` holds about one detector's raw pixels at a time, whatever the preset."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from quanta.instruments.simcam_layout import OVERSCAN, PRESCAN
from quanta.sim import simulate


def test_peak_memory_stays_near_one_detector(tmp_path: Path) -> None:
    """16 amplifiers of 64 x 256 (the ``full`` layout, smaller): the traced peak stays under
    2.5 times one detector's int32 raw pixels (measured: about 1.8). Holding every frame,
    or whole detectors in float64, would exceed it."""
    simulate(tmp_path / "warm", "quick", detectors=1, amps=2)  # imports and caches first
    width, height = 64, 256
    raw_bytes = 16 * height * (PRESCAN + width + OVERSCAN) * 4
    tracemalloc.start()
    try:
        simulate(tmp_path / "sim", "quick", detectors=1, amps=16, amp_size=(width, height))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2.5 * raw_bytes
