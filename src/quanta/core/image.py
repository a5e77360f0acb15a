"""The in-memory type of the ``Image`` storage class: image, mask and variance planes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Image:
    """A detector image with a bit mask, a variance plane and a FITS-like header."""

    image: np.ndarray
    mask: np.ndarray | None = None
    variance: np.ndarray | None = None
    header: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.image = np.asarray(self.image)
        if self.image.ndim != 2:
            raise ValueError(f"an Image needs a 2-d array, got shape {self.image.shape}")
        if self.mask is None:
            self.mask = np.zeros(self.image.shape, dtype=np.int32)
        if self.variance is None:
            self.variance = np.zeros(self.image.shape, dtype=np.float32)
        for name in ("mask", "variance"):
            plane = getattr(self, name)
            if plane.shape != self.image.shape:
                raise ValueError(
                    f"{name} plane has shape {plane.shape}, image has {self.image.shape}"
                )

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns of the image."""
        rows, columns = self.image.shape
        return rows, columns
