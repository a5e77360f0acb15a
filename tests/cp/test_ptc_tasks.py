"""The PTC tasks on in-memory images: per-amplifier tables, masks, in-task pairing, the fit
over tables, the plot, and configuration errors."""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
import pytest

from quanta.core.errors import ConfigError
from quanta.core.image import Image
from quanta.core.raw import Section
from quanta.cp.algorithms import MaskBit
from quanta.cp.algorithms.ptc import PairOptions, SolveOptions
from quanta.cp.ptc_pairs import PtcPairConfig, measure_exposure_pair
from quanta.cp.ptc_solve import PtcInlineConfig, PtcInlineTask, solve_detector

GAINS = {"C00": 1.25, "C01": 1.6}
SECTIONS = {"C00": Section(0, 60, 0, 50), "C01": Section(0, 60, 50, 100)}
NOISE_E = 5.0


def flat(
    rng: np.random.Generator, electrons: float, exptime: float, day_obs: int = 20240101
) -> Image:
    """A two-amplifier ISR'd flat in ADU: Poisson signal plus read noise, no brighter-fatter."""
    image = np.empty((60, 100), dtype=np.float32)
    for amp, section in SECTIONS.items():
        shape = section.shape
        signal = rng.poisson(electrons, shape) + rng.normal(0.0, NOISE_E, shape)
        image[section.slices] = signal / GAINS[amp]
    header = {f"AMPSEC {a}": s.to_fits() for a, s in SECTIONS.items()}
    header.update({"EXPTIME": exptime, "DAYOBS": day_obs})
    return Image(image, header=header)


def test_a_pair_gives_one_row_per_amplifier_with_poisson_variance() -> None:
    rng = np.random.default_rng(3)
    table = measure_exposure_pair(
        flat(rng, 20_000.0, 2.0), flat(rng, 20_000.0, 2.0), (11, 12), PairOptions(), 0
    )
    assert table.column("amp").to_pylist() == ["C00", "C01"]
    assert table.column("pair").to_pylist() == ["11+12"] * 2
    assert table.column("exposure_time").to_pylist() == [2.0, 2.0]
    for row in table.to_pylist():
        gain = GAINS[row["amp"]]
        assert row["mean"] == pytest.approx(20_000.0 / gain, rel=1e-3)
        # Poisson plus read noise in ADU^2; ~2,500 pixels give a 3% (1 sigma) error.
        expected = (20_000.0 + NOISE_E**2) / gain**2
        assert row["variance"] == pytest.approx(expected, rel=0.12)
        assert len(row["cov"]) == 9**2 and row["cov"][0] == row["variance"]
        assert row["n_pixels"] == (60 - 4) * (50 - 4)


def test_masked_pixels_of_either_flat_are_left_out() -> None:
    rng = np.random.default_rng(4)
    first, second = flat(rng, 5_000.0, 1.0), flat(rng, 5_000.0, 1.0)
    clean = measure_exposure_pair(first, second, (1, 2), PairOptions(), MaskBit.SAT)
    first.image[10:20, 10:20] = 1e6
    first.mask[10:20, 10:20] = MaskBit.SAT
    second.mask[30, 70] = MaskBit.BAD
    masked = measure_exposure_pair(first, second, (1, 2), PairOptions(), MaskBit.SAT | MaskBit.BAD)
    assert masked.column("n_pixels").to_pylist() == [
        clean.column("n_pixels")[0].as_py() - 100,
        clean.column("n_pixels")[1].as_py() - 1,
    ]
    assert masked.column("mean")[0].as_py() == pytest.approx(
        clean.column("mean")[0].as_py(), rel=1e-3
    )


def test_an_image_without_amplifier_sections_is_refused() -> None:
    with pytest.raises(ValueError, match="no AMPSEC cards"):
        measure_exposure_pair(
            Image(np.ones((4, 4))), Image(np.ones((4, 4))), (1, 2), PairOptions(), 0
        )


def test_unknown_mask_bit_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown mask bit 'HOT'; valid: SAT, BAD, EDGE"):
        PtcPairConfig(bad_mask=["SAT", "HOT"]).bad_bits()


def test_the_fit_does_not_depend_on_the_order_of_the_tables() -> None:
    rng = np.random.default_rng(5)
    tables = [
        measure_exposure_pair(
            flat(rng, e, 1.0), flat(rng, e, 1.0), (i, i + 1), PairOptions(covariances=False), 0
        )
        for i, e in zip(range(0, 20, 2), np.geomspace(200, 60_000, 10), strict=True)
    ]
    options = SolveOptions(model="polynomial", turnoff=False)
    forward = solve_detector(tables, "Cam", 3, options)
    assert solve_detector(tables[::-1], "Cam", 3, options) == forward
    assert forward["instrument"] == "Cam" and forward["detector"] == 3
    for amp, fit in forward["amps"].items():
        # 10 pairs of ~2,500 pixels, the curvature free: within 4 of the fit's own errors.
        assert abs(fit["gain"] - GAINS[amp]) < 4 * fit["gain_err"] < 0.1 * GAINS[amp]
        assert fit["means"] == sorted(fit["means"]) and len(fit["pairs"]) == 10
    with pytest.raises(ValueError, match="no pair measurements for detector 3"):
        solve_detector([], "Cam", 3, options)


def test_inline_task_pairs_by_header_and_reports_what_it_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rng = np.random.default_rng(6)
    levels = np.geomspace(300, 50_000, 8)
    flats: dict[int, Image] = {}
    for k, electrons in enumerate(levels):
        flats[100 + 2 * k] = flat(rng, electrons, float(k + 1))
        flats[101 + 2 * k] = flat(rng, electrons, float(k + 1))
    flats[200] = flat(rng, 1_000.0, 99.0)  # no partner
    config = PtcInlineConfig(model="polynomial", turnoff=False, covariances=False)
    task = PtcInlineTask(config, label="ptcInline")
    with caplog.at_level(logging.INFO, logger="quanta.task.ptcInline"):
        outputs = task.run(flats, "Cam", 0)
    assert "exposure 200 left out" in caplog.text
    ptc = outputs["ptc"]
    assert ptc["amps"]["C00"]["pairs"][0] == "100+101" and len(ptc["amps"]["C00"]["pairs"]) == 8
    for amp, fit in ptc["amps"].items():
        assert abs(fit["gain"] - GAINS[amp]) < 4 * fit["gain_err"] < 0.1 * GAINS[amp]
    assert outputs["plot"].startswith(b"\x89PNG")


def test_inline_task_needs_the_header_keywords() -> None:
    image = Image(np.ones((4, 4)), header={"EXPTIME": 1.0})
    with pytest.raises(ValueError, match="flat 7 has no DAYOBS header keyword"):
        PtcInlineTask(PtcInlineConfig()).run({7: image}, "Cam", 0)


def test_pair_table_schema_is_stable() -> None:
    rng = np.random.default_rng(7)
    table = measure_exposure_pair(
        flat(rng, 100.0, 1.0), flat(rng, 100.0, 1.0), (1, 2), PairOptions(covariances=False), 0
    )
    assert table.schema.field("cov").type == pa.list_(pa.float64())
    assert table.column("cov").to_pylist() == [None, None]
    assert table.schema.names == [
        "amp", "pair", "exposure1", "exposure2", "exposure_time", "mean1", "mean2", "mean",
        "variance", "n_pixels", "cov",
    ]  # fmt: skip
