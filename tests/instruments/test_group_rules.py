"""The shipped grouping rules on hand-made exposure records, and loading rules by name."""

from __future__ import annotations

from typing import Any

import pytest

from quanta.core.errors import ConfigError, UnknownNameError
from quanta.core.records import DimensionRecord
from quanta.core.universe import DimensionUniverse
from quanta.instruments.groups import Group, LeftOut, RuleSpec, known_rules, load_rule
from quanta.instruments.groups.builtin import ByKeywordRule, ConsecutiveRule, FlatPairsRule

UNIVERSE = DimensionUniverse.default()
NIGHT = 20250101


def exposure(id: int, seconds: float | None = 1.0, **values: Any) -> DimensionRecord:
    """An exposure record of night ``NIGHT`` (unless given), a flat unless given."""
    data = {
        "instrument": "Cam",
        "id": id,
        "obs_id": f"E{id}",
        "day_obs": NIGHT,
        "exposure_time": seconds,
        "observation_type": "flat",
        **values,
    }
    return DimensionRecord.from_mapping(UNIVERSE, "exposure", data)


def flats(*seconds: float | None) -> list[DimensionRecord]:
    return [exposure(i, s) for i, s in enumerate(seconds, start=1)]


def test_flat_pairs_names_pairs_and_reports_a_third_match() -> None:
    grouping = FlatPairsRule().group(flats(1.0, 1.0, 1.0, 2.0, 2.0), {})
    assert grouping.groups == [Group("1+2", (1, 2)), Group("4+5", (4, 5))]
    assert grouping.left_out == [
        LeftOut(3, "third flat of exposure time 1 s after the pair 1+2"),
    ]


def test_flat_pairs_pairs_four_matches_twice_and_leaves_out_lone_flats() -> None:
    grouping = FlatPairsRule().group(flats(3.0, 1.0, 1.0, 1.0, 1.0, 2.0, None), {})
    assert [g.name for g in grouping.groups] == ["2+3", "4+5"]
    assert grouping.left_out == [
        LeftOut(
            1, f"no neighbouring flat of day_obs {NIGHT} with exposure time 3 s (within 0.005 s)"
        ),
        LeftOut(
            6, f"no neighbouring flat of day_obs {NIGHT} with exposure time 2 s (within 0.005 s)"
        ),
        LeftOut(7, "no exposure time"),
    ]


def test_flat_pairs_tolerance() -> None:
    records = flats(1.0, 1.004, 2.0, 2.006)
    default = FlatPairsRule().group(records, {})
    assert [g.members for g in default.groups] == [(1, 2)]
    assert [x.exposure for x in default.left_out] == [3, 4]
    wide = load_rule(RuleSpec.parse("flat-pairs", tolerance=0.01))
    assert [g.members for g in wide.group(records, {}).groups] == [(1, 2), (3, 4)]
    assert wide.text == "flat-pairs --tolerance 0.01"
    strict = FlatPairsRule(0.0).group(records, {})
    assert strict.groups == []


def test_flat_pairs_considers_only_flats_of_one_night() -> None:
    records = [
        exposure(1, 5.0),
        exposure(2, 5.0, observation_type="bias"),
        exposure(3, 5.0),
        exposure(4, 7.0),
        exposure(5, 7.0, day_obs=NIGHT + 1),
    ]
    grouping = FlatPairsRule().group(records, {})
    assert grouping.groups == [Group("1+3", (1, 3))]
    assert [x.exposure for x in grouping.left_out] == [4, 5]


def test_consecutive_groups_each_night_and_reports_the_remainder() -> None:
    records = [exposure(i) for i in range(1, 8)] + [
        exposure(i, day_obs=NIGHT + 1) for i in (8, 9, 10)
    ]
    rule = load_rule(RuleSpec.parse("consecutive 3"))
    assert (rule.text, rule.group_size) == ("consecutive 3", 3)
    grouping = rule.group(records, {})
    assert grouping.groups == [
        Group("1-3", (1, 2, 3)),
        Group("4-6", (4, 5, 6)),
        Group("8-10", (8, 9, 10)),
    ]
    assert grouping.left_out == [
        LeftOut(7, f"one of the last 1 exposures of day_obs {NIGHT}, fewer than 3")
    ]
    singles = ConsecutiveRule(1).group(records[:2], {})
    assert [g.name for g in singles.groups] == ["1", "2"]


def test_by_keyword_on_a_record_field() -> None:
    records = [
        exposure(1, group_name="g1"),
        exposure(2, group_name="g2"),
        exposure(3, group_name="g1"),
        exposure(4),
    ]
    rule = ByKeywordRule("group_name")
    assert rule.header_keywords(UNIVERSE["exposure"].field_names) == ()
    grouping = rule.group(records, {})
    assert grouping.groups == [Group("g1", (1, 3)), Group("g2", (2,))]
    assert grouping.left_out == [LeftOut(4, "no group_name value in its exposure record")]
    assert rule.group_size is None


def test_by_keyword_on_a_header_keyword() -> None:
    rule = load_rule(RuleSpec.parse("by-keyword pairid"))
    assert rule.header_keywords(UNIVERSE["exposure"].field_names) == ("PAIRID",)
    headers = {1: {"PAIRID": 7}, 2: {}, 3: {"PAIRID": 7}}
    grouping = rule.group(flats(1.0, 1.0, 1.0, 1.0), headers)
    assert grouping.groups == [Group("7", (1, 3))]
    assert grouping.left_out == [
        LeftOut(2, "no PAIRID keyword in its raw's header"),
        LeftOut(4, "no raw file to read PAIRID from"),
    ]


def test_shipped_rules_are_entry_points() -> None:
    assert {"flat-pairs", "by-keyword", "consecutive"} <= set(known_rules())
    assert isinstance(load_rule(RuleSpec("flat-pairs")), FlatPairsRule)


@pytest.mark.parametrize(
    ("text", "tolerance", "error", "message"),
    [
        ("pairs", None, UnknownNameError, "unknown grouping rule 'pairs'; known rules: by-key"),
        ("", None, ConfigError, "empty rule"),
        ("flat-pairs 2", None, ConfigError, "rule 'flat-pairs' takes --by-signal"),
        ("consecutive", None, ConfigError, "takes 1 argument (N, the group size), got none"),
        ("consecutive two", None, ConfigError, "needs an integer group size, got 'two'"),
        ("consecutive 0", None, ConfigError, "group size of 1 or more, got 0"),
        ("consecutive 2", 0.1, ConfigError, "rule 'consecutive' takes no --tolerance"),
        ("by-keyword A B", None, ConfigError, "takes 1 argument"),
        ("flat-pairs", -1.0, ConfigError, "--tolerance must be zero or more seconds"),
        ("by-keyword 'A", None, ConfigError, "cannot parse rule"),
    ],
)
def test_bad_rules_are_refused(
    text: str, tolerance: float | None, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_rule(RuleSpec.parse(text, tolerance))
