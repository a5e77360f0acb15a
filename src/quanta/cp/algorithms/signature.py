"""Instrument signatures a camera team measures once and ISR removes from every raw:
crosstalk between amplifiers, non-linearity, and defective pixels.

Crosstalk and linearity act on each amplifier's overscan-corrected signal in ADU, in the
orientation it was read out in (so that a source amplifier's ghost lands where the
target amplifier read its own pixels at the same time); defects are boxes in the
assembled detector image.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def correct_crosstalk(
    signals: Mapping[str, np.ndarray], coefficients: Mapping[str, Mapping[str, float]]
) -> dict[str, np.ndarray]:
    """Each target amplifier minus ``coefficients[target][source]`` times each source's
    signal (all in readout orientation, the same shape); amplifiers not named as targets
    come back unchanged. The sources are the uncorrected signals, so the order of the
    amplifiers does not matter.

    >>> a, b = np.array([10.0, 0.0]), np.array([100.0, 200.0])
    >>> out = correct_crosstalk({"A": a + 0.01 * b, "B": b}, {"A": {"B": 0.01}})
    >>> out["A"], out["B"]
    (array([10.,  0.]), array([100., 200.]))
    """
    unknown = sorted({*coefficients, *(s for c in coefficients.values() for s in c)} - {*signals})
    if unknown:
        raise ValueError(f"crosstalk names amplifiers {unknown} that the raw does not have")
    result = dict(signals)
    for target, sources in coefficients.items():
        corrected = signals[target].astype(np.float64, copy=True)
        for source, coefficient in sources.items():
            if source == target:
                raise ValueError(f"amplifier {target!r} cannot be its own crosstalk source")
            if signals[source].shape != corrected.shape:
                raise ValueError(
                    f"crosstalk from {source!r} to {target!r}: shapes "
                    f"{signals[source].shape} and {corrected.shape} differ"
                )
            corrected -= coefficient * signals[source]
        result[target] = corrected
    return result


def linearize(signal: np.ndarray, polynomial: Sequence[float]) -> np.ndarray:
    """The linear signal: ``sum(polynomial[i] * signal**i)``, in ADU (``[0, 1]`` changes
    nothing).

    >>> linearize(np.array([0.0, 100.0]), [0.0, 1.0, 1e-4])
    array([  0.,   101.])
    """
    if len(polynomial) < 2:
        raise ValueError(f"a linearity polynomial needs at least 2 coefficients, not {polynomial}")
    return np.polynomial.polynomial.polyval(signal, np.asarray(polynomial, dtype=np.float64))


def defect_mask(shape: tuple[int, int], boxes: Sequence[tuple[int, int, int, int]]) -> np.ndarray:
    """True inside each defect box ``(x0, y0, width, height)`` (0-based detector pixels);
    a box reaching outside the detector is an error.

    >>> defect_mask((2, 4), [(1, 0, 2, 1)]).astype(int)
    array([[0, 1, 1, 0],
           [0, 0, 0, 0]])
    """
    rows, columns = shape
    mask = np.zeros(shape, dtype=bool)
    for x0, y0, width, height in boxes:
        inside = x0 >= 0 and y0 >= 0 and x0 + width <= columns and y0 + height <= rows
        if width < 1 or height < 1 or not inside:
            raise ValueError(f"defect box {(x0, y0, width, height)} lies outside {columns}x{rows}")
        mask[y0 : y0 + height, x0 : x0 + width] = True
    return mask
