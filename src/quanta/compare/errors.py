"""The error a comparison raises when a pair of datasets cannot be compared as asked."""

from __future__ import annotations

from quanta.core.errors import QuantaError


class CompareError(QuantaError, ValueError):
    """A pair of datasets that cannot be compared as asked (a missing key column, keys
    that are not unique, no sky coordinates); reported as that dataset's error row."""
