"""``IsrTask`` on synthetic raws: exact electrons, units, headers, masks, calibrations."""

from __future__ import annotations

import numpy as np
import pytest

from cp.rawdata import quadrants, read_out
from quanta.core.image import Image
from quanta.cp.algorithms import MaskBit
from quanta.cp.headers import amp_sections
from quanta.cp.isr import IsrConfig, IsrTask

GAINS = (1.2, 1.5, 1.8, 2.0)
LEVELS = (1000.0, 1100.5, 900.25, 1200.0)
SHAPE = (20, 24)


def _task(**config: object) -> IsrTask:
    base = {"do_bias": False, "do_dark": False, "do_flat": False, "edge_width": 0}
    return IsrTask(IsrConfig(**{**base, **config}))


def _scene() -> np.ndarray:
    """A detector image in electrons whose every pixel differs, to catch misplaced amps."""
    rows, columns = np.indices(SHAPE)
    return 1000.0 + 10.0 * rows + columns


def _calibration(image: np.ndarray, unit: str | None, variance: float = 0.0) -> Image:
    header = {"BUNIT": unit} if unit else {}
    return Image(
        image.astype(np.float32), variance=np.full(image.shape, variance, np.float32), header=header
    )


def test_noiseless_raw_gives_its_electrons_back() -> None:
    electrons = _scene()
    out = _task().run(read_out(electrons, quadrants(), GAINS, LEVELS))["post_isr"]
    # Float64 raws: the only rounding is the float32 output (relative 6e-8).
    np.testing.assert_allclose(out.image, electrons, rtol=1e-7)
    assert out.image.dtype == np.float32 and out.header["BUNIT"] == "electron"


def test_without_gain_the_output_is_in_adu() -> None:
    electrons = _scene()
    raw = read_out(electrons, quadrants(), GAINS, LEVELS)
    out = _task(apply_gain=False).run(raw)["post_isr"]
    expected = electrons.copy()
    for geo, gain in zip(quadrants(), GAINS, strict=True):
        expected[geo.detector.slices] /= gain
    np.testing.assert_allclose(out.image, expected, rtol=1e-7)
    assert out.header["BUNIT"] == "adu"


@pytest.mark.parametrize("method", ["mean", "median", "poly"])
def test_every_overscan_method_removes_a_row_drift(method: str) -> None:
    electrons = _scene()
    raw = read_out(electrons, quadrants(), GAINS, LEVELS)
    out = _task(overscan_method=method).run(raw)["post_isr"]
    np.testing.assert_allclose(out.image, electrons, rtol=1e-6)


def test_header_records_each_amplifier() -> None:
    raw = read_out(np.zeros(SHAPE), quadrants(), GAINS, LEVELS, read_noise=4.0)
    header = _task().run(raw)["post_isr"].header
    for geo, gain, level in zip(quadrants(), GAINS, LEVELS, strict=True):
        name = geo.name
        # Level: the bias plus the mean drift (0.01 ADU x 4.5 rows), to the noise of 80
        # pixels of 4/gain ADU.
        assert header[f"OSLEVEL {name}"] == pytest.approx(level + 0.045, abs=2.0)
        assert header[f"GAIN {name}"] == gain
        assert header[f"OSNOISE_E {name}"] == pytest.approx(header[f"OSNOISE {name}"] * gain)
        assert header[f"OSNOISE_E {name}"] == pytest.approx(4.0, rel=0.3)
    assert (header["MP_SAT"], header["MP_BAD"], header["MP_EDGE"]) == (0, 1, 2)
    assert header["EXPTIME"] == 10.0
    sections = amp_sections(header)
    assert [(s.y0, s.y1, s.x0, s.x1) for s in sections.values()] == [
        (g.detector.y0, g.detector.y1, g.detector.x0, g.detector.x1) for g in quadrants()
    ]
    assert list(sections) == [g.name for g in quadrants()]


def test_variance_is_poisson_plus_read_noise() -> None:
    electrons = np.full(SHAPE, 400.0)
    raw = read_out(electrons, quadrants(), GAINS, LEVELS, read_noise=5.0)
    out = _task().run(raw)["post_isr"]
    # Each pixel's variance is its own signal (400 +- 20 e-) plus 25 e-^2.
    assert np.mean(out.variance) == pytest.approx(425.0, rel=0.02)
    np.testing.assert_allclose(out.variance, np.maximum(out.image, 0) + 25.0, rtol=1e-5)
    adu = _task(apply_gain=False).run(raw)["post_isr"]
    geo, gain = quadrants()[3], GAINS[3]
    np.testing.assert_allclose(
        adu.variance[geo.detector.slices], out.variance[geo.detector.slices] / gain**2, rtol=1e-5
    )


def test_saturated_pixels_are_masked_where_they_land() -> None:
    raw = read_out(_scene(), quadrants(), GAINS, LEVELS)
    amp = raw.amps[3]  # flipped in x and y
    amp.pixels[0, amp.geometry.data.x0] = 60000.0  # first pixel read: the detector's corner
    out = _task().run(raw)["post_isr"]
    assert out.mask[SHAPE[0] - 1, SHAPE[1] - 1] == MaskBit.SAT
    assert np.count_nonzero(out.mask) == 1
    configured = _task(saturation=1e9).run(read_out(_scene(), quadrants(), GAINS, LEVELS))
    assert not configured["post_isr"].mask.any()


