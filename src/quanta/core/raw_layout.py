"""The amplifiers of one raw image HDU, read from its section keywords, plain or suffixed.

An HDU holding one amplifier, named by its ``EXTNAME``, carries ``DATASEC``, ``BIASSEC``,
optional ``PRESEC`` and ``DETSEC``. An HDU holding several (DECam, MegaPrime) carries
them once per amplifier with a one-letter suffix (``DATASECA``, ``DETSECB``...): each
letter is an amplifier named ``<EXTNAME><letter>`` (the bare letter without ``EXTNAME``),
in letter order, and needs its ``DETSEC<letter>``. Where ``CCDSEC`` (or ``CCDSEC<letter>``)
is given, it is the amplifier's place in the detector and ``DETSEC`` its place in the
whole focal plane (DECam): then ``CCDSEC`` plays ``DETSEC``'s part everywhere below, and
the ``DETSEC`` value is only kept in the amplifier's header, as ``DETSEC``; either every
amplifier of the HDU has its ``CCDSEC<letter>`` or none has. For ``DATASEC``,
``BIASSEC`` and ``PRESEC``, either every amplifier has its suffixed keyword, or none has
and the plain keyword is split between them: the amplifiers must sit side by side (every
``DETSEC<letter>`` on the same rows) and, in the order of their ``DETSEC`` columns, take
consecutive pieces of it, as wide as their ``DETSEC`` (``DATASEC``) or of equal widths
(``BIASSEC``, ``PRESEC``). ``GAIN<letter>``, ``RDNOISE<letter>`` and ``SATURAT<letter>``
(keywords have eight characters at most) become that amplifier's ``GAIN``, ``RDNOISE``
and ``SATURATE``, the keywords ISR reads. Every section must lie within the HDU's array,
imaging pixels must have their ``DETSEC``'s size, and no two sections of the HDU's
amplifiers, nor two of their detector sections, may overlap. A vendor's spelling stands
for a standard keyword the header lacks (MegaPrime's ``DSECA``, ``BSECA``, ``CSECA`` for
``DATASECA``, ``BIASSECA``, ``CCDSECA``), and a section of ``[0:0,0:0]`` means none.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from typing import Any

from .raw import AmpGeometry, Section

#: Section keyword -> ``AmpGeometry`` attribute, in the order they are written.
SECTIONS = {"DATASEC": "data", "BIASSEC": "overscan", "PRESEC": "prescan", "DETSEC": "detector"}
#: Values an amplifier sharing an HDU gives as ``<keyword, 7 characters at most><letter>``.
PER_AMP_VALUES = ("GAIN", "RDNOISE", "SATURATE")
_REQUIRED = ("DATASEC", "BIASSEC", "DETSEC")
_PIXEL_SECTIONS = ("DATASEC", "BIASSEC", "PRESEC")
#: The amplifier's place in the detector when ``DETSEC`` places it in the focal plane.
CCD_SECTION = "CCDSEC"
#: Where an amplifier whose detector section is its ``CCDSEC`` keeps its focal-plane section.
FOCAL_PLANE = "DETSEC"
_SUFFIXED = re.compile(r"^(DATASEC|BIASSEC|PRESEC|DETSEC|CCDSEC)([A-Z])$")
#: Vendor spellings of per-amplifier sections (CFHT's Elixir: MegaPrime), read as the
#: standard keyword when that is absent.
VENDOR_SECTIONS = {"DSEC": "DATASEC", "BSEC": "BIASSEC", "CSEC": CCD_SECTION}
_VENDOR = re.compile(r"^(DSEC|BSEC|CSEC)([A-Z])$")
#: A section value meaning "none" (MegaPrime's BIASSEC beside BSECA and BSECB).
EMPTY_SECTION = "[0:0,0:0]"
#: Keywords astropy writes from the data and the HDU itself; never part of a header dict.
_STRUCTURAL = re.compile(
    r"^(SIMPLE|BITPIX|NAXIS\d*|EXTEND|XTENSION|PCOUNT|GCOUNT|EXTNAME|BSCALE|BZERO|BLANK"
    r"|CHECKSUM|DATASUM|COMMENT|HISTORY|)$"
)
#: A section with the keyword it came from, for error messages.
Labelled = tuple[str, Section]


def is_reserved(key: str) -> bool:
    """True for keywords written from the data and geometry, never from a header dict."""
    return bool(
        _STRUCTURAL.match(key) or key in SECTIONS or key == CCD_SECTION or _SUFFIXED.match(key)
    )


def has_sections(header: Mapping[str, Any]) -> bool:
    """True when an HDU's header gives amplifier sections, plain, suffixed or in a
    vendor's spelling."""
    return any(
        key in SECTIONS or key == CCD_SECTION or _SUFFIXED.match(key) or _VENDOR.match(key)
        for key in header
    )


