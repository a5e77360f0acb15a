"""One formatter per storage class, each imported only when first used."""

from __future__ import annotations

import importlib

from quanta.core.errors import ConfigError

from .base import Formatter as Formatter

#: Storage class -> module of this package that holds its ``FORMATTER``.
_MODULES = {
    "Image": "image",
    "ArrowTable": "parquet",
    "StructuredData": "json",
    "NumpyArray": "numpy",
    "RawImage": "raw",
    "Plot": "png",
}


def formatter_for(storage_class: str) -> Formatter:
    """The formatter of ``storage_class``, importing its module (and heavy libraries) lazily."""
    try:
        module_name = _MODULES[storage_class]
    except KeyError:
        raise ConfigError(
            f"no formatter for storage class {storage_class!r}; "
            f"valid storage classes: {', '.join(_MODULES)}"
        ) from None
    module = importlib.import_module(f"{__name__}.{module_name}")
    formatter: Formatter = module.FORMATTER
    return formatter
