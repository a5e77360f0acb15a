"""Measured signals for rules that pair flats by them: read from ``flatStats`` datasets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ...core.errors import (
    CollectionNotFoundError,
    DatasetNotFoundError,
    DatasetTypeNotFoundError,
)

if TYPE_CHECKING:
    from ...butler import Butler

#: The dataset type of per-exposure statistics (``quanta.cp.exposure_stats``).
STATS_TYPE = "flatStats"


def measured_signals(
    butler: Butler, instrument: str, collections: Sequence[str]
) -> dict[int, float]:
    """Each exposure's signal: the mean of the median signals of its amplifiers over every
    detector with a ``flatStats`` in ``collections``; exposures fully masked are absent."""
    if not collections:
        raise DatasetNotFoundError(
            "pairing by signal reads flatStats: name the collection holding them (--stats)"
        )
    try:
        refs = butler.query_datasets(
            STATS_TYPE, list(collections), data_id={"instrument": instrument}
        )
    except (CollectionNotFoundError, DatasetTypeNotFoundError) as err:
        raise DatasetNotFoundError(f"no {STATS_TYPE} to pair by signal: {err}") from err
    if not refs:
        raise DatasetNotFoundError(
            f"no {STATS_TYPE} of {instrument} in {', '.join(collections)}; run the statistics "
            "step (IsrTask then ExposureStatsTask) into it first"
        )
    medians: dict[int, list[float]] = {}
    for ref in refs:
        values = butler.get(ref).column("median").to_pylist()
        exposure = int(ref.data_id["exposure"])
        medians.setdefault(exposure, []).extend(v for v in values if v is not None)
    return {e: sum(v) / len(v) for e, v in medians.items() if v}
