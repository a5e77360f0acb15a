"""Legacy data IDs in quanta's dimensions, and legacy Python types as storage classes.

``ccd`` becomes ``detector`` and ``visit`` becomes ``exposure`` (for exposure-level types
such as ``raw``) or ``visit``, both through what the raws' headers said; ``filter``
becomes ``physical_filter`` (``NONE`` or empty: no filter), or ``band`` in coadd data IDs
(those with a ``tract``), whose ``tract`` and ``patch`` (``"x,y"`` or an index) belong to
the skymap the conversion is given. Keys that only described the exposure (``field``,
``dateObs``, ``pointing``...) and ``calibDate`` (the RUN's name now) are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .templates import DataId

#: Dataset types whose legacy ``visit`` is one exposure, unless registered otherwise.
EXPOSURE_LEVEL = ("raw", "postISRCCD")
#: Legacy keys that described the exposure or the calibration, not the dataset.
DESCRIPTIVE = frozenset(
    {"field", "dateObs", "pointing", "taiObs", "expTime", "expId", "frameId", "dataType"}
    | {"proposal", "pa", "ccdTemp", "object", "date", "calibDate", "autoguider", "config"}
)
#: Filter names that mean "no filter" in a legacy data ID.
NO_FILTER = ("NONE", "")


@dataclass(frozen=True)
class SkyMap:
    """The skymap coadd data IDs belong to: its name and patches per row of a tract."""

    name: str
    patch_nx: int


@dataclass
class KeyMap:
    """What legacy numbers mean in quanta, learnt from the raws: each ccd's detector and
    each visit's exposure, with the files that said so (to name a contradiction); each
    physical filter's band, and the skymap of coadds (if any)."""

    instrument: str
    detector_of_ccd: dict[int, int] = field(default_factory=dict)
    exposure_of_visit: dict[int, int] = field(default_factory=dict)
    witness: dict[tuple[str, int], str] = field(default_factory=dict)
    band_of_filter: dict[str, str] = field(default_factory=dict)
    skymap: SkyMap | None = None

    def learn(self, path: str, ccd: int, visit: int, detector: int, exposure: int) -> list[str]:
        """Record what one raw's header said; the contradictions it shows, as lines."""
        problems = []
        for key, table, value in (
            ("ccd", self.detector_of_ccd, ccd),
            ("visit", self.exposure_of_visit, visit),
        ):
            new = detector if key == "ccd" else exposure
            old = table.setdefault(value, new)
            if old != new:
                problems.append(
                    f"{path}: {key} {value} is {new} by its header, but "
                    f"{old} by {self.witness[(key, value)]}"
                )
            self.witness.setdefault((key, value), path)
        return problems


def translate(
    data_id: DataId, keys: KeyMap, exposure_level: bool, skip: Iterable[str] = ()
) -> dict[str, int | str] | str:
    """The quanta data ID of a legacy one, or the reason there is none; the keys of
    ``skip`` (other registry columns) are dropped as descriptive."""
    dropped = DESCRIPTIVE | frozenset(skip)
    result: dict[str, int | str] = {"instrument": keys.instrument}
    if "tract" in data_id:
        return _coadd(data_id, keys, dropped)
    for key, value in data_id.items():
        if key == "ccd":
            if value not in keys.detector_of_ccd:
                return f"ccd {value} is the detector of no raw"
            result["detector"] = keys.detector_of_ccd[int(value)]
        elif key == "visit":
            if value not in keys.exposure_of_visit:
                return f"visit {value} is the exposure of no raw"
            result["exposure" if exposure_level else "visit"] = keys.exposure_of_visit[int(value)]
        elif key == "filter":
            if value not in NO_FILTER:
                result["physical_filter"] = value
        elif key not in dropped:
            return f"legacy key {key!r} has no quanta dimension"
    return result


def _coadd(data_id: DataId, keys: KeyMap, dropped: frozenset[str]) -> dict[str, int | str] | str:
    """A coadd's data ID: skymap, tract, patch index and band."""
    if keys.skymap is None:
        return "a coadd (tract) data ID needs the skymap it belongs to: give --skymap"
    result: dict[str, int | str] = {"skymap": keys.skymap.name, "tract": int(data_id["tract"])}
    for key, value in data_id.items():
        if key == "patch":
            index = patch_index(value, keys.skymap.patch_nx)
            if index is None:
                return f"patch {value!r} is neither 'x,y' nor an index"
            result["patch"] = index
        elif key == "filter":
            if value not in NO_FILTER:
                result["band"] = keys.band_of_filter.get(str(value), str(value))
        elif key not in dropped and key != "tract":
            return f"legacy key {key!r} has no quanta dimension in a coadd data ID"
    return result


def patch_index(value: int | str, patch_nx: int) -> int | None:
    """A legacy patch (``"x,y"`` or an index) as quanta's index ``y * patch_nx + x``.

    >>> patch_index("3,2", 10), patch_index(7, 10), patch_index("a,b", 10)
    (23, 7, None)
    """
    if isinstance(value, int):
        return value
    parts = value.split(",")
    if len(parts) == 1 and parts[0].strip().isdigit():
        return int(parts[0])
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        return None
    x, y = (int(p) for p in parts)
    return y * patch_nx + x if x < patch_nx else None


#: Legacy Python type prefixes -> the storage class their files become.
STORAGE_CLASS_OF_PYTHON: Mapping[str, str] = {
    "lsst.afw.image.Exposure": "Image",
    "lsst.afw.image.MaskedImage": "Image",
    "lsst.afw.image.DecoratedImage": "RawImage",
    "lsst.meas.algorithms.Defects": "ArrowTable",
    "lsst.afw.table.": "ArrowTable",
}


def storage_class_of(python_type: str) -> str | None:
    """The storage class of a legacy Python type, or ``None`` when quanta has none."""
    for prefix, storage_class in STORAGE_CLASS_OF_PYTHON.items():
        if python_type.startswith(prefix):
            return storage_class
    return None