def test_edge_pixels_are_masked() -> None:
    out = _task(edge_width=2).run(read_out(_scene(), quadrants(), GAINS, LEVELS))["post_isr"]
    edge = out.mask == MaskBit.EDGE
    assert edge[:2].all() and edge[-2:].all() and edge[:, :2].all() and edge[:, -2:].all()
    assert not edge[2:-2, 2:-2].any()


def test_bias_dark_and_flat_give_the_same_image_in_any_chunks() -> None:
    rows, columns = np.indices(SHAPE)
    bias = 5.0 + 0.1 * columns
    dark_rate = 0.5 + 0.01 * rows
    flat = 0.9 + 0.01 * (rows + columns) / 4
    signal = np.full(SHAPE, 800.0)
    electrons = bias + dark_rate * 10.0 + signal * flat
    calibrations = {
        "bias": _calibration(bias, "electron", variance=1.0),
        "dark": _calibration(dark_rate, "electron/s", variance=0.01),
        "flat": _calibration(flat, None),
    }
    results = []
    for chunk_rows in (1, 3, 1000):
        raw = read_out(electrons, quadrants(), GAINS, LEVELS, read_noise=3.0)
        task = _task(do_bias=True, do_dark=True, do_flat=True, chunk_rows=chunk_rows)
        results.append(task.run(raw, **calibrations)["post_isr"])
    for other in results[1:]:
        for plane in ("image", "mask", "variance"):
            np.testing.assert_array_equal(getattr(other, plane), getattr(results[0], plane))
    out = results[0]
    # 480 pixels of noise sqrt(800 + 9) / 0.9: the mean is 800 to 0.1%.
    assert out.image.mean() == pytest.approx(800.0, rel=0.005)
    # Variance: the signal after bias (dark included) + read noise + the bias variance + the
    # dark variance times the dark time squared, over the flat squared.
    expected = (dark_rate * 10.0 + signal * flat + 9.0 + 1.0 + 0.01 * 100.0) / flat**2
    np.testing.assert_allclose(out.variance, expected, rtol=0.15)
    assert np.mean(out.variance / expected) == pytest.approx(1.0, abs=0.01)


def test_exact_calibrations_on_a_noiseless_amplifier() -> None:
    bias = np.full(SHAPE, 7.0)
    dark_rate = np.full(SHAPE, 0.25)
    flat = np.full(SHAPE, 0.8)
    electrons = bias + dark_rate * 10.0 + 100.0 * flat
    raw = read_out(electrons, quadrants(), GAINS, LEVELS)
    task = _task(do_bias=True, do_dark=True, do_flat=True)
    out = task.run(
        raw,
        bias=_calibration(bias, "electron"),
        dark=_calibration(dark_rate, "electron/s"),
        flat=_calibration(flat, None),
    )
    np.testing.assert_allclose(out["post_isr"].image, 100.0, rtol=1e-6)


def test_calibrations_in_adu_correct_an_image_in_electrons_and_back() -> None:
    bias_e = np.full(SHAPE, 30.0)
    raw = read_out(bias_e + 500.0, quadrants(), GAINS, LEVELS)
    bias_adu = bias_e.copy()
    for geo, gain in zip(quadrants(), GAINS, strict=True):
        bias_adu[geo.detector.slices] /= gain
    in_electrons = _task(do_bias=True).run(raw, bias=_calibration(bias_adu, "adu"))
    np.testing.assert_allclose(in_electrons["post_isr"].image, 500.0, rtol=1e-6)
    raw = read_out(bias_e + 500.0, quadrants(), GAINS, LEVELS)
    in_adu = _task(do_bias=True, apply_gain=False).run(raw, bias=_calibration(bias_e, "electron"))
    np.testing.assert_allclose(
        in_adu["post_isr"].image * np.float32(bias_e / bias_adu), 500.0, rtol=1e-6
    )


def test_bad_calibration_pixels_are_masked() -> None:
    flat = np.ones(SHAPE)
    flat[3, 4] = 0.0
    bias = _calibration(np.zeros(SHAPE), "electron")
    bias.mask[5, 6] = MaskBit.BAD  # type: ignore[index]
    raw = read_out(_scene(), quadrants(), GAINS, LEVELS)
    out = _task(do_bias=True, do_flat=True).run(raw, bias=bias, flat=_calibration(flat, None))
    assert out["post_isr"].mask[3, 4] == MaskBit.BAD and out["post_isr"].image[3, 4] == 0.0
    assert out["post_isr"].mask[5, 6] == MaskBit.BAD
    assert np.count_nonzero(out["post_isr"].mask) == 2


def test_mistakes_are_reported() -> None:
    raw = read_out(_scene(), quadrants(), GAINS, LEVELS)
    with pytest.raises(ValueError, match="do_bias is set but no bias"):
        _task(do_bias=True).run(raw)
    with pytest.raises(ValueError, match="the bias has shape"):
        _task(do_bias=True).run(raw, bias=_calibration(np.zeros((4, 4)), "electron"))
    with pytest.raises(ValueError, match="neither DARKTIME nor EXPTIME"):
        raw.header.clear()
        _task(do_dark=True).run(raw, dark=_calibration(np.zeros(SHAPE), "electron/s"))
    del raw.amps[0].header["GAIN"]
    with pytest.raises(ValueError, match="no GAIN"):
        _task().run(raw)
