"""define_groups: rules and group files into the repository, validated before writing.

The test repository (``repo_data``) has instrument Cam with exposures 1-12 of one night:
1-4 bias, 5-8 flats with exposure times 1, 1, 2, 2 s, 9-12 science.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.helpers import put_raws, resolved
from graph.tasks import PerGroup
from instruments.simcam_raws import exposure_id, header, write_raw
from quanta.butler import Butler
from quanta.core.errors import ConfigError, ConflictError, DataIdError, RecordNotFoundError
from quanta.graph.builder import build_graph
from quanta.instruments.groups import GroupDefinitionError, GroupSystem, define_groups
from quanta.instruments.ingest import ingest_raws
from repo_data import DETECTORS, INSTRUMENT


def groups(butler: Butler, system: str) -> dict[str, list[int]]:
    """Each group of ``system`` with its members in position order."""
    names, rows = butler.registry.query_data_id_rows(
        ["instrument", "group_system", "group", "exposure"],
        data_id={"instrument": INSTRUMENT, "group_system": system},
    )
    result: dict[str, list[int]] = {}
    for row in rows:
        result.setdefault(row[names.index("group")], []).append(row[names.index("exposure")])
    return result


def system_record(butler: Butler, system: str) -> dict | None:
    records = butler.query_dimension_records("group_system", where=f"group_system = '{system}'")
    return records[0].values if records else None


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_flat_pairs_defines_an_exclusive_system(butler: Butler) -> None:
    report = define_groups(butler, "ptc", rule="flat-pairs", exclusive=True)
    assert report.system == GroupSystem("ptc", "flat-pairs --tolerance 0.005", True, 2)
    assert (report.instrument, report.new, report.existing, report.members) == (INSTRUMENT, 2, 0, 4)
    assert report.left_out == []
    assert system_record(butler, "ptc") == {
        "instrument": INSTRUMENT,
        "name": "ptc",
        "exclusive": True,
        "group_size": 2,
        "rule": "flat-pairs --tolerance 0.005",
    }
    assert groups(butler, "ptc") == {"5+6": [5, 6], "7+8": [7, 8]}
    records = butler.query_dimension_records("group")
    assert [(r.name, r.n_members) for r in records] == [("5+6", 2), ("7+8", 2)]
    assert report.summary() == (
        "group system ptc (Cam, rule 'flat-pairs --tolerance 0.005', groups of 2, exclusive): "
        "2 groups (2 new, 0 existing), 4 members, 0 exposures left out"
    )


def test_defining_again_changes_nothing(butler: Butler) -> None:
    define_groups(butler, "ptc", rule="flat-pairs", exclusive=True)
    again = define_groups(butler, "ptc", rule="flat-pairs", exclusive=True)
    assert (again.new, again.existing, again.members) == (0, 2, 4)
    assert groups(butler, "ptc") == {"5+6": [5, 6], "7+8": [7, 8]}


def test_where_narrows_the_exposures(sqlite_butler: Butler) -> None:
    report = define_groups(
        sqlite_butler,
        "ptc",
        rule="flat-pairs",
        where="exposure.exposure_time < :t",
        binds={"t": 1.5},
    )
    assert report.new == 1
    assert groups(sqlite_butler, "ptc") == {"5+6": [5, 6]}
    # Widening the selection later adds the other pair to the same system.
    report = define_groups(sqlite_butler, "ptc", rule="flat-pairs")
    assert (report.new, report.existing) == (1, 1)
    assert groups(sqlite_butler, "ptc") == {"5+6": [5, 6], "7+8": [7, 8]}


def test_a_third_match_is_left_out_and_reported(sqlite_butler: Butler) -> None:
    report = define_groups(
        sqlite_butler, "wide", rule="flat-pairs", tolerance=1.0, where="exposure != 8"
    )
    assert groups(sqlite_butler, "wide") == {"5+6": [5, 6]}
    assert [(x.exposure, x.reason) for x in report.left_out] == [
        (7, "third flat of exposure time 2 s after the pair 5+6")
    ]
    report = define_groups(sqlite_butler, "ptc", rule="flat-pairs", where="exposure != 6")
    assert groups(sqlite_butler, "ptc") == {"7+8": [7, 8]}
    assert [(x.exposure, x.reason) for x in report.left_out] == [
        (5, "no neighbouring flat of day_obs 20250101 with exposure time 1 s (within 0.005 s)")
    ]


def test_tolerance_and_consecutive(sqlite_butler: Butler) -> None:
    define_groups(sqlite_butler, "loose", rule="flat-pairs", tolerance=1.0)
    assert groups(sqlite_butler, "loose") == {"5+6": [5, 6], "7+8": [7, 8]}
    define_groups(sqlite_butler, "tight", rule="flat-pairs", tolerance=0.0)
    assert groups(sqlite_butler, "tight") == {"5+6": [5, 6], "7+8": [7, 8]}
    report = define_groups(sqlite_butler, "c3", rule="consecutive 3", where="exposure > 4")
    assert groups(sqlite_butler, "c3") == {"5-7": [5, 6, 7], "8-10": [8, 9, 10]}
    assert [x.exposure for x in report.left_out] == [11, 12]


def test_a_system_keeps_its_flag_size_and_rule(sqlite_butler: Butler) -> None:
    define_groups(sqlite_butler, "ptc", rule="flat-pairs", exclusive=True)
    with pytest.raises(GroupDefinitionError, match=r"'ptc' of Cam is exclusive; .* with --excl"):
        define_groups(sqlite_butler, "ptc", rule="flat-pairs")
    with pytest.raises(GroupDefinitionError, match="groups of 2 exposures, not of 3 exposures"):
        define_groups(sqlite_butler, "ptc", rule="consecutive 3", exclusive=True)
    with pytest.raises(GroupDefinitionError, match="defined by the rule 'flat-pairs --tol"):
        define_groups(sqlite_butler, "ptc", rule="flat-pairs", tolerance=0.5, exclusive=True)
    assert system_record(sqlite_butler, "ptc")["rule"] == "flat-pairs --tolerance 0.005"


def test_exclusive_system_refuses_an_exposure_in_two_groups(butler: Butler, tmp_path: Path) -> None:
    define_groups(butler, "ptc", rule="flat-pairs", exclusive=True)
    path = write(tmp_path / "more.csv", "group,exposures\nextra,6,9\n")
    with pytest.raises(ConflictError, match=rf"{path}:2: exposure 6 of group 'extra' is already"):
        define_groups(butler, "ptc", from_file=path, exclusive=True)
    assert groups(butler, "ptc") == {"5+6": [5, 6], "7+8": [7, 8]}
    # Without exclusivity the same exposures may be shared.
    define_groups(butler, "shared", rule="flat-pairs")
    report = define_groups(butler, "shared", from_file=path)
    assert report.new == 1
    assert groups(butler, "shared")["extra"] == [6, 9]


def test_csv_and_yaml_files_keep_member_order(butler: Butler, tmp_path: Path) -> None:
    csv_file = write(
        tmp_path / "groups.csv",
        "# flats taken out of order\ngroup,exposures\n\nlate,8,5\nearly,6,7,\n",
    )
    report = define_groups(butler, "manual", from_file=csv_file, exclusive=True, group_size=2)
    assert (report.new, report.members) == (2, 4)
    assert report.system == GroupSystem("manual", "from-file", True, 2)
    assert groups(butler, "manual") == {"early": [6, 7], "late": [8, 5]}
    yaml_file = write(
        tmp_path / "groups.yaml",
        "groups:\n  - name: late\n    exposures: [8, 5]\n  - {name: 12, exposures: [12, 11]}\n",
    )
    report = define_groups(butler, "manual", from_file=yaml_file, exclusive=True)
    assert (report.new, report.existing) == (1, 1)
    assert groups(butler, "manual")["12"] == [12, 11]


def test_group_quanta_receive_members_in_file_order(butler: Butler, tmp_path: Path) -> None:
    path = write(tmp_path / "g.csv", "group,exposures\nlate,8,5\nearly,6,7\n")
    define_groups(butler, "manual", from_file=path, exclusive=True)
    put_raws(butler)
    pipeline = resolved(butler, ("groups", PerGroup, {}))
    graph = build_graph(butler, pipeline, ["raw"], "run", where="group.system = 'manual'")
    assert len(graph) == 2 * len(DETECTORS)
    for index in range(len(graph)):
        quantum = graph.quantum(index)
        members = [r.data_id["exposure"] for r in quantum.inputs["members"]]
        assert members == ([8, 5] if quantum.data_id["group"] == "late" else [6, 7])


BAD_FILES = [
    ("g.csv", "group,exposures\na,9,10\nb,11,99\n", "g.csv:3: group 'b' has unknown exposure 99"),
    (
        "g.csv",
        "group,exposures\na,9,10\nb,10,11\n",
        "g.csv:3: exposure 10 of group 'b' is already in group 'a' of the exclusive system 'ptc'",
    ),
    (
        "g.csv",
        "group,exposures\na,9,10\nb,11,12,1\n",
        "g.csv:3: group 'b' has 3 exposures; the groups",
    ),
    (
        "g.csv",
        "group,exposures\na,5,6\n\na,7,8\n",
        "g.csv:4: group 'a' is already defined on line 2",
    ),
    (
        "g.csv",
        "group,exposures\n5+6,7,8\n",
        "g.csv:2: group '5+6' already exists in system 'ptc' with the exposures [5, 6], not [7, 8]",
    ),
    ("g.csv", "group,exposures\na,5,x\n", "g.csv:2: exposure 'x' (column 3) of group 'a' is not"),
    ("g.csv", "group,exposures\na/b,9,10\n", "g.csv:2: invalid group name: data ID value"),
    (
        "g.csv",
        "group,exposures\na..b,9,10\n",
        "g.csv:2: invalid group name: data ID value group='a..b' may not contain '..'",
    ),
    ("g.csv", "group,exposures\na,9,9\n", "g.csv:2: exposure 9 appears twice in group 'a'"),
    ("g.csv", "group,exposures\na\n", "g.csv:2: group 'a' has no exposures"),
    ("g.csv", "name,members\na,9,10\n", "g.csv:1: the first line must be the header"),
    ("g.csv", "# nothing\n", "g.csv: no header line 'group,exposures'"),
    (
        "g.yaml",
        "groups:\n  - {name: a, exposures: [9, 10]}\n  - {name: b, exposures: [99, 10]}\n",
        "g.yaml:3: group 'b' has unknown exposure 99",
    ),
    (
        "g.yaml",
        "groups:\n  - {name: a, exposures: [9, 10]}\n  - {name: a, exposures: [11, 12]}\n",
        "g.yaml:3: group 'a' is already defined on line 2",
    ),
    (
        "g.yaml",
        "groups:\n  - {name: a, exposures: [9, ten]}\n",
        "g.yaml:2: exposures of group 'a' must be a list of integer ids",
    ),
    ("g.yaml", "groups:\n  - {name: a}\n", "g.yaml:2: each group is a mapping with the keys"),
    ("g.yaml", "pairs: []\n", "g.yaml:1: a group file holds one key, 'groups'"),
    ("g.yaml", "groups: [\n", "g.yaml:2:"),
    ("g.txt", "a 5 6\n", "g.txt: unknown group file type '.txt'"),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD_FILES)
def test_bad_files_name_the_line_and_write_nothing(
    butler: Butler, tmp_path: Path, name: str, text: str, message: str
) -> None:
    define_groups(butler, "ptc", rule="flat-pairs", exclusive=True)
    with pytest.raises((ConfigError, ConflictError)) as info:
        define_groups(butler, "ptc", from_file=write(tmp_path / name, text), exclusive=True)
    assert str(info.value).startswith(f"{tmp_path}/{message}")
    assert groups(butler, "ptc") == {"5+6": [5, 6], "7+8": [7, 8]}
    assert len(butler.query_dimension_records("group")) == 2


def test_every_problem_is_counted_and_a_new_system_is_not_written(
    sqlite_butler: Butler, tmp_path: Path
) -> None:
    path = write(tmp_path / "g.csv", "group,exposures\na,5,6\nb,6,7\nc,99,1\nd,8,2\n")
    with pytest.raises(GroupDefinitionError) as info:
        define_groups(sqlite_butler, "new", from_file=path, exclusive=True)
    assert str(info.value) == (
        f"{path}:3: exposure 6 of group 'b' is already in group 'a' of the exclusive system "
        "'new' (and 1 more problem)"
    )
    assert system_record(sqlite_butler, "new") is None
    assert sqlite_butler.query_dimension_records("group") == []


def test_option_combinations_are_checked(sqlite_butler: Butler, tmp_path: Path) -> None:
    path = write(tmp_path / "g.csv", "group,exposures\na,5,6\n")
    with pytest.raises(ConfigError, match="give either a rule"):
        define_groups(sqlite_butler, "ptc")
    with pytest.raises(ConfigError, match="give either a rule"):
        define_groups(sqlite_butler, "ptc", rule="flat-pairs", from_file=path)
    with pytest.raises(ConfigError, match="--where, --bind, --stats and --tolerance apply"):
        define_groups(sqlite_butler, "ptc", from_file=path, where="exposure > 1")
    with pytest.raises(ConfigError, match="--stats and --tolerance apply to --rule"):
        define_groups(sqlite_butler, "ptc", from_file=path, stats=["u/stats"])
    with pytest.raises(ConfigError, match="--stats applies to rules that pair by signal"):
        define_groups(sqlite_butler, "ptc", rule="flat-pairs", stats=["u/stats"])
    with pytest.raises(ConfigError, match="--group-size applies to --from-file"):
        define_groups(sqlite_butler, "ptc", rule="flat-pairs", group_size=2)
    assert system_record(sqlite_butler, "ptc") is None
    with pytest.raises(DataIdError, match=r"invalid group_system name: .* may not contain '\.\.'"):
        define_groups(sqlite_butler, "a..b", rule="consecutive 2", where="exposure > 99")
    assert sqlite_butler.query_dimension_records("group_system") == []


def test_instrument_defaults_to_the_only_one(sqlite_butler: Butler) -> None:
    with pytest.raises(RecordNotFoundError, match=r"no instrument 'NoCam' .*; instruments: Cam"):
        define_groups(sqlite_butler, "ptc", rule="flat-pairs", instrument="NoCam")
    sqlite_butler.insert_dimension_records("instrument", [{"name": "Other"}])
    with pytest.raises(
        DataIdError, match=r"choose the instrument with --instrument; .*: Cam, Other"
    ):
        define_groups(sqlite_butler, "ptc", rule="flat-pairs")
    report = define_groups(sqlite_butler, "ptc", rule="flat-pairs", instrument="Other")
    assert (report.instrument, report.new) == ("Other", 0)
    report = define_groups(sqlite_butler, "ptc", rule="flat-pairs", instrument=INSTRUMENT)
    assert report.new == 2


def test_by_keyword_reads_raw_headers(sqlite_simcam: Butler, tmp_path: Path) -> None:
    """PAIRID is no exposure record field: it is read from each exposure's raw file."""
    files = [
        write_raw(tmp_path / f"{seq}_{det}.fits", header(seq, det, "flat", PAIRID=pair))
        for seq, pair in ((1, "p1"), (2, "p2"), (3, "p1"), (4, None))
        for det in (0, 1)
    ]
    assert not ingest_raws(sqlite_simcam, files).refused
    sqlite_simcam.insert_dimension_records(
        "exposure",
        [{"instrument": "SimCam", "id": exposure_id(9), "obs_id": "no raw", "day_obs": 20250301}],
    )
    report = define_groups(sqlite_simcam, "pairs", rule="by-keyword PAIRID", instrument="SimCam")
    assert report.system.rule == "by-keyword PAIRID" and report.system.group_size is None
    assert groups_of(sqlite_simcam, "pairs") == {
        "p1": [exposure_id(1), exposure_id(3)],
        "p2": [exposure_id(2)],
    }
    assert {x.exposure: x.reason for x in report.left_out} == {
        exposure_id(4): "no PAIRID keyword in its raw's header",
        exposure_id(9): "no raw file to read PAIRID from",
    }
    # group_name is a record field: ingest filled it from GROUPID (group<seq // 2>).
    define_groups(sqlite_simcam, "ids", rule="by-keyword group_name", instrument="SimCam")
    assert groups_of(sqlite_simcam, "ids") == {
        "group0": [exposure_id(1)],
        "group1": [exposure_id(2), exposure_id(3)],
        "group2": [exposure_id(4)],
    }


def groups_of(butler: Butler, system: str) -> dict[str, list[int]]:
    data_ids = butler.query_data_ids(
        ["group", "exposure"], data_id={"instrument": "SimCam", "group_system": system}
    )
    result: dict[str, list[int]] = {}
    for data_id in data_ids:
        result.setdefault(str(data_id["group"]), []).append(int(data_id["exposure"]))
    return result
