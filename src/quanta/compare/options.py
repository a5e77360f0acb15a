"""What a comparison tolerates and ignores: ``CompareOptions``.

Values are equal within tolerance when ``|a - b| <= atol + rtol * |b|`` (B is the
reference side, as in ``numpy.isclose``); both tolerances default to 0, an exact
comparison. Timing columns are ignored by default: their names match
``DEFAULT_IGNORE_COLUMNS`` (``exposure_time`` and ``dark_time`` do not: they are data).
"""

from __future__ import annotations

import fnmatch
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from quanta.core.implicit import LOG, METADATA

#: Table columns left out of the comparison by default: run times and wall-clock stamps,
#: which differ between any two runs (``deblend_runtime``, ``isr_seconds``,
#: ``timestamp_ns``, ``start_time``, ``end_mjd``...). ``*_time`` is deliberately absent, so
#: that ``exposure_time`` and ``dark_time`` are compared.
DEFAULT_IGNORE_COLUMNS = (
    "*runtime*",
    "*_seconds",
    "timestamp*",
    "*_timestamp",
    "start_*",
    "end_*",
)
#: Dataset types skipped unless named: the per-quantum logs and metadata, which hold
#: timings, hosts and memory use.
DEFAULT_SKIP_TYPES = (f"*{LOG}", f"*{METADATA}")
#: Sky coordinate columns (degrees) ``match_sky`` uses, in order of preference.
SKY_COLUMNS = (("ra", "dec"), ("coord_ra", "coord_dec"))


class CompareOptions(BaseModel):
    """Tolerances, ignored columns, how table rows are matched, and how much is listed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rtol: float = Field(default=0.0, ge=0, description="Relative tolerance (of the B value).")
    atol: float = Field(default=0.0, ge=0, description="Absolute tolerance.")
    ignore_columns: tuple[str, ...] = Field(
        default=DEFAULT_IGNORE_COLUMNS, description="Globs of table columns reported as ignored."
    )
    match_columns: tuple[str, ...] = Field(
        default=(), description="Key columns that match table rows (default: row order)."
    )
    match_sky: float | None = Field(
        default=None, gt=0, description="Match table rows by sky position within this many arcsec."
    )
    skip_types: tuple[str, ...] = Field(
        default=DEFAULT_SKIP_TYPES, description="Globs of dataset types skipped unless named."
    )
    max_listed: int = Field(
        default=50, ge=1, description="Most rows per column, paths or pixels listed per dataset."
    )

    @model_validator(mode="after")
    def _one_row_matching(self) -> CompareOptions:
        if self.match_columns and self.match_sky is not None:
            raise ValueError("match table rows by key columns or by sky position, not both")
        return self

    @property
    def exact(self) -> bool:
        """True when no tolerance is allowed."""
        return self.rtol == 0 and self.atol == 0

    def beyond(self, size: Any, reference: Any) -> Any:
        """Where ``size`` (``|B - A|``, a number or an array) exceeds the tolerance for the
        reference values B."""
        return size > self.atol + self.rtol * abs(reference)

    def ignores(self, column: str) -> bool:
        """True if ``column`` matches one of the ``ignore_columns`` globs (empty ones aside)."""
        return any(p and fnmatch.fnmatchcase(column, p) for p in self.ignore_columns)

    def skips(self, dataset_type: str) -> bool:
        """True if ``dataset_type`` is skipped when dataset types are not named."""
        return any(fnmatch.fnmatchcase(dataset_type, p) for p in self.skip_types)
