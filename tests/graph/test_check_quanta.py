"""``check_quanta``: a task sees all of its quanta at once, after ``adjust_quantum``, and
may refuse the graph."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from graph.helpers import put_raws, resolved
from graph.tasks import Adjusting
from quanta.butler import Butler
from quanta.core.errors import ConfigError
from quanta.graph.builder import build_graph
from repo_data import DETECTORS


class Checking(Adjusting):
    """Records the quanta it is shown; refuses more than ``limit`` of them."""

    seen: ClassVar[list[tuple[Any, list[int]]]] = []
    limit: ClassVar[int] = 1_000

    @classmethod
    def check_quanta(cls, config: Any, quanta: Any) -> None:
        cls.seen[:] = [
            (data_id["detector"], [r.data_id["exposure"] for r in inputs["raw"]])
            for data_id, inputs in quanta
        ]
        if len(quanta) > cls.limit:
            raise ConfigError(f"{len(quanta)} quanta; at most {cls.limit}")


def test_the_hook_sees_every_quantum_after_adjustment(butler: Butler) -> None:
    put_raws(butler, exposures=(9, 10))
    pipeline = resolved(butler, ("calexp", Checking, {"skip_detector": 2}))
    graph = build_graph(butler, pipeline, ["raw"], "run")
    kept = [d for d in DETECTORS if d != 2]
    assert sorted(Checking.seen) == sorted((d, [e]) for d in kept for e in (9, 10))
    assert len(graph) == len(Checking.seen)


def test_the_hook_refuses_the_graph(butler: Butler, monkeypatch: pytest.MonkeyPatch) -> None:
    put_raws(butler, exposures=(9, 10))
    monkeypatch.setattr(Checking, "limit", 2)
    pipeline = resolved(butler, ("calexp", Checking, {"skip_detector": 2}))
    with pytest.raises(ConfigError, match=r"quanta; at most 2"):
        build_graph(butler, pipeline, ["raw"], "run")
