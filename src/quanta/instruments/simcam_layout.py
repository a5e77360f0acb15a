"""SimCam's amplifier layout and header conventions, shared by the instrument and the simulator.

A SimCam detector has ``n_amps`` amplifiers (1, or an even number arranged in two
rows); each amplifier HDU holds ``prescan`` columns, ``width`` imaging columns and
``overscan`` columns, over ``height`` rows. Amplifiers in the top row are read out
flipped in y, odd-numbered amplifiers flipped in x, like a modern CCD with readout
corners on the outside. Amplifier names are ``C<row><column>``: C00..C07 on the
bottom row and C10..C17 on the top row for 16 amplifiers.
"""

from __future__ import annotations

from ..core.raw import AmpGeometry, Section

INSTRUMENT = "SimCam"
#: Physical filters and their bands; biases and darks are taken with the ``empty`` filter.
FILTERS = {"SimCam-g": "g", "SimCam-r": "r", "SimCam-i": "i", "SimCam-z": "z", "SimCam-empty": None}
MAX_DETECTORS = 16
PRESCAN = 3
OVERSCAN = 32
#: The geometry of a real, modern CCD: 16 amplifiers of 509 x 2000 imaging pixels.
FULL_AMPS = 16
FULL_AMP_SIZE = (509, 2000)

#: Primary-header keywords every SimCam raw carries, and what they mean.
HEADER_KEYWORDS = {
    "INSTRUME": "instrument name (SimCam)",
    "DETECTOR": "detector id (int)",
    "DETNAME": "detector name",
    "EXPID": "exposure id: DAYOBS * 100000 + SEQNUM",
    "OBSID": "observation id, unique per exposure",
    "IMGTYPE": "bias, dark, flat or science",
    "EXPTIME": "exposure time (s)",
    "DARKTIME": "dark time (s)",
    "FILTER": "physical filter",
    "DATE-OBS": "start of the exposure (UTC, ISO-8601)",
    "DATE-END": "end of the exposure (UTC, ISO-8601)",
    "DAYOBS": "observing night, YYYYMMDD",
    "SEQNUM": "sequence number within the night",
    "GROUPID": "acquisition group (optional)",
    "OBJECT": "target name (optional)",
}


def amp_names(n_amps: int) -> list[str]:
    """Amplifier names in readout (file) order."""
    rows, columns = _grid(n_amps)
    return [f"C{r}{c}" for r in range(rows) for c in range(columns)]


def _grid(n_amps: int) -> tuple[int, int]:
    if n_amps == 1:
        return 1, 1
    if n_amps < 1 or n_amps % 2:
        raise ValueError(f"SimCam detectors have 1 or an even number of amplifiers, not {n_amps}")
    return 2, n_amps // 2


def amp_geometry(
    n_amps: int = FULL_AMPS,
    width: int = FULL_AMP_SIZE[0],
    height: int = FULL_AMP_SIZE[1],
    prescan: int = PRESCAN,
    overscan: int = OVERSCAN,
) -> list[AmpGeometry]:
    """Geometry of every amplifier of a SimCam detector, in file order."""
    result = []
    for name in amp_names(n_amps):
        row, column = int(name[1]), int(name[2:])
        detector = Section(
            row * height,
            (row + 1) * height,
            column * width,
            (column + 1) * width,
            flip_y=row == 1,
            flip_x=column % 2 == 1,
        )
        result.append(
            AmpGeometry(
                name=name,
                data=Section(0, height, prescan, prescan + width),
                overscan=Section(0, height, prescan + width, prescan + width + overscan),
                detector=detector,
                prescan=Section(0, height, 0, prescan) if prescan else None,
            )
        )
    return result
