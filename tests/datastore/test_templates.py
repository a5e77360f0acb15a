"""File templates: rendering, optional fields, overrides, uniqueness, refusal of unsafe values."""

from __future__ import annotations

import itertools

import pytest

from quanta.core import DataCoordinate, DatasetRef, DatasetType, DimensionUniverse
from quanta.core.errors import ConfigError, DataIdError
from quanta.datastore import DEFAULT_TEMPLATE, FileTemplate, FileTemplates

from .conftest import MakeRef


def render(universe: DimensionUniverse, text: str, ref: DatasetRef) -> str:
    return FileTemplate(text, universe).render(ref)


def test_default_template_for_a_raw(universe: DimensionUniverse, make_ref: MakeRef) -> None:
    ref = make_ref("raw", run="SimCam/raw/all")
    assert FileTemplates(universe).path(ref) == "SimCam/raw/all/raw/SimCam/12/raw_SimCam_1001_12"


def test_default_template_drops_absent_optional_fields(
    universe: DimensionUniverse, make_ref: MakeRef
) -> None:
    bias = make_ref("bias", ("instrument", "detector"), run="r")
    assert FileTemplates(universe).path(bias) == "r/bias/SimCam/12/bias_SimCam_12"
    camera = make_ref("camera", ("instrument",), run="r")
    assert FileTemplates(universe).path(camera) == "r/camera/SimCam/camera_SimCam"
    sky = make_ref("skyMap", (), run="r")
    assert FileTemplates(universe).path(sky) == "r/skyMap/skyMap"


def test_default_template_appends_dimensions_it_does_not_name(
    universe: DimensionUniverse, make_ref: MakeRef
) -> None:
    coadd = make_ref("deepCoadd", ("patch",), skymap="rings", tract=9, patch=41, run="r")
    assert FileTemplates(universe).path(coadd) == "r/deepCoadd/deepCoadd_rings_9_41"
    pair = make_ref("ptcPair", ("group", "detector"), group_system="flatPairs", group="g7", run="r")
    expected = "r/ptcPair/SimCam/12/ptcPair_SimCam_12_flatPairs_g7"
    assert FileTemplates(universe).path(pair) == expected


def test_extras_are_rendered_as_key_value(universe: DimensionUniverse, make_ref: MakeRef) -> None:
    ref = make_ref("cpPtcPair", ("instrument", "detector"), extras={"pair": "1001+1002"}, run="r")
    expected = "r/cpPtcPair/SimCam/12/cpPtcPair_SimCam_12_pair-1001+1002"
    assert FileTemplates(universe).path(ref) == expected
    no_extras_field = render(universe, "{run}/{dataset_type}_{detector}", ref)
    assert no_extras_field == "r/cpPtcPair_12_SimCam_pair-1001+1002"


def test_default_template_gives_unique_paths(
    universe: DimensionUniverse, make_ref: MakeRef
) -> None:
    templates = FileTemplates(universe)
    refs = [
        make_ref("calexp", exposure=e, detector=d, instrument=i, run="r")
        for e, d, i in itertools.product((1, 11, 111), (1, 11), ("A", "A_1"))
    ]
    refs += [
        make_ref(
            "flat",
            ("day_obs", "physical_filter", "detector"),
            day_obs=n,
            detector=1,
            physical_filter=f,
            run="r",
        )
        for n, f in itertools.product((20240101, 20240102), ("g", "r"))
    ]
    refs += [
        make_ref("pair", ("detector",), extras={"pair": p}, detector=1, run="r")
        for p in ("1+2", "1+3")
    ]
    paths = [templates.path(ref) for ref in refs]
    assert len(set(paths)) == len(refs)


def test_optional_field_at_segment_start_drops_the_following_separator(
    universe: DimensionUniverse, make_ref: MakeRef
) -> None:
    ref = make_ref("bias", ("instrument", "detector"), run="r")
    text = "{run}/{exposure:?}_{dataset_type}_{detector}"
    assert render(universe, text, ref) == "r/bias_12_SimCam"
    assert render(universe, "{run}/{dataset_type}/{exposure:?}", ref) == "r/bias_SimCam_12"
    assert render(universe, "{exposure:?}-{run}/{storage_class}", ref) == (
        "r/StructuredData_SimCam_12"
    )


