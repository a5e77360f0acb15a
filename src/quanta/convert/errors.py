"""The error a legacy repository raises when quanta cannot read it."""

from __future__ import annotations

from ..core.errors import QuantaError


class LegacyRepositoryError(QuantaError, ValueError):
    """A legacy repository whose mapper, registry tables or columns quanta cannot read."""
