"""Data ID tables (``--data-id-table``): read, validated, and joined in the database."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from click.testing import CliRunner

from graph.helpers import put_raws, resolved
from graph.tasks import PerDetector, PerExposure
from quanta.butler import Butler
from quanta.cli.main import cli
from quanta.core.data_id_table import DataIdTable
from quanta.core.errors import ConfigError, DataIdError
from quanta.graph.builder import build_graph
from quanta.graph.data_id_files import read_data_id_table
from quanta.graph.io import load_graph, load_header, save_graph
from quanta.registry.data_id_tables import CHUNK
from repo_data import DETECTORS, INSTRUMENT

ECSV = """\
# %ECSV 1.0
# ---
# datatype:
# - {name: instrument, datatype: string}
# - {name: exposure, datatype: int64}
# schema: astropy-2.0
instrument exposure
Cam 9
Cam 11
Cam 11
"""


def exposures_of(graph_task: object) -> set[int]:
    data_ids = graph_task.data_ids  # type: ignore[attr-defined]
    return {data_ids.data_id(i)["exposure"] for i in range(len(data_ids))}


def test_table_constrains_every_task(butler: Butler, tmp_path: Path) -> None:
    put_raws(butler)
    path = tmp_path / "night.ecsv"
    path.write_text(ECSV)
    table = read_data_id_table(path, butler.universe)
    assert table.rows == (("Cam", 9), ("Cam", 11))
    pipeline = resolved(butler, ("calexp", PerExposure, {}), ("summary", PerDetector, {}))
    graph = build_graph(butler, pipeline, ["raw"], "run", data_ids=table)
    calexp, summary = graph.tasks
    assert exposures_of(calexp) == {9, 11} and len(calexp) == 2 * len(DETECTORS)
    inputs = graph.quantum(summary.first).inputs["calexps"]
    assert sorted(ref.data_id["exposure"] for ref in inputs) == [9, 11]
    # With a where, both constrain: the intersection.
    graph = build_graph(
        butler, pipeline, ["raw"], "run", where="detector = 1", data_ids=table, empty_ok=True
    )
    assert exposures_of(graph.tasks[0]) == {9, 11} and len(graph.tasks[0]) == 2


def test_large_table_is_inserted_in_chunks(butler: Butler) -> None:
    put_raws(butler, exposures=(3, 4), detectors=(0,))
    # Most of these exposures do not exist: only the join keeps 3.
    rows = [(INSTRUMENT, e) for e in range(3, 3 + 2 * CHUNK + 7, 1) if e != 4]
    table = DataIdTable.build(butler.universe, ["instrument", "exposure"], rows, "many")
    names, found = butler.registry.query_data_id_rows(
        ["instrument", "detector", "exposure"], ["raw"], ["raw"], data_ids=table
    )
    assert names == ("instrument", "detector", "exposure") and found == [(INSTRUMENT, 0, 3)]
    # The temporary table is gone after the query: the same query runs again.
    assert butler.registry.query_data_id_rows(["exposure"], data_ids=table)[1] != []


def test_table_of_an_implied_dimension(butler: Butler) -> None:
    put_raws(butler)
    table = DataIdTable.build(butler.universe, ["band"], [("g",)], "bands")
    _, rows = butler.registry.query_data_id_rows(["exposure"], ["raw"], ["raw"], data_ids=table)
    assert [e for (e,) in rows] == [e for e in range(1, 13) if "gri"[e % 3] == "g"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.csv", "instrument,exposur\nCam,9\n", "column 'exposur' is not a dimension"),
        (
            "b.csv",
            "instrument,exposure\nCam,nine\n",
            "row 1, column 'exposure': expected an integer",
        ),
        ("c.csv", "instrument,exposure\nCam,9,1\n", "row 1 has 3 values, not 2"),
        ("d.csv", "", "the file is empty"),
        ("e.csv", "instrument,exposure\n", "no rows"),
        ("f.csv", "instrument,exposure\n../x,9\n", "is not allowed"),
        ("g.ecsv", ECSV.replace("Cam 11\n", "Cam 1.5\n"), "cannot read it as ECSV"),
        ("h.ecsv", "instrument exposure\nCam 9\n", "cannot read it as ECSV"),
    ],
)
def test_bad_tables_are_one_line_errors(
    sqlite_butler: Butler, tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(DataIdError, match=message) as info:
        read_data_id_table(path, sqlite_butler.universe)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_command_line(sqlite_butler: Butler, tmp_path: Path) -> None:
    put_raws(sqlite_butler, exposures=(1, 2, 3), detectors=(0, 1))
    table = tmp_path / "log.csv"
    table.write_text("exposure,instrument\n2,Cam\n3,Cam\n")
    args = ["qgraph", str(sqlite_butler.root), "-p", "w1", "-i", "raw", "-o", "out"]
    result = CliRunner().invoke(cli, [*args, "--data-id-table", str(table)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("6 quanta for run out/")
    missing = CliRunner().invoke(cli, [*args, "--data-id-table", str(tmp_path / "none.csv")])
    assert missing.exit_code == 2
    assert missing.stderr.startswith(f"error: data ID table {tmp_path / 'none.csv'}: cannot read")
    table.write_text("exposure\n40\n")
    nothing = CliRunner().invoke(cli, [*args, "--data-id-table", str(table)])
    assert nothing.exit_code == 2
    assert "task calexp has no quanta: no row of the data ID table" in nothing.stderr


def test_saved_graph_keeps_the_table(sqlite_butler: Butler, tmp_path: Path) -> None:
    put_raws(sqlite_butler)
    table = DataIdTable.build(sqlite_butler.universe, ["exposure"], [(9,), (10,)], "night")
    pipeline = resolved(sqlite_butler, ("calexp", PerExposure, {}))
    graph = build_graph(sqlite_butler, pipeline, ["raw"], "run", data_ids=table)
    path = tmp_path / "g.json.gz"
    save_graph(graph, path)
    assert load_graph(path, sqlite_butler.universe).header.data_ids == table


def test_header_alone_is_read_however_long(sqlite_butler: Butler, tmp_path: Path) -> None:
    put_raws(sqlite_butler)
    rows = [(9,), *((e,) for e in range(1000, 40000))]  # a header of several chunks
    table = DataIdTable.build(sqlite_butler.universe, ["exposure"], rows, "long")
    pipeline = resolved(sqlite_butler, ("calexp", PerExposure, {}))
    graph = build_graph(sqlite_butler, pipeline, ["raw"], "run", data_ids=table)
    path = tmp_path / "g.json.gz"
    save_graph(graph, path)
    header = load_header(path, sqlite_butler.universe)
    assert header.to_json() == graph.header.to_json() and header.data_ids == table
    broken = tmp_path / "broken.json.gz"
    with gzip.open(path, "rb") as source, gzip.open(broken, "wb") as target:
        target.write(source.read()[:100_000])
    with pytest.raises(ConfigError, match="cannot read quantum graph header"):
        load_header(broken, sqlite_butler.universe)
    other = tmp_path / "other.json.gz"
    with gzip.open(other, "wt") as stream:
        stream.write('{"format":"something else"}')
    with pytest.raises(ConfigError, match="not a quanta quantum graph file"):
        load_header(other, sqlite_butler.universe)
