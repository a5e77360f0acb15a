"""The datasets every task writes beside its own outputs, and their names.

A task's config goes to ``<label>_config`` once per run; each quantum's metadata
(timings, host, peak memory) and log records go to ``<label>_metadata`` and ``<label>_log``,
written through the connections ``METADATA`` and ``LOG``.
"""

from __future__ import annotations

#: Suffix of the dataset type that holds a task's config.
CONFIG = "_config"
#: Connection name of a quantum's metadata, and suffix of its dataset type.
METADATA = "_metadata"
#: Connection name of a quantum's log records, and suffix of its dataset type.
LOG = "_log"


def config_name(label: str) -> str:
    """``<label>_config``: the dataset type of a task's config."""
    return label + CONFIG


def metadata_name(label: str) -> str:
    """``<label>_metadata``: the dataset type of a task's per-quantum metadata."""
    return label + METADATA


def log_name(label: str) -> str:
    """``<label>_log``: the dataset type of a task's per-quantum log records."""
    return label + LOG
