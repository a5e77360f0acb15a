"""Per-exposure statistics of ISR'd images: the median signal of each amplifier.

``ExposureStatsTask`` reads each ISR'd image once and writes a small table, one row per
amplifier, that pairing rules read instead of headers: flats whose measured signals
agree are paired even when their lamp drifted (``quanta.core.pairing``). The table also
carries the exposure time and the photodiode charge (``PHOTODIO``) when the raw had one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from ..core.errors import ConfigError
from ..pipe import Input, Output, PipelineTask, PipelineTaskConfig
from ..pipe import PipelineTaskConnections as Connections
from ..pipe.quantum_io import QuantumIO
from . import headers as hdr
from .algorithms import MaskBit
from .rows import planes

if TYPE_CHECKING:
    import pyarrow as pa

    from ..core.image import Image

EXPOSURE = ("instrument", "detector", "exposure")
#: The header keyword of the photodiode's integrated charge.
PHOTODIODE = "PHOTODIO"


class ExposureStatsConfig(PipelineTaskConfig):
    """Which pixels the medians use."""

    bad_mask: list[str] = Field(
        default_factory=lambda: ["SAT", "BAD"], description="Mask bits of pixels left out."
    )


class ExposureStatsConnections(Connections, dimensions=EXPOSURE):
    """An ISR'd image in; its statistics table out."""

    image = Input("postISRCCD", "Image", EXPOSURE, doc="An ISR'd image.")
    stats = Output("flatStats", "ArrowTable", EXPOSURE, doc="Median signal per amplifier.")


def exposure_stats(image: Image, exposure: int, bad_bits: int) -> pa.Table:
    """One row per amplifier (``AMPSEC`` order): the median of its unmasked pixels (null
    when all are masked), with the exposure id, exposure time and photodiode charge."""
    import pyarrow as pa

    sections = hdr.amp_sections(image.header)
    if not sections:
        raise ValueError("the image has no AMPSEC cards; run it through IsrTask first")
    pixels, mask, _ = planes(image)
    medians: list[float | None] = []
    for section in sections.values():
        good = pixels[section.slices][(mask[section.slices] & bad_bits) == 0]
        medians.append(float(np.median(good)) if good.size else None)
    count = len(sections)
    return pa.table(
        {
            "amp": pa.array(list(sections), pa.string()),
            "exposure": pa.array([exposure] * count, pa.int64()),
            "median": pa.array(medians, pa.float64()),
            "exposure_time": pa.array([_number(image.header, "EXPTIME")] * count, pa.float64()),
            "photodiode": pa.array([_number(image.header, PHOTODIODE)] * count, pa.float64()),
        }
    )


def signal_of(table: pa.Table) -> float | None:
    """An exposure's signal: the mean of its amplifiers' medians (None if none measured)."""
    values = [v for v in table.column("median").to_pylist() if v is not None]
    return float(np.mean(values)) if values else None


def photodiode_of(table: pa.Table) -> float | None:
    """An exposure's photodiode charge, None without one."""
    values = table.column("photodiode").to_pylist()
    return None if not values or values[0] is None else float(values[0])


def _number(header: Mapping[str, Any], key: str) -> float | None:
    value = header.get(key)
    return None if value is None else float(value)


class ExposureStatsTask(PipelineTask):
    """``flatStats``: the median signal of each amplifier of one ISR'd exposure."""

    ConfigClass = ExposureStatsConfig
    ConnectionsClass = ExposureStatsConnections
    config: ExposureStatsConfig

    def run_quantum(self, qio: QuantumIO) -> None:
        """Read the image once, write its table."""
        image = qio.get("image")
        exposure = int(qio.data_id["exposure"])
        qio.put(self.run(image, exposure)["stats"], "stats")

    def run(self, image: Image, exposure: int) -> dict[str, pa.Table]:  # type: ignore[override]
        """The statistics table of one image."""
        bits = 0
        for name in self.config.bad_mask:
            if name not in MaskBit.__members__:
                valid = ", ".join(MaskBit.__members__)
                raise ConfigError(f"flatStats: unknown mask bit {name!r}; valid: {valid}")
            bits |= MaskBit[name]
        return {"stats": exposure_stats(image, exposure, bits)}


def exposure_values(tables: Sequence[pa.Table], what: str) -> dict[int, float | None]:
    """Each table's exposure and its ``what`` (``signal`` or ``photodiode``)."""
    read = signal_of if what == "signal" else photodiode_of
    return {int(t.column("exposure")[0].as_py()): read(t) for t in tables}
