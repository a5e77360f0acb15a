"""flatStats on in-memory ISR'd images: medians per amplifier over unmasked pixels, the
photodiode charge, and a fully masked amplifier."""

from __future__ import annotations

import numpy as np
import pytest

from quanta.core.errors import ConfigError
from quanta.core.image import Image
from quanta.cp.algorithms import MaskBit
from quanta.cp.exposure_stats import (
    ExposureStatsConfig,
    ExposureStatsTask,
    exposure_values,
    photodiode_of,
    signal_of,
)

HEADER = {"AMPSEC C00": "[1:2,1:4]", "AMPSEC C01": "[3:4,1:4]", "EXPTIME": 2.0}


def image(header: dict[str, object]) -> Image:
    return Image(np.arange(16, dtype=np.float32).reshape(4, 4), header=header)


def test_medians_per_amplifier_leave_out_masked_pixels() -> None:
    flat = image({**HEADER, "PHOTODIO": 0.25})
    flat.mask[:, 2:] = MaskBit.SAT  # C01 saturated
    flat.mask[0, 0] = MaskBit.BAD  # 0 left out of C00: 1, 4, 5, 8, 9, 12, 13
    table = ExposureStatsTask().run(flat, 7)["stats"]
    assert table.to_pylist() == [
        {"amp": "C00", "exposure": 7, "median": 8.0, "exposure_time": 2.0, "photodiode": 0.25},
        {"amp": "C01", "exposure": 7, "median": None, "exposure_time": 2.0, "photodiode": 0.25},
    ]
    assert signal_of(table) == 8.0 and photodiode_of(table) == 0.25
    assert exposure_values([table], "photodiode") == {7: 0.25}


def test_without_a_photodiode_or_amplifier_sections() -> None:
    table = ExposureStatsTask().run(image(HEADER), 3)["stats"]
    assert signal_of(table) == pytest.approx((6.5 + 8.5) / 2) and photodiode_of(table) is None
    with pytest.raises(ValueError, match="no AMPSEC cards"):
        ExposureStatsTask().run(image({}), 3)
    with pytest.raises(ConfigError, match="unknown mask bit 'NOPE'"):
        ExposureStatsTask(ExposureStatsConfig(bad_mask=["NOPE"])).run(image(HEADER), 3)
