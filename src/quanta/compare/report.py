"""The comparison report: pydantic models, from one plane or column up to two collections.

Every difference is B - A. A value *differs* when it is outside the tolerance, and is
*unequal* when it is not exactly equal (NaN equals NaN, -0.0 equals 0.0); so a detail is
``identical`` with nothing unequal, ``within_tolerance`` with unequal values that all
lie within the tolerance, and ``different`` otherwise. The same models are written as
JSON (``--json``) and read back by ``CompareReport.model_validate_json``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from .options import CompareOptions

Status = Literal["identical", "within_tolerance", "different", "missing", "error"]
#: Statuses from the best to the worst; a summary takes the worst of its parts.
STATUSES: tuple[Status, ...] = ("identical", "within_tolerance", "different", "missing", "error")
#: Statuses that fail ``--fail-on-diff``.
FAILING: frozenset[Status] = frozenset({"different", "missing", "error"})


def worst(statuses: list[Status] | tuple[Status, ...]) -> Status:
    """The worst of ``statuses`` (``identical`` when there are none)."""
    return max(statuses, key=STATUSES.index, default="identical")


def _status(different: bool, unequal: bool) -> Status:
    return "different" if different else "within_tolerance" if unequal else "identical"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


class _Model(BaseModel):
    # NaN and infinity are written as the JSON extensions NaN/Infinity, as the JSON
    # formatter does, rather than silently becoming null.
    model_config = ConfigDict(ser_json_inf_nan="constants")


class Histogram(_Model):
    """Counts of the non-zero differences in bins (from a sample when ``stride`` > 1:
    every ``stride``-th difference was kept, and counts are multiplied by it)."""

    edges: list[float]
    counts: list[int]
    stride: int = 1


class Thumbnail(_Model):
    """Where a 2-d plane differs, coarsely: per block of ``block`` (rows, columns) pixels,
    the largest ``|B - A|`` (None for masks) and how many pixels differ."""

    block: list[int]
    max_abs: list[list[float]] | None = None
    n_differ: list[list[int]]


class PlaneDiff(_Model):
    """One array of an image (a plane or an amplifier), compared pixel by pixel.

    ``max_abs`` and ``max_rel`` (``|B - A| / max(|A|, |B|)``) are over the pixels finite
    on both sides, with their first location (row, column; any number of axes for a
    ``NumpyArray``); ``mean`` and ``spread`` (1.4826 x MAD) are of the non-zero
    differences. A NaN or infinity on one side only, or of another sign, is counted in
    ``n_nonfinite_mismatch`` and not in ``n_differ``. Masks are compared bit-exactly:
    ``bits`` counts the pixels in which each bit differs.
    """

    kind: Literal["plane"] = "plane"
    name: str
    shape_a: list[int]
    shape_b: list[int]
    dtype_a: str
    dtype_b: str
    n_total: int = 0
    n_unequal: int = 0
    n_differ: int = 0
    n_nonfinite_mismatch: int = 0
    max_abs: float = 0.0
    max_abs_at: list[int] | None = None
    max_rel: float = 0.0
    max_rel_at: list[int] | None = None
    mean: float | None = None
    spread: float | None = None
    differing_at: list[list[int]] = Field(
        default_factory=list, description="The first differing pixels, in storage order."
    )
    bits: dict[int, int] | None = None
    histogram: Histogram | None = None
    thumbnail: Thumbnail | None = Field(
        default=None, description="Where a 2-d plane with unequal values differs."
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> Status:
        different = (
            self.shape_a != self.shape_b
            or self.dtype_a != self.dtype_b
            or self.n_differ > 0
            or self.n_nonfinite_mismatch > 0
        )
        return _status(different, self.n_unequal > 0)

    def describe(self) -> str:
        """One line: what differs in this plane."""
        if self.shape_a != self.shape_b:
            return f"{self.name}: shape {tuple(self.shape_a)} in A, {tuple(self.shape_b)} in B"
        parts = [f"{self.name}: {self.n_differ} of {self.n_total} differ"]
        if self.dtype_a != self.dtype_b:
            parts.append(f"dtype {self.dtype_a} in A, {self.dtype_b} in B")
        if self.n_nonfinite_mismatch:
            parts.append(f"{self.n_nonfinite_mismatch} NaN/inf mismatches")
        if self.bits:
            parts.append("bits " + ", ".join(f"{b} ({n})" for b, n in sorted(self.bits.items())))
        elif self.n_unequal:
            parts.append(f"max |B-A| {_num(self.max_abs)} at {tuple(self.max_abs_at or ())}")
            parts.append(f"max rel {_num(self.max_rel)} at {tuple(self.max_rel_at or ())}")
        return ", ".join(parts)


class PathDiff(_Model):
    """One difference in structured data (or a header), at a path such as
    ``amps.C00.gain`` or ``means[3]``: a value, a type, a key on one side only, or a
    list length. Containers are shown by a short description."""

    path: str
    kind: Literal["value", "type", "only_in_a", "only_in_b", "length"]
    a: Any = None
    b: Any = None
    abs_diff: float | None = None
    rel_diff: float | None = None

    def describe(self) -> str:
        """One line: the path and both sides."""
        if self.kind == "only_in_a":
            return f"{self.path}: only in A ({self.a!r})"
        if self.kind == "only_in_b":
            return f"{self.path}: only in B ({self.b!r})"
        extra = f" (|B-A| {_num(self.abs_diff)})" if self.abs_diff is not None else ""
        return f"{self.path}: {self.kind} {self.a!r} in A, {self.b!r} in B{extra}"


class ImageDiff(_Model):
    """An ``Image``, ``RawImage`` or ``NumpyArray``: its planes, and header differences."""

    kind: Literal["image"] = "image"
    planes: list[PlaneDiff]
    header: list[PathDiff] = Field(default_factory=list)
    n_header_differ: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> Status:
        statuses = [p.status for p in self.planes]
        if self.n_header_differ:
            statuses.append("different")
        return worst(statuses)

    def describe(self) -> str:
        """One line per differing plane, and the header."""
        lines = [p.describe() for p in self.planes if p.status != "identical"]
        if self.n_header_differ:
            shown = "; ".join(d.describe() for d in self.header[:3])
            lines.append(f"header: {self.n_header_differ} difference(s): {shown}")
        return "; ".join(lines)


class ColumnDiff(_Model):
    """One table column over the matched rows. ``mean``, ``max_abs`` and ``spread``
    (1.4826 x MAD) are of the non-zero numeric differences (list columns: element by
    element); ``rows`` names the first differing rows (key values or row numbers)."""

    name: str
    type_a: str
    type_b: str
    n_compared: int
    n_unequal: int = 0
    n_differ: int = 0
    mean: float | None = None
    max_abs: float | None = None
    spread: float | None = None
    rows: list[str] = Field(default_factory=list)
    histogram: Histogram | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> Status:
        return _status(self.type_a != self.type_b or self.n_differ > 0, self.n_unequal > 0)

    def describe(self) -> str:
        """One line: counts, statistics and the first rows."""
        text = f"{self.name}: {self.n_differ} of {self.n_compared} rows differ"
        if self.type_a != self.type_b:
            text += f" (type {self.type_a} in A, {self.type_b} in B)"
        if self.max_abs is not None:
            text += (
                f", mean {_num(self.mean)}, max |B-A| {_num(self.max_abs)}, "
                f"spread {_num(self.spread)}"
            )
        if self.rows:
            text += f", rows {', '.join(self.rows[:5])}" + (" ..." if len(self.rows) > 5 else "")
        return text


class TableDiff(_Model):
    """An ``ArrowTable``: schema differences, row matching, and every compared column."""

    kind: Literal["table"] = "table"
    n_rows_a: int
    n_rows_b: int
    matched_by: str
    n_matched: int = 0
    n_only_in_a: int = 0
    n_only_in_b: int = 0
    rows_only_in_a: list[str] = Field(default_factory=list)
    rows_only_in_b: list[str] = Field(default_factory=list)
    columns_only_in_a: list[str] = Field(default_factory=list)
    columns_only_in_b: list[str] = Field(default_factory=list)
    ignored_columns: list[str] = Field(default_factory=list)
    columns: list[ColumnDiff] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> Status:
        shape = (
            self.n_only_in_a or self.n_only_in_b or self.columns_only_in_a or self.columns_only_in_b
        )
        return worst(["different" if shape else "identical", *(c.status for c in self.columns)])

    def column(self, name: str) -> ColumnDiff:
        """The comparison of column ``name``."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"no compared column {name!r}; compared: {[c.name for c in self.columns]}")

    def describe(self) -> str:
        """One line: schema, rows and differing columns."""
        parts = []
        if self.columns_only_in_a or self.columns_only_in_b:
            parts.append(
                f"columns only in A {self.columns_only_in_a}, only in B {self.columns_only_in_b}"
            )
        if self.n_only_in_a or self.n_only_in_b:
            parts.append(
                f"{self.n_only_in_a} row(s) only in A, {self.n_only_in_b} only in B "
                f"(matched by {self.matched_by})"
            )
        parts.extend(c.describe() for c in self.columns if c.status != "identical")
        return "; ".join(parts)


