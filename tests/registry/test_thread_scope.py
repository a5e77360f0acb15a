"""A registry transaction belongs to the thread that opened it: another thread neither
joins it nor sees what it wrote before it commits."""

from __future__ import annotations

import threading

import numpy as np

from quanta.butler import Butler
from repo_data import DETECTORS, INSTRUMENT

RUN = "u/threads"
DIMENSIONS = ("instrument", "detector", "exposure")


def _data_id(detector: int) -> dict[str, object]:
    return {"instrument": INSTRUMENT, "detector": detector, "exposure": 5}


def _detectors(butler: Butler) -> list[int]:
    return sorted(int(r.data_id["detector"]) for r in butler.query_datasets("flux", RUN))


def test_another_thread_sees_a_transaction_only_once_it_commits(butler: Butler) -> None:
    butler.register_dataset_type("flux", DIMENSIONS, "NumpyArray")
    butler.put(np.zeros(2), "flux", _data_id(DETECTORS[0]), run=RUN)
    written, release = threading.Event(), threading.Event()

    def writer() -> None:
        with butler.registry.transaction():
            butler.put(np.ones(2), "flux", _data_id(DETECTORS[1]), run=RUN)
            written.set()
            release.wait(60)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert written.wait(60)
        assert not butler.registry._db.in_transaction
        assert _detectors(butler) == [DETECTORS[0]]
        assert not butler.exists("flux", _data_id(DETECTORS[1]), collections=RUN)
    finally:
        release.set()
        thread.join(60)
    assert _detectors(butler) == [DETECTORS[0], DETECTORS[1]]
    assert butler.get("flux", _data_id(DETECTORS[1]), collections=RUN).tolist() == [1.0, 1.0]
