"""Legacy data IDs in quanta's dimensions, and legacy Python types as storage classes.

``ccd`` becomes ``detector`` and ``visit`` becomes ``exposure`` (for exposure-level types
such as ``raw``) or ``visit``, both through what the raws' headers said; ``filter``
becomes ``physical_filter`` (``NONE`` or empty: no filter). Keys that only described the
exposure (``field``, ``dateObs``, ``pointing``...) and ``calibDate`` (the RUN's name now)
are dropped.
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


@dataclass
class KeyMap:
    """What legacy numbers mean in quanta, learnt from the raws: each ccd's detector and
    each visit's exposure, with the files that said so (to name a contradiction)."""

    instrument: str
    detector_of_ccd: dict[int, int] = field(default_factory=dict)
    exposure_of_visit: dict[int, int] = field(default_factory=dict)
    witness: dict[tuple[str, int], str] = field(default_factory=dict)

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
