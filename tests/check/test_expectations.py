"""Expectations files: the model, shipped names, and errors that name file and line."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from check.conftest import WriteYaml
from quanta.check.expectations import (
    AllowedFailure,
    Range,
    load_expectations,
    shipped_expectations,
)
from quanta.core import DataCoordinate
from quanta.core.errors import ConfigError
from quanta.core.universe import DEFAULT_UNIVERSE_PATH, load_universe

FULL = """\
description: everything a file can say
datasets:
  bias: {count: 2}
  postISRCCD: {min_count: 10, max_count: 12}
  ptcPair: {count: 12, min_rows: 4}
  plot:
  ptc:
    fields:
      "amps.*.gain": [0.5, 3]
      "amps.*.n_pairs_used": {min: 4}
      "turnoff": {max: 1.0e+5}
allowed_failures:
  - {task: ptcExtractPair, data_id: {detector: 1, pair: ["9+10", 11]}, reason: dead amp}
  - {task: isr, data_id: "*exposure=17"}
  - task: ptcSolve
"""


def test_a_full_file_loads_with_every_rule(write_yaml: WriteYaml) -> None:
    path = write_yaml(FULL)
    loaded = load_expectations(path)
    assert loaded.source == str(path)
    expectations = loaded.expectations
    assert expectations.description == "everything a file can say"
    datasets = expectations.datasets
    assert datasets["bias"].count_range == Range(min=2, max=2)
    assert datasets["postISRCCD"].count_range == Range(min=10, max=12)
    assert datasets["plot"].count_range == Range(min=1)  # no count rule: at least one
    assert datasets["ptcPair"].min_rows == 4
    fields = datasets["ptc"].fields
    assert fields["amps.*.gain"] == Range(min=0.5, max=3.0)
    assert fields["amps.*.n_pairs_used"] == Range(min=4)
    assert fields["turnoff"] == Range(max=1e5)
    first, second, third = expectations.allowed_failures
    assert first.data_id == {"detector": ("1",), "pair": ("9+10", "11")}
    assert first.reason == "dead amp"
    assert second.data_id == "*exposure=17" and third.data_id is None
    assert loaded.where("datasets", "ptcPair", "min_rows") == f"{path}:5"


def test_shipped_expectations_load_by_name_and_unknown_names_list_them(tmp_path: Path) -> None:
    assert "calibration_quick" in shipped_expectations()
    shipped = load_expectations("calibration_quick")
    assert shipped.source.endswith("expectations/calibration_quick.yaml")
    assert shipped.expectations.datasets["ptc"].count == 2
    assert shipped.expectations.datasets["ptcGroupPair"].min_rows == 4
    with pytest.raises(ConfigError, match="no expectations file or shipped expectations 'nope'"):
        load_expectations("nope")
    with pytest.raises(ConfigError, match=r"shipped: .*calibration_quick"):
        load_expectations("nope")
    with pytest.raises(ConfigError, match="cannot read"):
        load_expectations(tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("datasets: {}\nextra: 1\n", 2, "unknown key 'extra'; valid keys: description, datasets"),
        (
            "datasets:\n  bias:\n    count: 2\n    cnt: 3\n",
            4,
            "datasets.bias: unknown key 'cnt'; valid keys: count, min_count, max_count, min_rows",
        ),
        ("datasets:\n  bias: {count: -1}\n", 2, "datasets.bias.count: Input should be greater"),
        (
            "datasets:\n  bias:\n    count: yes\n",
            3,
            "datasets.bias.count: Input should be a valid int",
        ),
        (
            "datasets:\n  bias: {count: 2.5}\n",
            2,
            "datasets.bias.count: Input should be a valid int",
        ),
        (
            "datasets:\n  bias: {count: 2, min_count: 1}\n",
            2,
            "datasets.bias: give count, or min_count and/or max_count, not both",
        ),
        (
            "datasets:\n  bias: {min_count: 3, max_count: 2}\n",
            2,
            "datasets.bias: min_count 3 is greater than max_count 2",
        ),
        ("datasets:\n  bias: 3\n", 2, "datasets.bias: expected a mapping"),
        ("datasets: [bias]\n", 1, "datasets: expected a mapping"),
        (
            "datasets:\n  ptc:\n    fields:\n      gain: [1]\n",
            4,
            "datasets.ptc.fields.gain: a range is [min, max], or a mapping with min and/or max",
        ),
        (
            "datasets:\n  ptc:\n    fields:\n      gain: [3, 1]\n",
            4,
            "datasets.ptc.fields.gain: min 3 is greater than max 1",
        ),
        (
            "datasets:\n  ptc:\n    fields:\n      gain: [low, 1]\n",
            4,
            "datasets.ptc.fields.gain.min: Input should be a valid number",
        ),
        (
            "datasets:\n  ptc:\n    fields:\n      gain: [true, 1]\n",
            4,
            "datasets.ptc.fields.gain.min: a bound is a number, not True",
        ),
        (
            "datasets:\n  ptc:\n    fields:\n      gain: [.nan, 1]\n",
            4,
            "datasets.ptc.fields.gain.min: Input should be a finite number",
        ),
        (
            "datasets:\n  ptc:\n    fields:\n      gain: {}\n",
            4,
            "datasets.ptc.fields.gain: a range needs min, max or both",
        ),
        (
            "datasets:\n  ptc:\n    fields:\n      gain: {least: 1}\n",
            4,
            "datasets.ptc.fields.gain: unknown key 'least'; valid keys: min, max",
        ),
        (
            "datasets:\n  ptc:\n    fields:\n      amps..gain: [1, 2]\n",
            3,
            "datasets.ptc.fields: field path 'amps..gain' has an empty key",
        ),
        (
            "datasets: {}\nallowed_failures:\n  - {data_id: {detector: 1}}\n",
            3,
            "allowed_failures.0: missing key 'task'",
        ),
        (
            "allowed_failures:\n  - task: isr\n  - task: isr\n    data_id: 3\n",
            4,
            "allowed_failures.1.data_id: data_id is a mapping of keys to values, or a glob",
        ),
        (
            "allowed_failures:\n  - task: isr\n    data_id: {detector: 1.5}\n",
            3,
            "allowed_failures.0.data_id: data_id value of 'detector' must be an integer or a",
        ),
        ("allowed_failures: {task: isr}\n", 1, "allowed_failures: Input should be a valid list"),
        ("datasets: {bias: {count: 1}\n", 2, "expected ',' or '}'"),
    ],
)
def test_each_mistake_names_file_and_line(
    write_yaml: WriteYaml, text: str, line: int, message: str
) -> None:
    path = write_yaml(text)
    with pytest.raises(ConfigError) as caught:
        load_expectations(path)
    assert str(caught.value).startswith(f"{path}:{line}: {message}")


@pytest.mark.parametrize("text", ["", "- datasets\n", "just text\n"])
def test_a_file_that_is_not_a_mapping_is_refused(write_yaml: WriteYaml, text: str) -> None:
    path = write_yaml(text)
    with pytest.raises(ConfigError, match=f"^{path}: an expectations file is a mapping with keys"):
        load_expectations(path)


def test_ranges_are_inclusive_and_never_hold_nan() -> None:
    both, low, high = Range(min=1, max=2), Range(min=1), Range(max=2)
    assert [both.contains(v) for v in (0.999, 1.0, 2.0, 2.001)] == [False, True, True, False]
    assert low.contains(1e300) and not low.contains(0.5)
    assert high.contains(-1e300) and not high.contains(2.5)
    assert not any(r.contains(math.nan) for r in (both, low, high))
    assert (both.describe(), low.describe(), high.describe()) == (
        "in [1, 2]",
        "at least 1",
        "at most 2",
    )
    assert Range(min=-5e-6, max=-5e-7).describe() == "in [-5e-06, -5e-07]"


UNIVERSE = load_universe(DEFAULT_UNIVERSE_PATH)


def _data_id(**values: object) -> DataCoordinate:
    extras = {k: v for k, v in values.items() if k == "pair"}
    required = {k: v for k, v in values.items() if k != "pair"}
    coordinate = DataCoordinate.standardize(required, universe=UNIVERSE)
    return coordinate.with_extras(extras) if extras else coordinate


def test_allowed_failures_match_by_task_then_data_id() -> None:
    quantum = _data_id(instrument="Cam", detector=1, exposure=17)
    paired = _data_id(instrument="Cam", detector=1, pair="9+10")
    any_isr = AllowedFailure(task="isr")
    assert any_isr.matches("isr", quantum) and not any_isr.matches("ptcSolve", quantum)
    by_values = AllowedFailure.model_validate({"task": "isr", "data_id": {"detector": [0, 1]}})
    assert by_values.matches("isr", quantum)
    assert not by_values.matches("isr", _data_id(instrument="Cam", detector=2, exposure=17))
    both = AllowedFailure.model_validate(
        {"task": "isr", "data_id": {"detector": 1, "exposure": 18}}
    )
    assert not both.matches("isr", quantum)
    absent = AllowedFailure.model_validate({"task": "isr", "data_id": {"visit": 1}})
    assert not absent.matches("isr", quantum)
    free_form = AllowedFailure.model_validate({"task": "pairs", "data_id": {"pair": "9+10"}})
    assert free_form.matches("pairs", paired)
    assert not free_form.matches("pairs", _data_id(instrument="Cam", detector=1, pair="11+12"))
    glob = AllowedFailure(task="isr", data_id="*detector=1,exposure=1?")
    assert glob.matches("isr", quantum)
    assert not glob.matches("isr", _data_id(instrument="Cam", detector=1, exposure=7))


def test_the_documented_example_is_a_valid_file(write_yaml: WriteYaml) -> None:
    section = (Path(__file__).parents[2] / "docs" / "howto" / "check.md").read_text()
    example = section.split("```yaml\n")[1].split("```")[0]
    loaded = load_expectations(write_yaml(example)).expectations
    assert list(loaded.datasets) == ["bias", "postISRCCD", "ptcPlot", "ptcGroupPair", "ptc"]
    assert [entry.task for entry in loaded.allowed_failures] == [
        "ptcSolve",
        "isr",
        "ptcExtractPair",
        "ptcExtractGroupPair",
    ]
