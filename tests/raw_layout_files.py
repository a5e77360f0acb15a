"""Raw files of a known detector in each layout the RawImage formatter reads.

One detector (``detector_raw``) can be written with one HDU per amplifier (the
formatter's own ``write``), with all its amplifiers side by side in one HDU under
letter-suffixed sections (``write_one_hdu``), or as one extension of a file of many
detectors (``write_detectors``), plain or tile-compressed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from cp.rawdata import quadrants, read_out
from quanta.core.raw import RawAmp, RawImage, Section
from quanta.core.raw_layout import PER_AMP_VALUES

LETTERS = "ABCDEFGH"
SHAPE = (20, 24)


def detector_raw(
    seed: int = 0, levels: tuple[float, ...] = (1000.0, 1100.0, 900.0, 1200.0)
) -> RawImage:
    """Four flipped quadrants of 12x10 pixels with their own gain and bias level, read out
    to uint16 (stored with FITS's BZERO convention) from a scene whose every pixel differs."""
    rows, columns = np.indices(SHAPE)
    electrons = 1000.0 + 10.0 * rows + columns + 100.0 * seed
    raw = read_out(electrons, quadrants(), (1.2, 1.5, 1.8, 2.0), levels, read_noise=3.0, seed=seed)
    for amp in raw.amps:
        amp.pixels = np.round(amp.pixels).astype(np.uint16)
    raw.header = {"EXPTIME": 10.0, "DARKTIME": 10.0, "OBSID": f"obs{seed}"}
    return raw


def side_by_side(raw: RawImage) -> tuple[np.ndarray, dict[str, Any]]:
    """The amplifiers' arrays side by side in one array, with each amplifier's sections
    (shifted to its columns) and gain, read noise and saturation under its suffix letter;
    other header values, the same for every amplifier, once."""
    cards: dict[str, Any] = {}
    offset = 0
    for letter, amp in zip(LETTERS, raw.amps, strict=False):
        geometry = amp.geometry
        shifted = {
            "DATASEC": geometry.data,
            "BIASSEC": geometry.overscan,
            "PRESEC": geometry.prescan,
        }
        for keyword, section in shifted.items():
            if section is not None:
                cards[f"{keyword}{letter}"] = _shift(section, offset).to_fits()
        cards[f"DETSEC{letter}"] = geometry.detector.to_fits()
        for key, value in amp.header.items():
            if key in PER_AMP_VALUES:
                cards[f"{key[:7]}{letter}"] = value
            else:
                assert cards.setdefault(key, value) == value, f"amplifiers differ in {key}"
        offset += amp.pixels.shape[1]
    return np.hstack([amp.pixels for amp in raw.amps]), cards


def _shift(section: Section, columns: int) -> Section:
    return dataclasses.replace(section, x0=section.x0 + columns, x1=section.x1 + columns)


def image_hdu(raw: RawImage, name: str | None, compressed: bool = False) -> Any:
    """One detector as one image HDU (tile-compressed if asked) with suffixed sections."""
    data, cards = side_by_side(raw)
    hdu = fits.CompImageHDU(data, name=name) if compressed else fits.ImageHDU(data, name=name)
    hdu.header.update(cards)
    return hdu


def write_one_hdu(raw: RawImage, path: Path, name: str | None = "S1") -> Path:
    """A file of one detector whose amplifiers share one HDU."""
    primary = fits.PrimaryHDU(header=fits.Header(raw.header))
    fits.HDUList([primary, image_hdu(raw, name)]).writeto(path)
    return path


def write_detectors(
    raws: Mapping[str, RawImage],
    path: Path,
    header: Mapping[str, Any] | None = None,
    compressed: bool = False,
) -> Path:
    """A file of many detectors: ``header`` (the first raw's by default) as primary header,
    then one image HDU per detector, named by the mapping's keys, in their order."""
    primary = next(iter(raws.values())).header if header is None else header
    hdus = [fits.PrimaryHDU(header=fits.Header(dict(primary)))]
    hdus += [image_hdu(raw, name, compressed) for name, raw in raws.items()]
    fits.HDUList(hdus).writeto(path)
    return path


def write_amps_compressed(raw: RawImage, path: Path) -> Path:
    """The one-HDU-per-amplifier layout with every amplifier HDU tile-compressed."""
    hdus = [fits.PrimaryHDU(header=fits.Header(raw.header))]
    for amp in raw.amps:
        hdu = fits.CompImageHDU(amp.pixels, name=amp.geometry.name)
        hdu.header.update(_sections(amp))
        hdu.header.update(amp.header)
        hdus.append(hdu)
    fits.HDUList(hdus).writeto(path)
    return path


def _sections(amp: RawAmp) -> dict[str, str]:
    geometry = amp.geometry
    cards = {
        "DATASEC": geometry.data.to_fits(),
        "BIASSEC": geometry.overscan.to_fits(),
        "DETSEC": geometry.detector.to_fits(),
    }
    if geometry.prescan is not None:
        cards["PRESEC"] = geometry.prescan.to_fits()
    return cards
