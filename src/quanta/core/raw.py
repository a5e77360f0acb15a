"""The in-memory type of the ``RawImage`` storage class: one detector's amplifiers as read out.

On disk a raw is a FITS file: a primary HDU with the observation header (no data) and
image HDUs holding the pixels as read, prescan and overscan included. Each amplifier has
FITS-style sections, 1-based and inclusive, ``[x1:x2,y1:y2]``:

- ``DATASEC``: the imaging pixels within the HDU;
- ``BIASSEC``: the serial overscan columns within the HDU;
- ``PRESEC`` (optional): the serial prescan columns within the HDU;
- ``DETSEC``: where the imaging pixels go in the assembled detector image; a range
  written high-to-low (``[509:1,...]``) means the amplifier is read out flipped along
  that axis; where a ``CCDSEC`` is given (DECam), it is the place in the detector and
  ``DETSEC`` the place in the whole focal plane, kept only as header information.

An HDU holds one amplifier, named by its ``EXTNAME`` (SimCam), or several, whose sections
carry a letter suffix (``DATASECA``...; DECam, MegaPrime); a file holds one detector, or
many, one per image HDU, each its own dataset. The ``RawImage`` formatter reads every
layout into the objects below, whose sections are relative to ``RawAmp.pixels`` (an
HDU's whole array, shared by the amplifiers in it); ISR uses only these sections, never
instrument code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

_SECTION = re.compile(r"^\[\s*(\d+)\s*:\s*(\d+)\s*,\s*(\d+)\s*:\s*(\d+)\s*\]$")


@dataclass(frozen=True)
class Section:
    """A rectangle in 0-based, end-exclusive pixel coordinates, with readout flips."""

    y0: int
    y1: int
    x0: int
    x1: int
    flip_y: bool = False
    flip_x: bool = False

    @classmethod
    def parse(cls, text: str) -> Section:
        """Parse a FITS section ``[x1:x2,y1:y2]`` (1-based, inclusive, possibly reversed)."""
        match = _SECTION.match(text.strip())
        if match is None:
            raise ValueError(f"invalid FITS section {text!r}; expected [x1:x2,y1:y2]")
        xa, xb, ya, yb = (int(g) for g in match.groups())
        return cls(min(ya, yb) - 1, max(ya, yb), min(xa, xb) - 1, max(xa, xb), ya > yb, xa > xb)

    def to_fits(self) -> str:
        """The FITS section string (reversed ranges for flipped axes)."""
        xs = (self.x1, self.x0 + 1) if self.flip_x else (self.x0 + 1, self.x1)
        ys = (self.y1, self.y0 + 1) if self.flip_y else (self.y0 + 1, self.y1)
        return f"[{xs[0]}:{xs[1]},{ys[0]}:{ys[1]}]"

    @property
    def slices(self) -> tuple[slice, slice]:
        """Numpy slices (rows, columns)."""
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns."""
        return self.y1 - self.y0, self.x1 - self.x0


@dataclass(frozen=True)
class AmpGeometry:
    """Where an amplifier's imaging, overscan and prescan pixels are, and where it goes."""

    name: str
    data: Section
    overscan: Section
    detector: Section
    prescan: Section | None = None


@dataclass
class RawAmp:
    """One amplifier's pixels as read out (prescan and overscan included) and its header."""

    geometry: AmpGeometry
    pixels: np.ndarray
    header: dict[str, Any] = field(default_factory=dict)


@dataclass
class RawImage:
    """One detector of one exposure, as read out: amplifiers in file order."""

    amps: list[RawAmp]
    header: dict[str, Any] = field(default_factory=dict)

    def amp(self, name: str) -> RawAmp:
        """The amplifier called ``name``."""
        for amp in self.amps:
            if amp.geometry.name == name:
                return amp
        raise KeyError(f"no amplifier {name!r}; amplifiers: {[a.geometry.name for a in self.amps]}")

    @property
    def detector_shape(self) -> tuple[int, int]:
        """Rows and columns of the assembled detector image."""
        return (
            max(a.geometry.detector.y1 for a in self.amps),
            max(a.geometry.detector.x1 for a in self.amps),
        )