def standard_sections(header: Mapping[str, Any]) -> dict[str, Any]:
    """The header with vendor-spelled sections under their standard names (where those
    are not given) and without sections that say "none" (``[0:0,0:0]``)."""
    values = {
        key: value
        for key, value in header.items()
        if not (str(value).strip() == EMPTY_SECTION and _is_section(key))
    }
    for key, value in header.items():
        if (match := _VENDOR.match(key)) and str(value).strip() != EMPTY_SECTION:
            values.setdefault(VENDOR_SECTIONS[match.group(1)] + match.group(2), value)
    return values


def section_cards(header: Mapping[str, Any]) -> dict[str, Any]:
    """Only the section keywords of a header: all that amplifier geometry needs, read
    without parsing the value of every other card (most of a raw's header)."""
    return {key: header[key] for key in header if _is_section(key)}


def _is_section(key: str) -> bool:
    return bool(key in SECTIONS or key == CCD_SECTION or _SUFFIXED.match(key) or _VENDOR.match(key))


def header_dict(header: Any) -> dict[str, Any]:
    """A FITS header as a plain dict, without structural, commentary or section keywords."""
    return {key: value for key, value in header.items() if not is_reserved(key)}


def amp_layouts(
    header: Mapping[str, Any], name: str | None, shape: tuple[int, int]
) -> list[tuple[AmpGeometry, dict[str, Any]]]:
    """Each amplifier of an HDU (its header, EXTNAME and array shape): geometry and own
    header; ``ValueError`` names the keyword at fault."""
    header = standard_sections(header)
    own = header_dict(header)
    letters = sorted({m.group(2) for key in header if (m := _SUFFIXED.match(key))})
    if not letters:
        if not name:
            raise ValueError("no EXTNAME (amplifier name)")
        in_ccd = CCD_SECTION in header
        pixels = [k for k in SECTIONS if k != "DETSEC" and (k in header or k in _REQUIRED)]
        sections = {k: _labelled(header, k) for k in pixels}
        sections["DETSEC"] = _labelled(header, CCD_SECTION if in_ccd else "DETSEC")
        amps = {name: sections}
        headers = {name: {**own, **_focal_plane(header, "DETSEC", in_ccd)}}
    else:
        by_letter = _suffixed(header, letters)
        amps = {f"{name or ''}{letter}": by_letter[letter] for letter in letters}
        used = {f"{stem[:7]}{letter}" for stem in PER_AMP_VALUES for letter in letters}
        shared = {k: v for k, v in own.items() if k not in used}
        in_ccd = any(f"{CCD_SECTION}{letter}" in header for letter in letters)
        headers = {
            f"{name or ''}{letter}": {
                **shared,
                **_per_amp_values(header, letter),
                **_focal_plane(header, f"DETSEC{letter}", in_ccd),
            }
            for letter in letters
        }
    _check(amps, shape)
    return [(_geometry(amp, sections), headers[amp]) for amp, sections in amps.items()]


def _labelled(header: Mapping[str, Any], keyword: str) -> Labelled:
    """The section ``keyword`` holds, parsed."""
    text = header.get(keyword)
    if text is None:
        raise ValueError(f"no {keyword} keyword")
    try:
        return keyword, Section.parse(str(text))
    except ValueError as err:
        raise ValueError(f"{keyword}: {err}") from None


def _suffixed(header: Mapping[str, Any], letters: list[str]) -> dict[str, dict[str, Labelled]]:
    """Each letter's sections, from its suffixed keywords or pieces of the plain ones."""
    in_ccd = [letter for letter in letters if f"{CCD_SECTION}{letter}" in header]
    if in_ccd and len(in_ccd) < len(letters):
        lacking = next(letter for letter in letters if letter not in in_ccd)
        raise ValueError(f"{CCD_SECTION}{in_ccd[0]} is given but not {CCD_SECTION}{lacking}")
    stem = CCD_SECTION if in_ccd else "DETSEC"
    detectors: dict[str, Labelled] = {}
    for letter in letters:
        if f"{stem}{letter}" not in header:
            given = next(f"{k}{letter}" for k in _PIXEL_SECTIONS if f"{k}{letter}" in header)
            raise ValueError(f"{given} is given but not DETSEC{letter}")
        detectors[letter] = _labelled(header, f"{stem}{letter}")
    result: dict[str, dict[str, Labelled]] = {
        letter: {"DETSEC": detectors[letter]} for letter in letters
    }
    for keyword in _PIXEL_SECTIONS:
        present = [letter for letter in letters if f"{keyword}{letter}" in header]
        if present:
            missing = [letter for letter in letters if letter not in present]
            if missing:
                raise ValueError(f"{keyword}{present[0]} is given but not {keyword}{missing[0]}")
            pieces = {letter: _labelled(header, f"{keyword}{letter}") for letter in letters}
        elif keyword in header:
            pieces = _split(keyword, _labelled(header, keyword)[1], detectors)
        elif keyword in _REQUIRED:
            raise ValueError(
                f"no {keyword}{letters[0]}, nor a {keyword} to split between the amplifiers"
            )
        else:
            continue
        for letter, piece in pieces.items():
            result[letter][keyword] = piece
    return result


