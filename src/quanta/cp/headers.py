"""Header keywords that ISR writes and the combine tasks read, and pixel units.

Per-amplifier values are HIERARCH cards named ``<KEYWORD> <amplifier>``, such as
``OSLEVEL C00``:

- ``OSLEVEL``: mean overscan level (ADU); in a master bias, the mean over its inputs;
- ``OSNOISE``: overscan noise (ADU); ``OSNOISE_E`` the same in electrons (when the gain
  is known);
- ``GAIN``: the gain ISR used (e-/ADU);
- ``RDNOISE``: in a master bias, the read noise (e-), the root mean square of the
  inputs' ``OSNOISE_E``;
- ``AMPSEC``: where the amplifier's pixels are in the assembled image, as a FITS section
  (``[x1:x2,y1:y2]``, 1-based), so later tasks can work amplifier by amplifier.

``BUNIT`` gives the pixel unit: ``electron`` or ``adu``, with ``/s`` for a dark; a flat
has none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.raw import Section

OSLEVEL = "OSLEVEL"
OSNOISE = "OSNOISE"
OSNOISE_E = "OSNOISE_E"
GAIN = "GAIN"
RDNOISE = "RDNOISE"
AMPSEC = "AMPSEC"
ELECTRON = "electron"
ADU = "adu"
PER_SECOND = "/s"


def amp_key(keyword: str, amp: str) -> str:
    """The card name of one amplifier's value: ``"OSLEVEL C00"``."""
    return f"{keyword} {amp}"


def amp_values(header: Mapping[str, Any], keyword: str) -> dict[str, float]:
    """Every amplifier's value of ``keyword`` in a header, by amplifier name.

    >>> amp_values({"OSLEVEL C00": 1.5, "OSLEVEL C01": 2.0, "GAIN C00": 1.2}, "OSLEVEL")
    {'C00': 1.5, 'C01': 2.0}
    """
    prefix = f"{keyword} "
    return {k[len(prefix) :]: float(v) for k, v in header.items() if k.startswith(prefix)}


def amp_sections(header: Mapping[str, Any]) -> dict[str, Section]:
    """Every amplifier's region of an assembled image, from its ``AMPSEC`` cards.

    >>> amp_sections({"AMPSEC C00": "[1:4,1:2]"})
    {'C00': Section(y0=0, y1=2, x0=0, x1=4, flip_y=False, flip_x=False)}
    """
    prefix = f"{AMPSEC} "
    return {
        k[len(prefix) :]: Section.parse(str(v)) for k, v in header.items() if k.startswith(prefix)
    }


def unit_scale(calibration_unit: str | None, image_unit: str, gain: float | None) -> float:
    """The factor that turns a calibration's pixels into the image's unit.

    ``calibration_unit`` is the calibration's ``BUNIT`` without ``/s`` (None: the same
    as the image); converting between ``electron`` and ``adu`` needs the gain (e-/ADU).

    >>> unit_scale("electron", "adu", 2.0), unit_scale("adu", "electron", 2.0)
    (0.5, 2.0)
    """
    if calibration_unit is None or calibration_unit == image_unit:
        return 1.0
    if {calibration_unit, image_unit} != {ELECTRON, ADU}:
        raise ValueError(f"cannot convert {calibration_unit!r} to {image_unit!r}")
    if gain is None:
        raise ValueError(f"converting {calibration_unit!r} to {image_unit!r} needs the gain")
    return gain if calibration_unit == ADU else 1.0 / gain
