"""Small synthetic raws for the ISR tests: a known detector image read out by amplifiers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from quanta.core.raw import AmpGeometry, RawAmp, RawImage, Section

PRESCAN, OVERSCAN = 2, 8


def quadrants(width: int = 12, height: int = 10) -> list[AmpGeometry]:
    """Four amplifiers of ``width`` x ``height`` imaging pixels, read from the outer
    corners (flipped in x on the right, in y on the top)."""
    result = []
    for row in range(2):
        for column in range(2):
            result.append(
                AmpGeometry(
                    name=f"C{row}{column}",
                    data=Section(0, height, PRESCAN, PRESCAN + width),
                    overscan=Section(0, height, PRESCAN + width, PRESCAN + width + OVERSCAN),
                    detector=Section(
                        row * height,
                        (row + 1) * height,
                        column * width,
                        (column + 1) * width,
                        flip_y=row == 1,
                        flip_x=column == 1,
                    ),
                    prescan=Section(0, height, 0, PRESCAN),
                )
            )
    return result


def read_out(
    electrons: np.ndarray,
    geometry: Sequence[AmpGeometry],
    gains: Sequence[float],
    bias_levels: Sequence[float],
    read_noise: float = 0.0,
    seed: int = 0,
    header: dict | None = None,
) -> RawImage:
    """The raw of a detector image in electrons: per amplifier, flipped as it reads, in
    ADU with its bias level (rows drifting by 0.01 ADU per row) and read noise (e-)."""
    rng = np.random.default_rng(seed)
    amps = []
    for geo, gain, level in zip(geometry, gains, bias_levels, strict=True):
        region = electrons[geo.detector.slices]
        region = region[:: -1 if geo.detector.flip_y else 1, :: -1 if geo.detector.flip_x else 1]
        rows = geo.data.shape[0]
        pixels = np.zeros((rows, geo.overscan.x1))
        pixels[geo.data.slices] = region
        pixels += read_noise * rng.standard_normal(pixels.shape)
        drift = 0.01 * np.arange(rows)[:, None]
        pixels = pixels / gain + level + drift
        amp_header = {"GAIN": gain, "RDNOISE": read_noise, "SATURATE": 60000.0}
        amps.append(RawAmp(geo, pixels, amp_header))
    return RawImage(amps, dict(header or {"EXPTIME": 10.0, "DARKTIME": 10.0}))
