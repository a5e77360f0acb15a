"""Checking a collection against expectations: ``check_collection(butler, collection, file)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .datasets import check_datasets
from .expectations import Expectations, ExpectationsFile
from .predicted import check_predicted, runs_with_graphs
from .report import CheckReport

if TYPE_CHECKING:
    from ..butler import Butler


def check_collection(
    butler: Butler, collection: str, file: ExpectationsFile | None = None
) -> CheckReport:
    """The dataset expectations of ``file`` over ``collection`` (a RUN, or a CHAINED output
    searched as a whole), then the predicted outputs of every run it reaches that has a
    saved graph. An unknown collection or a rule that does not fit its dataset type is a
    ``QuantaError``."""
    butler.registry.get_collection(collection)
    runs = runs_with_graphs(butler, collection)
    outcomes = check_datasets(butler, collection, file) if file is not None else []
    expectations = file.expectations if file is not None else Expectations()
    outcomes.extend(check_predicted(butler, run, expectations) for run in runs)
    return CheckReport(collection, tuple(runs), tuple(outcomes))