def test_implied_dimension_is_available_once_expanded(
    universe: DimensionUniverse, make_ref: MakeRef
) -> None:
    ref = make_ref("calexp", run="r")
    text = "{run}/{physical_filter:?}/{exposure}_{detector}"
    assert render(universe, text, ref) == "r/1001_12_SimCam"
    implied = dict(physical_filter="SimCam-r", day_obs=20240101, band="r")
    expanded_id = ref.data_id.expanded(tuple(implied[k] for k in ref.data_id.group.implied), {})
    expanded = DatasetRef(ref.id, ref.dataset_type, expanded_id, ref.run)
    assert render(universe, text, expanded) == "r/SimCam-r/1001_12_SimCam"
    with pytest.raises(DataIdError, match=r"needs 'physical_filter'.*\{physical_filter:\?\}"):
        render(universe, "{run}/{physical_filter}/{exposure}", ref)


def test_overrides_apply_per_dataset_type(universe: DimensionUniverse, make_ref: MakeRef) -> None:
    templates = FileTemplates(
        universe, overrides={"raw": "{run}/raw/{instrument}/{exposure}/{detector}"}
    )
    assert templates.path(make_ref("raw", run="r")) == "r/raw/SimCam/1001/12"
    assert templates.path(make_ref("calexp", run="r")) == "r/calexp/SimCam/12/calexp_SimCam_1001_12"
    assert templates.template_for("calexp").text == DEFAULT_TEMPLATE


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{run}/{detectr}", r"unknown field 'detectr'; valid fields: run, .*detector"),
        ("{dataset_type}/{detector}", r"must contain '\{run\}'"),
        ("{run:?}/{detector}", r"must contain '\{run\}'"),
        ("{run}/{detector:>4}", r"spec '>4'"),
        ("{run}/{detector", "unmatched brace"),
        ("/{run}/{detector}", "relative path"),
        ("{run}/../{detector}", "relative path"),
        ("{run}//{detector}", "relative path"),
        ("{run}/{detector}/", "relative path"),
        ("{run}/.{detector}", "relative path"),
    ],
)
def test_invalid_templates_are_refused_at_construction(
    universe: DimensionUniverse, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        FileTemplate(text, universe)


def test_invalid_override_is_refused(universe: DimensionUniverse) -> None:
    with pytest.raises(ConfigError, match="unknown field 'visits'"):
        FileTemplates(universe, overrides={"calexp": "{run}/{visits}"})


def _raw_ref(
    universe: DimensionUniverse,
    values: tuple[str | int, ...],
    extras: tuple[tuple[str, str], ...] = (),
    run: str = "r",
) -> DatasetRef:
    """A ref whose data ID bypasses DataCoordinate's validation, as a buggy caller might."""
    group = universe.group(["instrument", "exposure", "detector"])
    data_id = DataCoordinate(group, values, extras=extras)
    return DatasetRef.for_output(DatasetType("calexp", group, "Image"), data_id, run)


HOSTILE = ["a/b", "..", "a..b", "x\x00", "x\ny", "\\evil", "", "tab\there", "rlo\u202e", "ls\u2028"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_data_id_values_are_refused(universe: DimensionUniverse, value: str) -> None:
    with pytest.raises(DataIdError, match="cannot be used in a file name"):
        FileTemplates(universe).path(_raw_ref(universe, (value, 1, 2)))


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_extras_are_refused(universe: DimensionUniverse, value: str) -> None:
    ref = _raw_ref(universe, ("SimCam", 1, 2), extras=(("pair", value),))
    with pytest.raises(DataIdError, match="cannot be used in a file name"):
        FileTemplates(universe).path(ref)


@pytest.mark.parametrize(
    "run", ["a/../b", "..", "/abs/run", "a//b", "run/", "u/.hidden", "a\\b", "run\n", "r\x00"]
)
def test_hostile_run_names_are_refused(universe: DimensionUniverse, run: str) -> None:
    with pytest.raises(DataIdError, match="cannot be used as a directory"):
        FileTemplates(universe).path(_raw_ref(universe, ("SimCam", 1, 2), run=run))


def test_value_starting_a_segment_with_a_dot_is_refused(universe: DimensionUniverse) -> None:
    ref = _raw_ref(universe, (".hidden", 1, 2))
    with pytest.raises(DataIdError, match=r"one starting with '\.'"):
        FileTemplates(universe).path(ref)
