"""Curated signatures in ISR: crosstalk, linearity, curated gains and defects, checked
against raws made with a known signature from a known image."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from cp.rawdata import quadrants, read_out
from quanta.core.raw import RawImage
from quanta.cp.algorithms import MaskBit, correct_crosstalk, defect_mask, linearize
from quanta.cp.isr import IsrConfig, IsrTask

GAINS = (1.2, 1.5, 1.8, 2.0)
LEVELS = (1000.0, 1100.5, 900.25, 1200.0)
SHAPE = (20, 24)
NAMES = ("C00", "C01", "C10", "C11")


def _task(**config: object) -> IsrTask:
    base = {"do_bias": False, "do_dark": False, "do_flat": False, "edge_width": 0}
    return IsrTask(IsrConfig(**{**base, **config}))


def _electrons() -> np.ndarray:
    rows, columns = np.indices(SHAPE)
    return 1000.0 + 10.0 * rows + columns


def _signal(raw: RawImage, name: str) -> np.ndarray:
    """An amplifier's signal in ADU (its bias level and row drift removed), as read."""
    amp = raw.amp(name)
    index = NAMES.index(name)
    rows = amp.geometry.data.shape[0]
    return amp.pixels[amp.geometry.data.slices] - LEVELS[index] - 0.01 * np.arange(rows)[:, None]


def test_crosstalk_is_removed_from_what_each_target_read() -> None:
    electrons = _electrons()
    raw = read_out(electrons, quadrants(), GAINS, LEVELS)
    coefficients = {"C00": {"C01": 2e-3, "C10": -1e-3}, "C11": {"C00": 5e-4}}
    clean = {name: _signal(raw, name) for name in NAMES}
    for target, sources in coefficients.items():
        data = raw.amp(target).pixels[raw.amp(target).geometry.data.slices]
        data += sum(c * clean[source] for source, c in sources.items())
    crosstalk = {"coefficients": coefficients}
    out = _task(do_crosstalk=True).run(raw, crosstalk=crosstalk)["post_isr"]
    np.testing.assert_allclose(out.image, electrons, rtol=1e-6)
    ignored = _task().run(raw, crosstalk=crosstalk)["post_isr"]
    assert not np.allclose(ignored.image, electrons, rtol=1e-4)


def test_linearity_undoes_a_quadratic_response_per_amplifier() -> None:
    electrons = _electrons() * 20
    raw = read_out(electrons, quadrants(), GAINS, LEVELS)
    strengths = dict(zip(NAMES, (1e-7, 2e-7, 0.0, 3e-7), strict=True))
    polynomials = {}
    for name, a in strengths.items():
        true = _signal(raw, name)
        data = raw.amp(name).pixels[raw.amp(name).geometry.data.slices]
        data -= a * true**2
        polynomials[name] = {"polynomial": [0.0, 1.0, a, 2 * a * a, 5 * a**3]}
    out = _task(do_linearity=True).run(raw, linearity={"amplifiers": polynomials})["post_isr"]
    np.testing.assert_allclose(out.image, electrons, rtol=1e-6)
    uncorrected = _task().run(raw)["post_isr"]
    assert np.abs(uncorrected.image - electrons).max() > 10.0
    with pytest.raises(ValueError, match="has no amplifier 'C11'"):
        partial = {"amplifiers": {n: p for n, p in polynomials.items() if n != "C11"}}
        _task(do_linearity=True).run(raw, linearity=partial)


def test_curated_gains_replace_the_header_values() -> None:
    electrons = _electrons()
    raw = read_out(electrons, quadrants(), GAINS, LEVELS)
    for amp in raw.amps:
        amp.header["GAIN"] = 9.9
    gains = {
        "amplifiers": {n: {"gain": g, "read_noise": 4.5} for n, g in zip(NAMES, GAINS, strict=True)}
    }
    out = _task(do_gains=True).run(raw, gains=gains)["post_isr"]
    np.testing.assert_allclose(out.image, electrons, rtol=1e-7)
    wrong = _task().run(raw, gains=gains)["post_isr"]
    assert not np.allclose(wrong.image, electrons, rtol=1e-2)


def test_a_ptc_gives_the_same_gains_as_curated_ones() -> None:
    electrons = _electrons()
    raw = read_out(electrons, quadrants(), GAINS, LEVELS)
    for amp in raw.amps:
        amp.header["GAIN"] = 9.9
    ptc = {
        "amps": {
            n: {"gain": g, "read_noise": 4.5, "quality": "good"}
            for n, g in zip(NAMES, GAINS, strict=True)
        }
    }
    out = _task(do_gains=True).run(raw, gains=ptc)["post_isr"]
    np.testing.assert_allclose(out.image, electrons, rtol=1e-7)
    del ptc["amps"]["C11"]
    with pytest.raises(ValueError, match="the PTC has no amplifier 'C11'"):
        _task(do_gains=True).run(raw, gains=ptc)


def test_defects_are_masked_bad_and_nothing_else() -> None:
    raw = read_out(_electrons(), quadrants(), GAINS, LEVELS)
    boxes = [(0, 0, 3, 2), (20, 15, 4, 5)]
    table = pa.table(
        {k: [b[i] for b in boxes] for i, k in enumerate(("x0", "y0", "width", "height"))}
    )
    out = _task(do_defects=True).run(raw, defects=table)["post_isr"]
    bad = (out.mask & MaskBit.BAD) != 0
    np.testing.assert_array_equal(bad, defect_mask(SHAPE, boxes))
    assert bad.sum() == 3 * 2 + 4 * 5


@pytest.mark.parametrize("name", ["crosstalk", "linearity", "gains", "defects"])
def test_a_switched_on_signature_must_be_given(name: str) -> None:
    raw = read_out(_electrons(), quadrants(), GAINS, LEVELS)
    with pytest.raises(ValueError, match=f"do_{name} is set but no {name} was given"):
        _task(**{f"do_{name}": True}).run(raw)


def test_bad_signatures_say_what_is_wrong() -> None:
    signals = {"A": np.zeros(3), "B": np.zeros(3), "C": np.zeros(4)}
    with pytest.raises(ValueError, match=r"amplifiers \['Z'\]"):
        correct_crosstalk(signals, {"A": {"Z": 0.1}})
    with pytest.raises(ValueError, match="its own crosstalk source"):
        correct_crosstalk(signals, {"A": {"A": 0.1}})
    with pytest.raises(ValueError, match="shapes"):
        correct_crosstalk(signals, {"A": {"C": 0.1}})
    with pytest.raises(ValueError, match="at least 2 coefficients"):
        linearize(np.zeros(2), [1.0])
    with pytest.raises(ValueError, match="lies outside 4x2"):
        defect_mask((2, 4), [(3, 0, 2, 1)])
    with pytest.raises(ValueError, match="lies outside"):
        defect_mask((2, 4), [(0, 0, 0, 1)])
