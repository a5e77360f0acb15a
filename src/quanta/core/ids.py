"""Deterministic IDs and canonical data ID keys: every rule that derives them, written once.

The canonical key of a data ID is ``name=value`` of each required dimension, in universe
order, then of each free-form key, in name order, joined by commas. Outputs are UUIDv5 of
(run, dataset type, canonical key), raws of (instrument, obs_id, detector), quanta of
(run, task label, canonical key), all in ``QUANTA_NAMESPACE``. Keys and output IDs have a
scalar form and a columnar form for graphs of millions of datasets; both give the same
answers, and NumPy is imported only by the columnar form.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator, Sequence
from itertools import islice, repeat
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from .data_id import DataCoordinate

#: Namespace of every UUIDv5 quanta derives; changing it would change every dataset ID.
QUANTA_NAMESPACE = uuid.UUID("6f1e6a52-4c1b-5a3e-9d54-7a6b3c2f0e11")
_NAMESPACE_BYTES = QUANTA_NAMESPACE.bytes

#: Free-form keys of a data ID: (name, value) pairs sorted by name.
Extras = tuple[tuple[str, str], ...]


def data_id_key(names: Sequence[str], values: Sequence[Any], extras: Extras = ()) -> str:
    """The canonical key of one data ID: required ``names`` with their ``values``, then
    the free-form keys; used for uniqueness in the registry and in every derived ID."""
    parts = [f"{k}={v}" for k, v in zip(names, values, strict=True)]
    parts.extend(f"{k}={v}" for k, v in extras)
    return ",".join(parts)


def data_id_keys(
    names: Sequence[str],
    columns: Sequence[Sequence[Any] | np.ndarray],
    extras: Sequence[Extras] | None,
    count: int,
) -> Iterator[str]:
    """The canonical keys of ``count`` data IDs given column by column (lists or arrays,
    one per name), with their free-form keys (None: none has any); ``data_id_key`` of
    every row, without a tuple or a list per row."""
    lists = [c.tolist() if hasattr(c, "tolist") else c for c in columns]
    template = ",".join(f"{name}={{}}" for name in names)
    keys: Iterator[str] = map(template.format, *lists) if names else repeat("", count)
    if extras is not None:
        keys = map(_with_extras, keys, extras)
    return keys


def _with_extras(base: str, extras: Extras) -> str:
    """A canonical key from the key of the required values and the free-form keys."""
    if not extras:
        return base
    parts = [base] if base else []
    parts.extend(f"{k}={v}" for k, v in extras)
    return ",".join(parts)


def uuid5_bytes(name: str) -> bytes:
    """The 16 bytes of ``uuid.uuid5(QUANTA_NAMESPACE, name)``, without building a UUID
    object (graph building makes millions of them)."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    return bytes(digest)


def output_id_prefix(run: str, dataset_type: str) -> str:
    """The part of an output ID's name shared by every dataset of one type in one run."""
    return f"{run}\x1f{dataset_type}\x1f"


def output_dataset_id(run: str, dataset_type: str, data_id: DataCoordinate) -> uuid.UUID:
    """UUIDv5 of (run, dataset type, canonical data ID): the ID of a produced dataset."""
    return uuid.uuid5(QUANTA_NAMESPACE, output_id_prefix(run, dataset_type) + data_id.key())


def output_dataset_ids(
    prefixes: Sequence[str],
    names: Sequence[str],
    columns: Sequence[Sequence[Any] | np.ndarray],
    extras: Sequence[Extras] | None,
    count: int,
) -> list[np.ndarray]:
    """16-byte IDs (dtype V16) of ``count`` outputs for each ``output_id_prefix`` (run and
    dataset type), whose data IDs are given as in ``data_id_keys``: the bytes of
    ``output_dataset_id`` of every row, each key made once for all the prefixes."""
    import numpy as np

    keys = data_id_keys(names, columns, extras, count)
    heads = [_NAMESPACE_BYTES + p.encode() for p in prefixes]
    digests = [bytearray() for _ in prefixes]
    sha1 = hashlib.sha1
    while chunk := [k.encode() for k in islice(keys, 65536)]:
        for head, out in zip(heads, digests, strict=True):
            out += b"".join([sha1(head + k).digest() for k in chunk])
    result = []
    for out in digests:
        raw = np.frombuffer(out, dtype=np.uint8).reshape(count, 20)[:, :16].copy()
        raw[:, 6] = (raw[:, 6] & 0x0F) | 0x50  # version 5
        raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
        result.append(raw.view("V16").reshape(count))
    return result


def raw_dataset_id(instrument: str, obs_id: str, detector: int) -> uuid.UUID:
    """UUIDv5 of (instrument, obs_id, detector): the ID of a raw, whatever run holds it."""
    return uuid.uuid5(QUANTA_NAMESPACE, f"raw\x1f{instrument}\x1f{obs_id}\x1f{detector}")


def quantum_id(run: str, label: str, data_id: DataCoordinate) -> uuid.UUID:
    """UUIDv5 of (run, task label, canonical data ID): the ID of one quantum of a run."""
    return uuid.uuid5(QUANTA_NAMESPACE, f"quantum\x1f{run}\x1f{label}\x1f{data_id.key()}")