class StructuredDiff(_Model):
    """``StructuredData``: leaf values compared, and every difference by path (the first
    ``max_listed`` of ``n_paths``). Differences within tolerance are counted, not listed."""

    kind: Literal["structured"] = "structured"
    n_compared: int = 0
    n_unequal: int = 0
    n_paths: int = 0
    paths: list[PathDiff] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> Status:
        return _status(self.n_paths > 0, self.n_unequal > 0)

    def describe(self) -> str:
        """One line: how many paths differ and the first few."""
        shown = "; ".join(d.describe() for d in self.paths[:3])
        more = " ..." if self.n_paths > 3 else ""
        return f"{self.n_paths} path(s) differ: {shown}{more}"


class BytesDiff(_Model):
    """A ``Plot`` (PNG bytes): identical or not, and where the bytes first differ."""

    kind: Literal["bytes"] = "bytes"
    size_a: int
    size_b: int
    first_difference: int | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> Status:
        return "identical" if self.first_difference is None else "different"

    def describe(self) -> str:
        """One line: sizes and the first differing byte."""
        return (
            f"{self.size_a} bytes in A, {self.size_b} in B, first difference at byte "
            f"{self.first_difference}"
        )


Detail = Annotated[ImageDiff | TableDiff | StructuredDiff | BytesDiff, Field(discriminator="kind")]


