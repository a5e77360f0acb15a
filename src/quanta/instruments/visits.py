"""Visit definition: one visit per science exposure, with the same id."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..butler import Butler

#: Exposure fields a one-to-one visit copies.
VISIT_FIELDS = ("physical_filter", "day_obs", "exposure_time", "observation_type", "timespan")


def define_visits(
    butler: Butler,
    instrument: str | None = None,
    where: str | None = None,
    binds: Mapping[str, Any] | None = None,
) -> int:
    """Define a visit for every science exposure (of ``instrument``, matching ``where``)
    that has none: visit id = exposure id, name = obs_id, plus its ``visit_definition``
    row. Idempotent; returns how many visits are new."""
    data_id = None
    if instrument is not None:
        butler.registry.fetch_dimension_records("instrument", [{"instrument": instrument}])
        data_id = {"instrument": instrument}
    text = "exposure.observation_type = 'science'" + (f" AND ({where})" if where else "")
    exposures = butler.query_dimension_records("exposure", where=text, binds=binds, data_id=data_id)
    visits = [
        {
            "instrument": e.instrument,
            "id": e.id,
            "name": e.obs_id,
            **{name: e.values[name] for name in VISIT_FIELDS},
        }
        for e in exposures
    ]
    links = [{"instrument": e.instrument, "exposure": e.id, "visit": e.id} for e in exposures]
    with butler.registry.transaction():
        new = butler.insert_dimension_records("visit", visits)
        butler.registry.insert_join_rows("visit_definition", links)
    return new
