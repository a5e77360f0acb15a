"""Dataset expectations on both databases: counts, table rows and field ranges."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import pyarrow as pa
import pytest

from check.conftest import WriteYaml
from quanta.butler import Butler
from quanta.check import CheckReport, check_collection, load_expectations
from quanta.check.expectations import parse_expectations
from quanta.core.errors import ConfigError
from repo_data import DETECTORS, INSTRUMENT

DETECTOR = ("instrument", "detector")


def _stats(detector: int) -> dict[str, Any]:
    return {"amps": {"A": {"gain": 1.0 + detector}, "B": {"gain": 1.5}}, "label": "x"}


@pytest.fixture
def butler_with_data(butler: Butler) -> Butler:
    """``stats`` (structured) and ``rows`` (tables of detector + 2 rows) for every detector
    in RUN ``r1``; RUN ``r2`` holds another ``stats`` of detector 0; ``chain`` searches
    ``r2`` then ``r1``."""
    butler.register_dataset_type("stats", DETECTOR, "StructuredData")
    butler.register_dataset_type("rows", DETECTOR, "ArrowTable")
    ids = [{"instrument": INSTRUMENT, "detector": d} for d in DETECTORS]
    butler.put_many([(_stats(d["detector"]), d) for d in ids], "stats", run="r1")
    tables = [(pa.table({"amp": list(range(d["detector"] + 2))}), d) for d in ids]
    butler.put_many(tables, "rows", run="r1")
    butler.put({"amps": {"A": {"gain": 9.0}, "B": {"gain": 1.5}}}, "stats", ids[0], run="r2")
    butler.set_collection_chain("chain", ["r2", "r1"])
    return butler


def _check(butler: Butler, collection: str, datasets: dict[str, Any]) -> CheckReport:
    return check_collection(butler, collection, parse_expectations({"datasets": datasets}, "t"))


def _problems(report: CheckReport) -> dict[str, tuple[str, ...]]:
    return {o.expectation: o.problems for o in report.outcomes}


def test_counts_are_over_the_collection_one_dataset_per_data_id(butler_with_data: Butler) -> None:
    report = _check(
        butler_with_data,
        "chain",
        {"stats": {"count": 4}, "rows": {"min_count": 5}, "plots": {"max_count": 0}},
    )
    assert _problems(report) == {
        "stats count": (),
        "rows count": ("rows: expected at least 5 datasets, found 4",),
        "plots count": (),
    }
    assert [o.expectation for o in report.failed] == ["rows count"]
    assert report.runs == () and not report.ok


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"count": 1}, "stats: expected 1 dataset, found 4"),
        ({"count": 5}, "stats: expected 5 datasets, found 4"),
        ({"max_count": 3}, "stats: expected at most 3 datasets, found 4"),
        ({"min_count": 1, "max_count": 3}, "stats: expected 1 to 3 datasets, found 4"),
        ({"min_count": 4, "max_count": 5}, None),
    ],
)
def test_count_rules(butler_with_data: Butler, rule: dict[str, int], message: str | None) -> None:
    report = _check(butler_with_data, "r1", {"stats": rule})
    assert _problems(report)["stats count"] == ((message,) if message else ())


def test_a_dataset_type_unknown_to_the_repository_has_no_datasets(
    butler_with_data: Butler,
) -> None:
    report = _check(butler_with_data, "r1", {"ptcPair": {}, "ptcGroupPair": {"count": 0}})
    assert _problems(report) == {
        "ptcPair count": (
            "ptcPair: expected at least 1 dataset, found 0 "
            "(no dataset type 'ptcPair' in this repository)",
        ),
        "ptcGroupPair count": (),
    }


def test_min_rows_reads_every_table(butler_with_data: Butler) -> None:
    report = _check(butler_with_data, "r1", {"rows": {"min_rows": 4}})
    assert _problems(report)["rows min_rows"] == (
        f"rows {{instrument={INSTRUMENT},detector=0}}: 2 rows, expected at least 4",
        f"rows {{instrument={INSTRUMENT},detector=1}}: 3 rows, expected at least 4",
    )
    assert _check(butler_with_data, "r1", {"rows": {"min_rows": 2}}).ok


def test_field_ranges_check_every_value_a_wildcard_reaches(butler_with_data: Butler) -> None:
    fields = {
        "amps.*.gain": [1.0, 2.5],
        "amps.B.gain": {"min": 2},
        "amps.C.gain": {"max": 1},
        "label": {"min": 0},
        "none.*": {"min": 0},
    }
    report = _check(butler_with_data, "chain", {"stats": {"fields": fields}})
    stats = "stats {instrument=Cam,detector=%d}"
    assert _problems(report) == {
        "stats count": (),
        "stats amps.*.gain": (
            f"{stats % 0}: amps.A.gain = 9, expected in [1, 2.5]",  # r2's, found first
            f"{stats % 2}: amps.A.gain = 3, expected in [1, 2.5]",
            f"{stats % 3}: amps.A.gain = 4, expected in [1, 2.5]",
        ),
        "stats amps.B.gain": tuple(
            f"{stats % d}: amps.B.gain = 1.5, expected at least 2" for d in DETECTORS
        ),
        "stats amps.C.gain": tuple(
            f"{stats % d}: amps.C is missing, expected at most 1" for d in DETECTORS
        ),
        "stats label": (
            f"{stats % 0}: label is missing, expected at least 0",
            *(f"{stats % d}: label = 'x' is not a number, expected at least 0" for d in (1, 2, 3)),
        ),
        "stats none.*": tuple(
            f"{stats % d}: none is missing, expected at least 0" for d in DETECTORS
        ),
    }


def test_unreadable_files_are_problems_not_crashes(butler_with_data: Butler) -> None:
    for name in ("stats", "rows"):
        uri = butler_with_data.get_uri(name, instrument=INSTRUMENT, detector=1, collections="r1")
        Path(url2pathname(urlparse(uri).path)).unlink()
    report = _check(
        butler_with_data,
        "r1",
        {"stats": {"fields": {"amps.*.gain": [0, 10]}}, "rows": {"min_rows": 0}},
    )
    (gain,) = _problems(report)["stats amps.*.gain"]
    assert gain.startswith(
        "stats {instrument=Cam,detector=1}: cannot read amps.*.gain: cannot read "
    )
    (rows,) = _problems(report)["rows min_rows"]
    assert rows.startswith("rows {instrument=Cam,detector=1}: cannot read the Parquet footer: ")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "datasets:\n  stats:\n    min_rows: 1\n",
            3,
            "min_rows needs a dataset type of storage class ArrowTable; stats is StructuredData",
        ),
        (
            "datasets:\n  stats: {}\n  rows:\n    count: 4\n    fields: {a: [0, 1]}\n",
            5,
            "fields needs a dataset type of storage class StructuredData; rows is ArrowTable",
        ),
    ],
)
def test_a_rule_that_does_not_fit_the_storage_class_names_file_and_line(
    butler_with_data: Butler, write_yaml: WriteYaml, text: str, line: int, message: str
) -> None:
    path = write_yaml(text)
    with pytest.raises(ConfigError) as caught:
        check_collection(butler_with_data, "r1", load_expectations(path))
    assert str(caught.value) == f"{path}:{line}: {message}"
