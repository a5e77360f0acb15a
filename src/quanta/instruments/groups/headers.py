"""Raw header values for rules that group by a keyword the exposure records lack."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ...core.errors import CollectionNotFoundError, DatasetTypeNotFoundError, DatastoreError
from ...core.records import DimensionRecord
from ..headers import read_primary_header
from ..ingest import raw_run

if TYPE_CHECKING:
    from ...butler import Butler


def raw_headers(
    butler: Butler, instrument: str, exposures: Sequence[DimensionRecord], keywords: Sequence[str]
) -> dict[int, dict[str, Any]]:
    """The ``keywords`` found in the primary header of each exposure's raw (that of its
    lowest-numbered detector) in the instrument's raw run; exposures without a raw file
    there are absent."""
    wanted = {e.id for e in exposures}
    if not wanted or not keywords:
        return {}
    try:
        refs = butler.query_datasets("raw", raw_run(instrument), data_id={"instrument": instrument})
    except (CollectionNotFoundError, DatasetTypeNotFoundError):
        return {}
    first: dict[int, Any] = {}
    for ref in refs:
        exposure, detector = int(ref.data_id["exposure"]), int(ref.data_id["detector"])
        if exposure in wanted and (
            exposure not in first or detector < first[exposure].data_id["detector"]
        ):
            first[exposure] = ref
    files = butler.registry.get_files([ref.id for ref in first.values()])
    headers: dict[int, dict[str, Any]] = {}
    for exposure, ref in first.items():
        stored = files.get(ref.id)
        if stored is None:
            continue
        path = butler.datastore.path(stored)
        try:
            header = read_primary_header(path)
        except DatastoreError as err:
            raise DatastoreError(
                f"cannot read the raw of exposure {exposure}, {path}: {err}"
            ) from err
        headers[exposure] = {k: header[k] for k in keywords if k in header}
    return headers
