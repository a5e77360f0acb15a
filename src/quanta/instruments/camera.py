"""Camera definitions as data: a YAML file of detectors, amplifiers and filters.

A camera file names the instrument, its filters with their bands, and its detectors,
each with its amplifiers: where each amplifier's imaging, prescan and overscan pixels are
in the raw HDU (FITS sections, 1-based and inclusive), where its imaging pixels go in
the assembled detector (a range written high-to-low, or a ``readout_corner``, means the
amplifier is read out flipped along that axis), and its nominal gain, read noise,
saturation and linearity limit. Detectors that share an amplifier layout name it once
under ``amplifier_layouts``. Loading checks the file whole and names the file, line and
field of the first problem.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..core.errors import ConfigError
from ..core.raw import AmpGeometry, Section
from ..core.yaml_io import config_error, load_yaml
from .base import AmplifierInfo, DetectorInfo, instrument_records, register_records

if TYPE_CHECKING:
    from ..butler import Butler

#: Which axes a readout corner flips: (flip_y, flip_x); LL is read out as stored.
READOUT_CORNERS = {
    "LL": (False, False),
    "LR": (False, True),
    "UL": (True, False),
    "UR": (True, True),
}
#: Where the camera files shipped with quanta are.
SHIPPED_CAMERAS = Path(__file__).parent / "cameras"
#: Where a repository keeps the camera files registered into it, one ``<name>.yaml`` each.
REPO_CAMERAS = "cameras"


@dataclass(frozen=True)
class Camera:
    """A camera as its file defines it: name, header translator, filters and detectors."""

    name: str
    filters: Mapping[str, str | None]
    detectors: tuple[DetectorInfo, ...]
    translator: str | None = None

    def detector(self, detector_id: int) -> DetectorInfo:
        """The detector with this id; ``KeyError`` if the camera has none."""
        for info in self.detectors:
            if info.id == detector_id:
                return info
        raise KeyError(detector_id)


def load_camera(path: str | Path) -> Camera:
    """Read and check a camera file; ``ConfigError`` naming file, line and field."""
    data = load_yaml(path)
    model = _parse(path, data)
    layouts = {
        name: _amplifiers(path, data, ("amplifier_layouts", name), amps)
        for name, amps in model.amplifier_layouts.items()
    }
    detectors: list[DetectorInfo] = []
    seen_ids: dict[int, int] = {}
    seen_names: dict[str, int] = {}
    for index, det in enumerate(model.detectors):
        where = ("detectors", index)
        if det.id in seen_ids:
            raise config_error(path, data, (*where, "id"), f"detector id {det.id} repeats")
        if det.name in seen_names:
            raise config_error(path, data, (*where, "name"), f"detector name {det.name!r} repeats")
        seen_ids[det.id], seen_names[det.name] = index, index
        if (det.amplifiers is None) == (det.layout is None):
            raise config_error(
                path, data, where, f"detector {det.name!r}: give either amplifiers or layout"
            )
        if det.layout is not None:
            if det.layout not in layouts:
                known = ", ".join(layouts) or "none defined"
                raise config_error(
                    path,
                    data,
                    (*where, "layout"),
                    f"detector {det.name!r}: unknown amplifier layout {det.layout!r}; "
                    f"amplifier_layouts: {known}",
                )
            amps = layouts[det.layout]
        else:
            amps = _amplifiers(path, data, (*where, "amplifiers"), det.amplifiers or [])
        detectors.append(DetectorInfo(det.id, det.name, amps, det.type, det.serial))
    filters: dict[str, str | None] = {}
    for index, item in enumerate(model.filters):
        if item.name in filters:
            raise config_error(path, data, ("filters", index), f"filter {item.name!r} repeats")
        filters[item.name] = item.band
    ordered = tuple(sorted(detectors, key=lambda d: d.id))
    return Camera(model.name, filters, ordered, model.translator)


def register_camera(butler: Butler, path: str | Path) -> tuple[Camera, int]:
    """Check a camera file, write its instrument, band, filter and detector records, and
    keep a copy as ``cameras/<name>.yaml`` in the repository; returns the camera and how
    many records were new. A file whose records differ from those already registered is
    refused and changes nothing."""
    camera = load_camera(path)
    text = Path(path).read_text()
    target = butler.root / REPO_CAMERAS / f"{camera.name}.yaml"
    target.parent.mkdir(exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text)
        records = instrument_records(
            camera.name, f"camera:{REPO_CAMERAS}/{target.name}", camera.filters, camera.detectors
        )
        new = register_records(butler, records)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return camera, new


def repo_cameras(butler: Butler) -> list[Path]:
    """The camera files of the instruments registered in the repository from one."""
    prefix = f"camera:{REPO_CAMERAS}/"
    return [
        butler.root / REPO_CAMERAS / record.class_name[len(prefix) :]
        for record in butler.query_dimension_records("instrument")
        if str(record.class_name or "").startswith(prefix)
    ]


def shipped_camera(name: str) -> Camera:
    """A camera file that ships with quanta (``SimCam``)."""
    return load_camera(SHIPPED_CAMERAS / f"{name.lower()}.yaml")


def _amplifiers(
    path: str | Path, data: Any, where: tuple[Any, ...], amps: Sequence[Any]
) -> tuple[AmplifierInfo, ...]:
    """Checked amplifiers of one detector (or layout): sections parse, imaging pixels fit
    their place in the detector, no two sections of an amplifier overlap, and no two
    amplifiers land on the same detector pixels."""
    if not amps:
        raise config_error(path, data, where, "a detector needs at least one amplifier")
    result: list[AmplifierInfo] = []
    names: set[str] = set()
    for index, amp in enumerate(amps):
        at = (*where, index)
        if amp.name in names:
            raise config_error(path, data, (*at, "name"), f"amplifier name {amp.name!r} repeats")
        names.add(amp.name)
        sections = {
            field: _section(path, data, (*at, field), text)
            for field, text in (
                ("data", amp.data),
                ("overscan", amp.overscan),
                ("prescan", amp.prescan),
                ("detector", amp.detector),
            )
            if text is not None
        }
        detector = _oriented(path, data, at, sections["detector"], amp.readout_corner)
        if sections["data"].shape != detector.shape:
            raise config_error(
                path,
                data,
                (*at, "detector"),
                f"amplifier {amp.name!r}: its detector section {amp.detector} is "
                f"{_size(detector)} but its data section {amp.data} is {_size(sections['data'])}",
            )
        raw = [(f, s) for f, s in sections.items() if f != "detector"]
        for i, (first, a) in enumerate(raw):
            for second, b in raw[i + 1 :]:
                if _overlap(a, b):
                    raise config_error(
                        path,
                        data,
                        (*at, second),
                        f"amplifier {amp.name!r}: sections {first} and {second} overlap",
                    )
        for other in result:
            if _overlap(other.geometry.detector, detector):
                raise config_error(
                    path,
                    data,
                    (*at, "detector"),
                    f"amplifiers {other.geometry.name!r} and {amp.name!r} cover the same "
                    "detector pixels",
                )
        geometry = AmpGeometry(
            amp.name, sections["data"], sections["overscan"], detector, sections.get("prescan")
        )
        result.append(
            AmplifierInfo(geometry, amp.gain, amp.read_noise, amp.saturation, amp.linearity_limit)
        )
    return tuple(result)


def _section(path: str | Path, data: Any, at: tuple[Any, ...], text: str) -> Section:
    try:
        return Section.parse(text)
    except ValueError as err:
        raise config_error(path, data, at, str(err)) from None


def _oriented(
    path: str | Path, data: Any, at: tuple[Any, ...], section: Section, corner: str | None
) -> Section:
    """The detector section with the flips of ``readout_corner`` (which must agree with a
    section written high-to-low)."""
    if corner is None:
        return section
    flip_y, flip_x = READOUT_CORNERS[corner]
    if (section.flip_y or section.flip_x) and (section.flip_y, section.flip_x) != (
        flip_y,
        flip_x,
    ):
        raise config_error(
            path,
            data,
            (*at, "readout_corner"),
            f"readout corner {corner} disagrees with the flips of detector section "
            f"{section.to_fits()}",
        )
    return Section(section.y0, section.y1, section.x0, section.x1, flip_y, flip_x)


def _overlap(a: Section, b: Section) -> bool:
    return a.y0 < b.y1 and b.y0 < a.y1 and a.x0 < b.x1 and b.x0 < a.x1


def _size(section: Section) -> str:
    rows, columns = section.shape
    return f"{columns} x {rows} pixels"


def _parse(path: str | Path, data: Any) -> Any:
    """The file validated against the camera model; the first error names its field."""
    from pydantic import ValidationError

    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a camera file is a mapping with name, filters and detectors")
    try:
        return _model().model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        location = tuple(first["loc"])
        field = ".".join(map(str, location)) or "(top level)"
        raise config_error(path, data, location, f"{field}: {first['msg']}") from None


def _model() -> Any:
    """The pydantic model of a camera file, made on first use (pydantic loads then)."""
    from pydantic import BaseModel, ConfigDict, Field

    class Strict(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

    class Amplifier(Strict):
        name: str = Field(min_length=1, max_length=32)
        data: str
        overscan: str
        prescan: str | None = None
        detector: str
        readout_corner: Literal["LL", "LR", "UL", "UR"] | None = None
        gain: float | None = Field(None, gt=0)
        read_noise: float | None = Field(None, ge=0)
        saturation: float | None = Field(None, gt=0)
        linearity_limit: float | None = Field(None, gt=0)

    class Detector(Strict):
        id: int = Field(ge=0)
        name: str = Field(min_length=1, max_length=64)
        serial: str | None = None
        type: Literal["SCIENCE", "WAVEFRONT", "GUIDER", "FOCUS"] = "SCIENCE"
        amplifiers: list[Amplifier] | None = None
        layout: str | None = None

    class Filter(Strict):
        name: str = Field(min_length=1, max_length=64)
        band: str | None = None

    class CameraFile(Strict):
        name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]*$", max_length=64)
        translator: str | None = None
        filters: list[Filter] = Field(min_length=1)
        amplifier_layouts: dict[str, list[Amplifier]] = Field(default_factory=dict)
        detectors: list[Detector] = Field(min_length=1)

    return CameraFile
