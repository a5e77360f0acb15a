"""The PTC tasks on in-memory images: per-amplifier tables, masks, in-task pairing, the fit
over tables, the plot, and configuration errors."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from pydantic import ValidationError

from quanta.core.errors import ConfigError
from quanta.core.image import Image
from quanta.core.raw import Section
from quanta.core.universe import DEFAULT_UNIVERSE_PATH, load_universe
from quanta.cp.algorithms import MaskBit, PairOptions, SolveOptions
from quanta.cp.ptc_curve import solve_detector
from quanta.cp.ptc_pairs import PtcPairConfig, measure_exposure_pair
from quanta.cp.ptc_plot import render_ptc
from quanta.cp.ptc_solve import PtcInlineConfig, PtcInlineTask, PtcSolveConfig
from quanta.pipe.pipeline import Pipeline

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
    header: dict[str, object] = {f"AMPSEC {a}": s.to_fits() for a, s in SECTIONS.items()}
    header.update({f"OSNOISE {a}": NOISE_E / g for a, g in GAINS.items()})
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
        assert row["flag"] == "" and row["overscan_noise"] == pytest.approx(NOISE_E / gain)


def test_a_saturated_amplifier_is_a_null_row_with_its_reason() -> None:
    rng = np.random.default_rng(8)
    first, second = flat(rng, 5_000.0, 1.0), flat(rng, 5_000.0, 1.0)
    first.mask[SECTIONS["C01"].slices] = MaskBit.SAT
    table = measure_exposure_pair(first, second, (1, 2), PairOptions(), MaskBit.SAT)
    saturated, clean = table.to_pylist()[1], table.to_pylist()[0]
    assert saturated["mean"] is None and saturated["variance"] is None
    assert saturated["cov"] is None and saturated["n_pixels"] == 0
    assert saturated["flag"] == "too few usable pixels: 0 < min_pixels 1000"
    assert clean["flag"] == "" and clean["variance"] > 0


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
    forward = solve_detector(tables, "Cam", 3, lambda amp: options)
    assert solve_detector(tables[::-1], "Cam", 3, lambda amp: options) == forward
    assert forward["instrument"] == "Cam" and forward["detector"] == 3
    for amp, fit in forward["amps"].items():
        # 10 pairs of ~2,500 pixels, the curvature free: within 4 of the fit's own errors.
        assert abs(fit["gain"] - GAINS[amp]) < 4 * fit["gain_err"] < 0.1 * GAINS[amp]
        assert fit["means"] == sorted(fit["means"]) and len(fit["pairs"]) == 10
    with pytest.raises(ValueError, match="no pair measurements for detector 3"):
        solve_detector([], "Cam", 3, lambda amp: options)


def _curve(
    seed: int, saturated: int | None = None, options: PairOptions | None = None
) -> list[pa.Table]:
    """Ten pairs from 200 to 60,000 e-; pair ``saturated`` masked SAT in both amplifiers;
    measured with ``options`` (default: without covariances)."""
    options = PairOptions(covariances=False) if options is None else options
    rng = np.random.default_rng(seed)
    tables = []
    for i, electrons in enumerate(np.geomspace(200, 60_000, 10)):
        first, second = flat(rng, electrons, 1.0), flat(rng, electrons, 1.0)
        if i == saturated:
            first.mask[:] = MaskBit.SAT
        tables.append(measure_exposure_pair(first, second, (2 * i, 2 * i + 1), options, 1))
    return tables


def test_pairs_sharing_a_flat_are_refused() -> None:
    tables = _curve(13)
    shared = tables[3].set_column(
        tables[3].schema.get_field_index("exposure2"), "exposure2", tables[2].column("exposure1")
    )
    options = SolveOptions()
    with pytest.raises(ValueError, match=r"exposure 4 is in pairs '4\+5' and '6\+7'"):
        solve_detector([*tables[:3], shared, *tables[4:]], "Cam", 0, lambda amp: options)


def test_a_saturated_pair_is_flagged_and_the_curve_goes_on() -> None:
    options = SolveOptions(turnoff=False)
    ptc = solve_detector(_curve(9, saturated=4), "Cam", 0, lambda amp: options)
    for amp, fit in ptc["amps"].items():
        assert fit["pairs"][-1] == "8+9" and fit["means"][-1] is None
        assert fit["variances"][-1] is None and fit["used"][-1] is False
        assert fit["flags"][-1] == "not measured"
        assert fit["pair_flags"][-1].startswith("too few usable pixels")
        assert fit["n_pairs_used"] == 9
        assert abs(fit["gain"] - GAINS[amp]) < 4 * fit["gain_err"]


def test_read_noise_comes_from_the_overscan_with_the_ptc_gain() -> None:
    options = SolveOptions(turnoff=False)
    ptc = solve_detector(_curve(10), "Cam", 0, lambda amp: options)
    for amp, fit in ptc["amps"].items():
        # OSNOISE is the true noise in ADU; times the fitted gain, within the gain's error.
        assert fit["noise_overscan"] == pytest.approx(NOISE_E * fit["gain"] / GAINS[amp])
        assert fit["noise_overscan_err"] == pytest.approx(
            fit["noise_overscan"] * fit["gain_err"] / fit["gain"]
        )
        assert fit["read_noise_source"] == "overscan"
        assert fit["read_noise"] == fit["noise_overscan"]
    without = [t.drop_columns(["overscan_noise"]) for t in _curve(10)]
    nulls = [t.append_column("overscan_noise", pa.nulls(2, pa.float64())) for t in without]
    fallback = solve_detector(nulls, "Cam", 0, lambda amp: options)["amps"]["C00"]
    assert fallback["read_noise_source"] == "ptc" and fallback["read_noise"] == fallback["noise"]
    assert fallback["noise_overscan"] is None


def test_signal_ranges_are_per_amplifier() -> None:
    config = PtcSolveConfig(min_mean={"*": 300.0, "C01": 1_000.0}, max_mean={"C00": 20_000.0})
    assert config.solve_options("C00").min_mean == 300.0
    assert config.solve_options("C00").max_mean == 20_000.0
    assert config.solve_options("C01").min_mean == 1_000.0
    assert config.solve_options("C01").max_mean == np.inf
    ptc = solve_detector(_curve(11), "Cam", 0, config.solve_options)
    for amp, fit in ptc["amps"].items():
        options = config.solve_options(amp)
        for mean, used in zip(fit["means"], fit["used"], strict=True):
            assert used == (options.min_mean <= mean <= options.max_mean)
    # From the command line: -c ptcSolve:max_mean.C00=20000 -c 'ptcSolve:min_mean.*=300'.
    pipeline = Pipeline.load("ptc_pairs").with_overrides(
        [("ptcSolve", "max_mean.C00", "20000"), ("ptcSolve", "min_mean.*", "300")]
    )
    (solve,) = [
        t
        for t in pipeline.resolve(load_universe(DEFAULT_UNIVERSE_PATH)).tasks
        if t.label == "ptcSolve"
    ]
    assert solve.config.solve_options("C00") == config.solve_options("C00")
    with pytest.raises(ConfigError, match=r"amplifier .C00.*min_mean < max_mean"):
        PtcSolveConfig(min_mean={"C00": 5.0}, max_mean={"C00": 1.0}).solve_options("C00")


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


def test_inline_task_honours_its_tolerance_and_a_pairs_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    flats: dict[int, Image] = {}
    for k, electrons in enumerate(np.geomspace(300, 50_000, 6)):
        flats[100 + 2 * k] = flat(rng, electrons, float(k + 1))
        flats[101 + 2 * k] = flat(rng, electrons, float(k + 1) + 0.02)  # 20 ms apart
    config = {"model": "polynomial", "turnoff": False, "covariances": False}

    def pairs(**more: object) -> list[str]:
        task = PtcInlineTask(PtcInlineConfig(**config, **more))  # type: ignore[arg-type]
        return list(task.run(flats, "Cam", 0)["ptc"]["amps"]["C00"]["pairs"])

    with pytest.raises(ValueError, match="no pair measurements"):
        pairs()  # the default 5 ms pairs nothing
    assert pairs(tolerance=0.05) == [f"{100 + 2 * k}+{101 + 2 * k}" for k in range(6)]
    path = tmp_path / "pairs.csv"
    path.write_text(
        "group,exposures\n" + "".join(f"p{k},{k},{k + 1}\n" for k in range(100, 110, 2))
    )
    assert pairs(pairs_file=str(path)) == [f"{k}+{k + 1}" for k in range(100, 110, 2)]


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
        "variance", "n_pixels", "cov", "flag", "overscan_noise",
    ]  # fmt: skip


def test_the_full_covariance_model_fills_the_ptc_and_its_plot() -> None:
    """Poisson flats without brighter-fatter: the eq. 20 gain within 4 of its errors, a_ij
    within 4 of theirs of 0; its gain, a00 and noise are the amplifier's; every pair's
    covariances are kept to the fitted lag; the plot grows by the covariance panels."""
    config = PtcSolveConfig(model="full-covariance", cov_max_lag=2, turnoff=False)
    tables = _curve(12, saturated=9, options=PairOptions(max_lag=3))
    ptc = solve_detector(tables, "Cam", 0, config.solve_options)
    assert ptc["model"] == "full-covariance"
    for amp, fit in ptc["amps"].items():
        cov_fit = fit["covariance_fit"]
        assert cov_fit["max_lag"] == 2 and cov_fit["n_pairs"] == fit["n_pairs_used"] == 9
        assert (fit["gain"], fit["gain_err"]) == (cov_fit["gain"], cov_fit["gain_err"])
        assert fit["a00"] == cov_fit["a"][0][0]
        assert fit["noise"] == pytest.approx(cov_fit["n"][0][0] ** 0.5)
        assert abs(fit["gain"] - GAINS[amp]) < 4 * fit["gain_err"]
        assert fit["gain_err"] < 0.05 * GAINS[amp]
        pulls = np.array(cov_fit["a"]) / np.array(cov_fit["a_err"])
        assert np.all(np.abs(pulls) < 4), pulls
        assert len(fit["covariances"]) == 10 and np.shape(fit["covariances"][0]) == (3, 3)
        assert fit["covariances"][-1][0][0] is None  # the saturated pair
        assert fit["covariances"][0][0][0] == fit["variances"][0]
    astier = solve_detector(tables, "Cam", 0, PtcSolveConfig(turnoff=False).solve_options)
    assert "covariance_fit" not in astier["amps"]["C00"]
    from matplotlib.image import imread

    with_cov, without = (imread(io.BytesIO(render_ptc(p))).shape for p in (ptc, astier))
    assert with_cov[1] == without[1] and with_cov[0] > 1.4 * without[0]


def test_the_full_covariance_model_needs_covariances_to_its_lag() -> None:
    config = PtcSolveConfig(model="full-covariance", cov_max_lag=4, turnoff=False)
    with pytest.raises(ValueError, match="covariances: true"):
        solve_detector(_curve(13), "Cam", 0, config.solve_options)
    with pytest.raises(ValueError, match="to lag 3, the fit asks for cov_max_lag 4"):
        solve_detector(_curve(13, options=PairOptions(max_lag=3)), "Cam", 0, config.solve_options)
    with pytest.raises(ValidationError):
        PtcSolveConfig(model="full")
    with pytest.raises(ValueError, match="astier, polynomial or full-covariance"):
        SolveOptions(model="full")  # type: ignore[arg-type]
