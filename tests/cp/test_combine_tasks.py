"""The combine tasks on in-memory inputs: masters, their headers, chunking, normalisation."""

from __future__ import annotations

import numpy as np
import pytest

from quanta.core.image import Image
from quanta.cp.algorithms import MaskBit
from quanta.cp.combine import (
    CombineConfig,
    CpBiasCombineTask,
    CpDarkCombineTask,
    CpFlatCombineTask,
)

SHAPE = (16, 10)


def _frames(n: int, level: float, noise: float, header: dict, seed: int = 0) -> list[Image]:
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        image = (level + noise * rng.standard_normal(SHAPE)).astype(np.float32)
        variance = np.full(SHAPE, noise**2, dtype=np.float32)
        frames.append(Image(image, variance=variance, header={**header, "SEQ": i}))
    return frames


def _bias_header(level: float, noise_e: float) -> dict:
    return {"BUNIT": "electron", "OSLEVEL C00": level, "OSNOISE_E C00": noise_e}


def test_master_bias_header_has_level_and_read_noise() -> None:
    frames = [
        Image(np.zeros(SHAPE, np.float32), header=_bias_header(1000.0 + i, 4.0 + i))
        for i in range(3)
    ]
    master = CpBiasCombineTask().run(frames)["master"]
    assert master.header["OSLEVEL C00"] == 1001.0
    assert master.header["RDNOISE C00"] == pytest.approx(np.sqrt((16 + 25 + 36) / 3))
    assert master.header["NCOMBINE"] == 3 and master.header["OBSTYPE"] == "bias"
    assert master.header["BUNIT"] == "electron" and master.header["MP_BAD"] == 1


def test_master_bias_averages_and_clips() -> None:
    frames = _frames(7, 2.0, 5.0, _bias_header(1000.0, 5.0))
    frames[3].image[4, 4] = 5000.0
    master = CpBiasCombineTask().run(frames)["master"]
    stack = np.stack([f.image for f in frames])
    assert abs(master.image[4, 4] - np.delete(stack[:, 4, 4], 3).mean()) < 1e-4
    assert master.image.std() == pytest.approx(5.0 / np.sqrt(7), rel=0.2)
    np.testing.assert_allclose(master.variance[0, 0], 25.0 / 7, rtol=1e-6)
    assert master.image.dtype == np.float32


def test_masked_input_pixels_are_left_out_and_an_empty_pixel_is_bad() -> None:
    frames = _frames(3, 10.0, 1.0, {"BUNIT": "electron"})
    for frame in frames:
        frame.mask[0, 0] = MaskBit.SAT  # type: ignore[index]
    frames[0].mask[1, 1] = MaskBit.BAD  # type: ignore[index]
    frames[0].image[1, 1] = 1e6
    frames[1].mask[2, 2] = MaskBit.EDGE  # type: ignore[index]
    frames[1].image[2, 2] = 1e6
    master = CpBiasCombineTask(CombineConfig(sigma="data")).run(frames)["master"]
    assert master.mask[0, 0] == MaskBit.BAD and master.image[0, 0] == 0.0
    assert master.image[1, 1] < 20.0
    assert np.count_nonzero(master.mask) == 1
    # EDGE is not left out by default; with three samples nothing is clipped either.
    assert master.image[2, 2] > 1e5


def test_small_memory_budget_gives_the_same_master() -> None:
    frames = _frames(5, 100.0, 3.0, {"BUNIT": "electron"})
    whole = CpBiasCombineTask().run(frames)["master"]
    tiny = CpBiasCombineTask(CombineConfig(memory_mb=1e-6)).run(frames)["master"]
    np.testing.assert_array_equal(tiny.image, whole.image)
    np.testing.assert_array_equal(tiny.variance, whole.variance)


def test_master_dark_is_per_second() -> None:
    frames = _frames(4, 30.0, 2.0, {"BUNIT": "electron", "DARKTIME": 60.0})
    frames += _frames(4, 15.0, 2.0, {"BUNIT": "electron", "DARKTIME": 30.0}, seed=1)
    master = CpDarkCombineTask().run(frames)["master"]
    assert master.image.mean() == pytest.approx(0.5, rel=0.02)
    assert master.header["BUNIT"] == "electron/s" and master.header["OBSTYPE"] == "dark"
    frames[0].header["DARKTIME"] = 0.0
    with pytest.raises(ValueError, match="positive DARKTIME"):
        CpDarkCombineTask().run(frames)


def test_master_flat_has_mean_one_and_favours_deep_flats() -> None:
    rows, columns = np.indices(SHAPE)
    pattern = 1.0 + 0.01 * (rows - columns)
    frames = []
    rng = np.random.default_rng(4)
    for level in (100.0, 100.0, 10_000.0, 10_000.0, 40_000.0):
        signal = level * pattern
        image = rng.poisson(signal).astype(np.float32)
        frames.append(Image(image, variance=signal.astype(np.float32), header={"FILTER": "r"}))
    master = CpFlatCombineTask().run(frames)["master"]
    assert master.image.mean() == pytest.approx(1.0, abs=1e-6)
    residual = master.image / (pattern / pattern.mean()) - 1
    # Weighted by depth, the noise is that of 60,200 e- per pixel: 0.4%; unweighted, the
    # two 100 e- flats alone would give 10% / sqrt(5 * 2.5) = 2.8%.
    assert residual.std() < 0.006
    assert master.header["FILTER"] == "r" and "BUNIT" not in master.header


def test_a_flat_saturated_everywhere_is_left_out_of_the_master() -> None:
    rows, columns = np.indices(SHAPE)
    pattern = 1.0 + 0.01 * (rows - columns)
    rng = np.random.default_rng(5)
    frames = []
    for level in (10_000.0, 10_000.0, 200_000.0):
        signal = level * pattern
        image = rng.poisson(signal).astype(np.float32)
        frames.append(Image(image, variance=signal.astype(np.float32), header={"FILTER": "r"}))
    frames[-1].mask[:] = MaskBit.SAT  # as ISR masks a flat beyond the full well
    master = CpFlatCombineTask().run(frames)["master"]
    alone = CpFlatCombineTask().run(frames[:2])["master"]
    np.testing.assert_array_equal(master.image, alone.image)


def test_inputs_of_different_shapes_are_refused() -> None:
    frames = [Image(np.zeros((4, 4))), Image(np.zeros((4, 5)))]
    with pytest.raises(ValueError, match="do not stack"):
        CpBiasCombineTask().run(frames)
    with pytest.raises(ValueError, match="no inputs"):
        CpBiasCombineTask().run([])