class DatasetComparison(_Model):
    """One pair of datasets with the same data ID (the canonical key, free-form keys
    included): its status, an error message, or the comparison's detail."""

    data_id: str
    status: Status
    message: str | None = None
    detail: Detail | None = None

    def describe(self) -> str:
        """One line: the error or the detail."""
        if self.message is not None:
            return self.message
        return self.detail.describe() if self.detail is not None else ""


class DatasetTypeSummary(_Model):
    """One dataset type: the inventory of both sides and how the matched pairs compare.

    ``datasets`` holds only the pairs that are not identical (identical ones are counted);
    ``message`` says why a whole type could not be compared. When a side is an output
    chain (a CHAINED collection whose first child is a RUN), its datasets found in the
    other children are that run's inputs: ``n_inputs_a``/``n_inputs_b`` count them, and
    data IDs on one side only that are inputs are listed in ``inputs_only_in_a``/``_b``,
    not as missing.
    """

    name: str
    storage_class_a: str | None = None
    storage_class_b: str | None = None
    n_a: int = 0
    n_b: int = 0
    only_in_a: list[str] = Field(default_factory=list)
    only_in_b: list[str] = Field(default_factory=list)
    n_inputs_a: int = 0
    n_inputs_b: int = 0
    inputs_only_in_a: list[str] = Field(default_factory=list)
    inputs_only_in_b: list[str] = Field(default_factory=list)
    n_identical: int = 0
    n_within_tolerance: int = 0
    n_different: int = 0
    n_error: int = 0
    message: str | None = None
    datasets: list[DatasetComparison] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> Status:
        if self.message is not None:
            return "error"
        statuses: list[Status] = [d.status for d in self.datasets]
        if self.only_in_a or self.only_in_b:
            statuses.append("missing")
        return worst(statuses)

    @property
    def role(self) -> str:
        """``input`` when every dataset of both sides is a chain's input, ``output`` when
        none is, ``input in A`` or ``input in B`` when one side's all are, else ``mixed``."""
        all_a, all_b = self.n_inputs_a == self.n_a, self.n_inputs_b == self.n_b
        if self.n_inputs_a + self.n_inputs_b == 0:
            return "output"
        if all_a and all_b:
            return "input"
        if all_a and self.n_a and not self.n_inputs_b:
            return "input in A"
        if all_b and self.n_b and not self.n_inputs_a:
            return "input in B"
        return "mixed"

    def dataset(self, data_id: str) -> DatasetComparison:
        """The non-identical comparison of ``data_id`` (a canonical data ID key)."""
        for comparison in self.datasets:
            if comparison.data_id == data_id:
                return comparison
        raise KeyError(f"{self.name} {data_id} is identical or not compared")


class CompareReport(_Model):
    """Two collections compared, one summary per dataset type."""

    repo_a: str
    collection_a: str
    repo_b: str
    collection_b: str
    where: str | None = None
    options: CompareOptions
    skipped_types: list[str] = Field(
        default_factory=list, description="Dataset types skipped by default (not named)."
    )
    dataset_types: list[DatasetTypeSummary] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> Status:
        return worst([s.status for s in self.dataset_types])

    @property
    def differs(self) -> bool:
        """True when anything differs beyond tolerance, is missing, or could not be compared."""
        return self.status in FAILING

    def summary(self, name: str) -> DatasetTypeSummary:
        """The summary of dataset type ``name``."""
        for summary in self.dataset_types:
            if summary.name == name:
                return summary
        raise KeyError(f"{name!r} was not compared; compared: {self.type_names()}")

    def type_names(self) -> list[str]:
        """Names of the compared dataset types, in report order."""
        return [s.name for s in self.dataset_types]
