"""Robust statistics of pixel samples."""

from __future__ import annotations

from typing import Literal

import numpy as np

#: Where clipping is centred: the median or the mean of the samples kept.
Center = Literal["median", "mean"]

#: The standard deviation of a normal distribution is 1.4826 times its median absolute
#: deviation.
MAD_TO_SIGMA = 1.482602218505602


def robust_sigma(values: np.ndarray) -> float:
    """The standard deviation of normal samples, estimated from their median absolute
    deviation (unaffected by a few outliers); non-finite values are ignored.

    >>> robust_sigma(np.array([-1.0, 0.0, 1.0, 0.0, 50.0]))
    1.482602218505602
    """
    finite = np.asarray(values, dtype=np.float64).ravel()
    finite = finite[np.isfinite(finite)]
    return float(MAD_TO_SIGMA * np.median(np.abs(finite - np.median(finite))))
