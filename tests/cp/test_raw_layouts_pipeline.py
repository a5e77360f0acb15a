"""``cp_bias`` through the real execution path on raws stored as one detector per HDU of
a tile-compressed file of many detectors gives the masters of the one-file-per-detector
raws: the HDU travels from the registry through the job to the worker's read."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cp.test_end_to_end import FOREVER, RAW, run_pipeline
from quanta.butler import Butler
from quanta.core import DatasetRef
from quanta.core.image import Image
from quanta.instruments import get_instrument
from quanta.instruments.ingest import ingest_raws
from quanta.sim import simulate
from raw_layout_files import write_detectors

SHARED = "SimCam/raw/shared"
BIASES = "exposure.observation_type = 'bias'"


def test_masters_from_a_file_of_many_detectors_equal_those_from_one_file_each(
    tmp_path: Path,
) -> None:
    simulate(tmp_path / "raws", preset="quick", seed=3)
    butler = Butler.create(tmp_path / "repo")
    get_instrument("SimCam").register(butler)
    assert not ingest_raws(butler, [tmp_path / "raws"]).refused
    by_exposure: dict[int, list[DatasetRef]] = {}
    for ref in butler.query_datasets("raw", RAW, where=BIASES):
        by_exposure.setdefault(int(ref.data_id["exposure"]), []).append(ref)
    items = []
    for exposure, refs in by_exposure.items():
        refs.sort(key=lambda ref: int(ref.data_id["detector"]))
        images = {f"S{int(ref.data_id['detector']):02d}": butler.get(ref) for ref in refs}
        path = write_detectors(images, tmp_path / f"{exposure}.fits.fz", compressed=True)
        for hdu, ref in enumerate(refs, 1):
            items.append((path, DatasetRef.for_output(ref.dataset_type, ref.data_id, SHARED), hdu))
    assert len(butler.ingest(items, "move")) == len(items) == 10
    assert len({butler._stored(item[1]).path for item in items}) == 5

    separate = run_pipeline(butler, "cp_bias", [RAW], "u/separate", BIASES)
    shared = run_pipeline(butler, "cp_bias", [SHARED], "u/shared", BIASES)
    for detector in (0, 1):
        data_id = {"instrument": "SimCam", "detector": detector}
        expected = butler.get("bias", data_id, collections=separate, timespan=FOREVER)
        master = butler.get("bias", data_id, collections=shared, timespan=FOREVER)
        assert isinstance(master, Image) and isinstance(expected, Image)
        assert f"OSLEVEL S{detector:02d}A" in master.header
        np.testing.assert_array_equal(master.image, expected.image)
        np.testing.assert_array_equal(master.variance, expected.variance)
        np.testing.assert_array_equal(master.mask, expected.mask)
