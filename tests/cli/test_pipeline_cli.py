"""``quanta pipeline show`` and ``validate`` through click's test runner."""

from __future__ import annotations

import json
from pathlib import Path

from cli.small_repo import Invoke

SCALE = "quanta.pipe.examples.ScaleTask"


def test_show_table_lists_tasks_flow_and_subsets(invoke: Invoke) -> None:
    result = invoke("pipeline", "show", "w1")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.index("calexp") < out.index("summary")
    assert SCALE in out
    assert "calexpLike" in out and "StructuredData" in out
    assert "Overall inputs: raw" in out
    assert "Prerequisites: (none)" in out
    assert "step1" in out and "summarize each detector" in out


def test_show_json_with_override_and_selection(invoke: Invoke) -> None:
    result = invoke("pipeline", "show", "w1", "-c", "calexp:scale=3", "--format", "json")
    assert result.exit_code == 0, result.stderr
    info = json.loads(result.stdout)
    assert [t["label"] for t in info["tasks"]] == ["calexp", "summary"]
    calexp = info["tasks"][0]
    assert calexp["config"]["scale"] == 3.0
    assert calexp["dimensions"] == ["instrument", "detector", "exposure"]
    assert calexp["connections"][0] == {
        "name": "raw",
        "kind": "Input",
        "dataset_type": "raw",
        "dimensions": ["instrument", "detector", "exposure"],
        "storage_class": "NumpyArray",
        "is_calibration": False,
        "multiple": False,
        "minimum": 1,
        "defer_load": False,
    }
    flow = {d["name"]: d for d in info["dataset_types"]}
    assert flow["calexpLike"]["producer"] == "calexp"
    assert flow["calexpLike"]["consumers"] == ["summary"]
    assert flow["calexp_config"]["dimensions"] == []
    assert info["overall_inputs"] == ["raw"]

    result = invoke("pipeline", "show", "w1#step2", "--format", "json")
    info = json.loads(result.stdout)
    assert [t["label"] for t in info["tasks"]] == ["summary"]
    assert info["overall_inputs"] == ["calexpLike"]
    assert [s["name"] for s in info["subsets"]] == ["step2"]


def test_validate_ok(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("pipeline", "validate", "w1_busy", "-c", "calexp:work_ms=5")
    assert (result.exit_code, result.stdout) == (0, "ok: 2 tasks\n")
    path = tmp_path / "one.yaml"
    path.write_text(f"tasks:\n  calexp: {SCALE}\n")
    assert invoke("pipeline", "validate", path).stdout == "ok: 1 tasks\n"


def test_validate_errors_are_one_line_and_exit_2(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text(f"tasks:\n  calexp:\n    class: {SCALE}\n    config:\n      scal: 2\n")
    cases = [
        ((path,), f"error: {path}:5: task 'calexp': config field 'scal': unknown config field"),
        (("nope",), "error: no pipeline file or shipped pipeline 'nope'; shipped pipelines: "),
        (("w1", "-c", "calexp-scale=3"), "error: invalid config override 'calexp-scale=3'"),
        (("w1", "-c", "calexb:scale=3"), "error: config override calexb:scale: no task 'calexb'"),
    ]
    for args, start in cases:
        result = invoke("pipeline", "validate", *args)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(start), result.stderr
        assert result.stderr.count("\n") == 1
        assert result.stdout == ""
    assert "w1" in invoke("pipeline", "validate", "nope").stderr
