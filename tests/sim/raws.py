"""Reading simulated raws back the way a consumer would: astropy and the FITS sections only."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from quanta.core.raw import Section


def load_truth(outdir: Path) -> dict[str, Any]:
    """``truth.json`` of a simulation."""
    return json.loads((outdir / "truth.json").read_text())


def exposures(truth: dict[str, Any], imgtype: str) -> list[dict[str, Any]]:
    """The truth entries of every exposure of one image type, in time order."""
    return [e for e in truth["exposures"] if e["imgtype"] == imgtype]


def amp_section(path: Path, amp: str, keyword: str) -> np.ndarray:
    """The pixels of one amplifier's section (``DATASEC``, ``BIASSEC``, ``PRESEC``) as float64."""
    with fits.open(path) as hdus:
        hdu = hdus[amp]
        return hdu.data[Section.parse(hdu.header[keyword]).slices].astype(np.float64)


def assemble(path: Path, convert: Callable[[str, np.ndarray], np.ndarray]) -> np.ndarray:
    """The detector image of one raw: each amplifier's DATASEC pixels, passed through
    ``convert(amp_name, pixels)``, un-flipped as DETSEC says and placed at DETSEC."""
    with fits.open(path) as hdus:
        amps = [(h.header, h.data.astype(np.float64)) for h in hdus[1:]]
    sections = [(Section.parse(h["DATASEC"]), Section.parse(h["DETSEC"])) for h, _ in amps]
    shape = (max(d.y1 for _, d in sections), max(d.x1 for _, d in sections))
    image = np.full(shape, np.nan)
    for (header, data), (datasec, detsec) in zip(amps, sections, strict=True):
        pixels = convert(header["EXTNAME"], data[datasec.slices])
        if detsec.flip_y:
            pixels = pixels[::-1, :]
        if detsec.flip_x:
            pixels = pixels[:, ::-1]
        image[detsec.slices] = pixels
    return image