def _split(keyword: str, whole: Section, detectors: Mapping[str, Labelled]) -> dict[str, Labelled]:
    """A plain section cut into consecutive column ranges, one per amplifier in the order
    of their ``DETSEC`` columns."""
    text = whole.to_fits()
    if len({(d.y0, d.y1) for _, d in detectors.values()}) > 1:
        raise ValueError(
            f"{keyword} {text} cannot be split between amplifiers that are not side by side "
            "(their DETSECs are on different rows); give one per amplifier"
        )
    order = sorted(detectors, key=lambda letter: detectors[letter][1].x0)
    count, width = len(order), whole.shape[1]
    if keyword == "DATASEC":
        widths = [detectors[letter][1].shape[1] for letter in order]
        if sum(widths) != width:
            raise ValueError(
                f"DATASEC {text} is {width} columns wide but the amplifiers' DETSECs "
                f"are {sum(widths)}"
            )
    elif width % count:
        raise ValueError(
            f"{keyword} {text} ({width} columns) cannot be split equally between "
            f"{count} amplifiers; give one per amplifier"
        )
    else:
        widths = [width // count] * count
    starts = itertools.accumulate(widths, initial=whole.x0)
    return {
        letter: (
            f"{keyword}{letter} (split from {keyword})",
            Section(whole.y0, whole.y1, x0, x0 + w),
        )
        for letter, x0, w in zip(order, starts, widths, strict=False)
    }


def _focal_plane(header: Mapping[str, Any], keyword: str, in_ccd: bool) -> dict[str, Any]:
    """``{"DETSEC": value}`` of ``keyword`` when ``CCDSEC`` gives the detector section and
    ``DETSEC`` is only the amplifier's place in the focal plane; else nothing."""
    if not in_ccd or keyword not in header:
        return {}
    return {FOCAL_PLANE: header[keyword]}


def _per_amp_values(header: Mapping[str, Any], letter: str) -> dict[str, Any]:
    """One amplifier's ``GAIN``, ``RDNOISE`` and ``SATURATE`` from their suffixed keywords."""
    keys = {stem: f"{stem[:7]}{letter}" for stem in PER_AMP_VALUES}
    return {stem: header[key] for stem, key in keys.items() if key in header}


def _check(amps: Mapping[str, Mapping[str, Labelled]], shape: tuple[int, int]) -> None:
    """Sections within the array, imaging pixels the size of their DETSEC, no overlaps."""
    rows, columns = shape
    pixels: list[Labelled] = []
    for sections in amps.values():
        data, detector = sections["DATASEC"], sections["DETSEC"]
        if data[1].shape != detector[1].shape:
            raise ValueError(
                f"{_show(data)} is {_size(data[1])} pixels but {_show(detector)} is "
                f"{_size(detector[1])}"
            )
        for keyword in _PIXEL_SECTIONS:
            if keyword in sections:
                label, section = sections[keyword]
                if section.x0 < 0 or section.y0 < 0 or section.x1 > columns or section.y1 > rows:
                    raise ValueError(
                        f"{_show(sections[keyword])} falls outside the {columns}x{rows} array "
                        "(NAXIS1 x NAXIS2)"
                    )
                pixels.append((label, section))
    detectors = [sections["DETSEC"] for sections in amps.values()]
    for group in (pixels, detectors):
        for first, second in itertools.combinations(group, 2):
            if _overlap(first[1], second[1]):
                raise ValueError(f"{_show(first)} overlaps {_show(second)}")


def _overlap(a: Section, b: Section) -> bool:
    return a.y0 < b.y1 and b.y0 < a.y1 and a.x0 < b.x1 and b.x0 < a.x1


def _show(labelled: Labelled) -> str:
    return f"{labelled[0]} {labelled[1].to_fits()}"


def _size(section: Section) -> str:
    return f"{section.shape[1]}x{section.shape[0]}"


def _geometry(name: str, sections: Mapping[str, Labelled]) -> AmpGeometry:
    prescan = sections.get("PRESEC")
    return AmpGeometry(
        name,
        sections["DATASEC"][1],
        sections["BIASSEC"][1],
        sections["DETSEC"][1],
        None if prescan is None else prescan[1],
    )
