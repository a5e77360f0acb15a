"""Grouping a task's query rows into quanta and matching them with its inputs' nodes.

The graph builder's inner loop, over millions of rows: rows are matched a chunk at a
time with dictionary lookups mapped over the chunk and NumPy for the rest, so that no
Python statement runs per row except where free-form keys make quanta variants.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from itertools import chain
from typing import Any

import numpy as np

from .accumulators import Matcher, NodeAccumulator, int64_array
from .columns import Extras, picker

#: Rows matched at a time: bounds the match results held at once.
_CHUNK = 65536


def quanta_of_rows(
    rows: list[tuple], key_positions: list[int], width: int
) -> tuple[list[tuple], np.ndarray | None]:
    """The first row of each quantum (rows with equal values at ``key_positions``, in
    order of first appearance) and the quantum of every row; ``None`` when the key is the
    whole row, since the query's rows are distinct and each is a quantum of its own."""
    if key_positions == list(range(width)):
        return rows, None
    keys = list(map(picker(key_positions, width), rows))
    # Later rows overwrite earlier ones in reverse: the first position of each key.
    starts = sorted(dict(zip(reversed(keys), range(len(keys) - 1, -1, -1), strict=True)).values())
    number = {keys[i]: q for q, i in enumerate(starts)}
    quantum_of = np.fromiter(map(number.__getitem__, keys), np.int64, len(keys))
    return [rows[i] for i in starts], quantum_of


def matched_edges(
    rows: list[tuple],
    positions: list[int],
    width: int,
    acc: NodeAccumulator,
    quantum_of: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """(quantum, node) pairs of one input: every row's quantum with each node its values
    (at ``positions``) match, a chunk of rows at a time so that the matches held stay
    small; matched in bulk unless some values have several nodes."""
    pick = None if positions == list(range(width)) else picker(positions, width)
    if pick is None and acc.rows_are(rows):  # row i has the values of node i
        owners = np.arange(len(rows), dtype=np.int64) if quantum_of is None else quantum_of
        return owners, np.arange(len(rows), dtype=np.int64)
    match = acc.matcher()
    quanta: list[np.ndarray] = []
    nodes: list[np.ndarray] = []
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        keys = chunk if pick is None else list(map(pick, chunk))
        matched = acc.match_all(keys)
        if matched is None:
            found = list(map(match, keys))
            counts = np.fromiter(map(len, found), np.int64, len(found))
            matched = counts, np.fromiter(chain.from_iterable(found), np.int64, int(counts.sum()))
        owners = (
            np.arange(start, start + len(chunk), dtype=np.int64)
            if quantum_of is None
            else quantum_of[start : start + len(chunk)]
        )
        quanta.append(np.repeat(owners, matched[0]))
        nodes.append(matched[1])
    if not quanta:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(quanta), np.concatenate(nodes)


def variant_quanta(
    rows: list[tuple],
    key_of: Callable[[tuple], tuple],
    picks: list[Callable[[tuple], tuple]],
    matchers: list[Matcher],
    singles: list[tuple[bool, NodeAccumulator]],
) -> tuple[list[tuple], list[Extras], list[tuple[np.ndarray, np.ndarray]], list[set[int]]]:
    """Quanta where single inputs carry free-form keys: a quantum per row and variant (the
    keys of its single inputs' matches), each with the matches that agree with it. Returns
    the first rows, the variants, the (quantum, node) pairs and the nodes each input
    matched at all."""
    index: dict[Any, int] = {}
    first_rows: list[tuple] = []
    extras: list[Extras] = []
    found: list[set[int]] = [set() for _ in picks]
    pairs = [(array("q"), array("q")) for _ in picks]
    for row in rows:
        key = key_of(row)
        matches = [match(pick(row)) for pick, match in zip(picks, matchers, strict=True)]
        variants: dict[Extras, None] = {}
        for (single, acc), matched, seen in zip(singles, matches, found, strict=True):
            seen.update(matched)
            if single:
                variants.update(dict.fromkeys(acc.extras_of(n) for n in matched))
        variants.pop((), None)
        for variant in variants or ((),):
            q = index.get((key, variant))
            if q is None:
                q = index[(key, variant)] = len(first_rows)
                first_rows.append(row)
                extras.append(variant)
            for (single, acc), matched, (quanta, kept) in zip(singles, matches, pairs, strict=True):
                for n in matched:
                    if not single or not variant or acc.extras_of(n) in ((), variant):
                        quanta.append(q)
                        kept.append(n)
    edges = [(int64_array(q), int64_array(n)) for q, n in pairs]
    return first_rows, extras, edges, found
