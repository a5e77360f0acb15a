"""A raw's own amplifier geometry against its camera file's: where they disagree.

ISR always uses the sections the raw carries; a camera file says what they should be.
Ingest compares the two and reports each difference in one line (a warning: the raw is
still ingested), so a controller writing new sections, or a camera file describing
another readout mode, is noticed before calibrations are built on it.

An amplifier of the raw matches the camera file's amplifier of the same name, or of its
name without the HDU's ``EXTNAME`` (``S1A`` in the raw is ``A`` in a layout shared by
every CCD).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.raw import AmpGeometry, Section
from .base import AmplifierInfo, DetectorInfo

#: The sections compared, by the camera file field that gives each.
FIELDS = ("data", "overscan", "prescan", "detector")


def geometry_differences(
    raw: Sequence[tuple[str | None, AmpGeometry]], detector: DetectorInfo
) -> list[str]:
    """Each way the raw's amplifiers (with their HDU's ``EXTNAME``) differ from the camera
    file's for this detector; empty when they agree."""
    expected = {amp.geometry.name: amp for amp in detector.amplifiers}
    seen: set[str] = set()
    differences = []
    for extname, geometry in raw:
        name = _camera_name(geometry.name, extname, expected)
        if name is None:
            differences.append(
                f"amplifier {geometry.name} is not in the camera file's detector "
                f"{detector.full_name} (amplifiers {', '.join(expected)})"
            )
            continue
        seen.add(name)
        differences += _sections(geometry, expected[name])
    missing = [name for name in expected if name not in seen]
    if missing:
        differences.append(f"the raw has no amplifier {', '.join(missing)} of the camera file")
    return differences


def _camera_name(name: str, extname: str | None, expected: dict[str, AmplifierInfo]) -> str | None:
    """The camera file's name for a raw amplifier, if it has one."""
    if name in expected:
        return name
    if extname and name.startswith(extname) and name[len(extname) :] in expected:
        return name[len(extname) :]
    return None


def _sections(raw: AmpGeometry, camera: AmplifierInfo) -> list[str]:
    """One line per section of an amplifier that differs."""
    lines = []
    for field in FIELDS:
        mine: Section | None = getattr(raw, field)
        theirs: Section | None = getattr(camera.geometry, field)
        if mine != theirs:
            lines.append(
                f"amplifier {raw.name}: {field} section {_text(mine)} in the raw, "
                f"{_text(theirs)} in the camera file"
            )
    return lines


def _text(section: Section | None) -> str:
    return "none" if section is None else section.to_fits()
