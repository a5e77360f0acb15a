"""Writing SimCam raws: multi-extension FITS in the layout of ``quanta.core.raw``.

A primary HDU with the observation header and no data, then one image HDU per
amplifier in file order with ``EXTNAME``, the sections ``DATASEC``, ``BIASSEC``,
``PRESEC`` and ``DETSEC`` (1-based, inclusive, reversed for flipped readout), the
true ``GAIN`` (e-/ADU) and ``RDNOISE`` (e-) so that ISR can apply gains, and
``SATURATE`` (ADU). Nothing time-dependent is written, so the same pixels give the
same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.raw import AmpGeometry
from ..instruments.simcam_layout import HEADER_KEYWORDS, INSTRUMENT
from .truth import AmpTruth

#: FITS limits a card's comment to what fits in 80 characters; keep comments short.
_COMMENT_LENGTH = 46


@dataclass(frozen=True)
class AmpImage:
    """One amplifier's HDU: where things are, its true parameters, and its pixels in ADU."""

    geometry: AmpGeometry
    truth: AmpTruth
    pixels: np.ndarray


def raw_filename(expid: int, detector: int) -> str:
    """``SimCam_<EXPID>_<DET:02d>.fits``."""
    return f"{INSTRUMENT}_{expid}_{detector:02d}.fits"


def amp_header(amp: AmpImage) -> list[tuple[str, Any, str]]:
    """The cards of one amplifier HDU: name, sections, gain, read noise, saturation."""
    g = amp.geometry
    cards: list[tuple[str, Any, str]] = [
        ("EXTNAME", g.name, "amplifier name"),
        ("DATASEC", g.data.to_fits(), "imaging pixels in this HDU"),
        ("BIASSEC", g.overscan.to_fits(), "serial overscan in this HDU"),
    ]
    if g.prescan is not None:
        cards.append(("PRESEC", g.prescan.to_fits(), "serial prescan in this HDU"))
    cards += [
        ("DETSEC", g.detector.to_fits(), "DATASEC in the detector; reversed = flipped"),
        ("GAIN", amp.truth.gain, "true gain (e-/ADU)"),
        ("RDNOISE", amp.truth.read_noise, "true read noise (e-)"),
        ("SATURATE", amp.truth.saturation, "output saturation (ADU)"),
        ("BUNIT", "adu", "pixel unit"),
    ]
    return cards


def write_raw(path: Path, header: Mapping[str, Any], amps: Sequence[AmpImage]) -> None:
    """Write one detector of one exposure to ``path`` (replacing any file there)."""
    from astropy.io import fits

    primary = fits.PrimaryHDU()
    for key, value in header.items():
        primary.header[key] = (value, HEADER_KEYWORDS.get(key, "")[:_COMMENT_LENGTH])
    hdus: list[Any] = [primary]
    for amp in amps:
        hdu = fits.ImageHDU(amp.pixels)
        for key, value, comment in amp_header(amp):
            hdu.header[key] = (value, comment)
        hdus.append(hdu)
    fits.HDUList(hdus).writeto(path, overwrite=True)
