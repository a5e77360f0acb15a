"""The flat-pair rule's other modes: by measured signal, by photodiode charge, by order."""

from __future__ import annotations

import pytest

from quanta.core.errors import ConfigError
from quanta.instruments.groups import Group, LeftOut, RuleSpec, load_rule
from quanta.instruments.groups.builtin import FlatPairsRule

from .test_group_rules import NIGHT, exposure, flats


def rule(text: str) -> FlatPairsRule:
    loaded = load_rule(RuleSpec.parse(text))
    assert isinstance(loaded, FlatPairsRule)
    return loaded


def test_by_signal_pairs_the_flats_that_agree_not_those_of_one_time() -> None:
    # A lamp 2 % brighter from the second flat of each time on: 1+2 would mismatch.
    signals = {1: 1000.0, 2: 1020.0, 3: 1021.0, 4: 4000.0, 5: 4080.0, 6: 4080.0}
    values = {e: {"SIGNAL": v} for e, v in signals.items()}
    chosen = rule("flat-pairs --by-signal 0.005")
    assert chosen.text == "flat-pairs --by-signal 0.005" and chosen.needs_signals
    grouping = chosen.group(flats(1.0, 1.0, 1.0, 4.0, 4.0, 4.0), values)
    assert grouping.groups == [Group("2+3", (2, 3)), Group("5+6", (5, 6))]
    assert grouping.left_out == [
        LeftOut(1, f"no neighbouring flat of day_obs {NIGHT} with a signal within 0.5% of 1000"),
        LeftOut(4, f"no neighbouring flat of day_obs {NIGHT} with a signal within 0.5% of 4000"),
    ]
    assert FlatPairsRule().group(flats(1.0, 1.0, 1.0), {}).groups == [Group("1+2", (1, 2))]


def test_by_photodiode_reads_the_header_keyword_and_leaves_out_flats_without() -> None:
    chosen = rule("flat-pairs --by-photodiode 0.01")
    assert chosen.header_keywords(()) == ("PHOTODIO",) and not chosen.needs_signals
    headers = {1: {"PHOTODIO": 1.0}, 2: {"PHOTODIO": 1.005}, 3: {}}
    grouping = chosen.group(flats(1.0, 2.0, 2.0), headers)
    assert grouping.groups == [Group("1+2", (1, 2))]
    assert grouping.left_out == [LeftOut(3, "no photodiode measured")]


def test_by_order_pairs_neighbours_whatever_their_times() -> None:
    chosen = rule("flat-pairs --by-order")
    assert chosen.text == "flat-pairs --by-order"
    records = [*flats(1.0, 5.0, 9.0), exposure(4, 1.0, observation_type="bias")]
    grouping = chosen.group(records, {})
    assert grouping.groups == [Group("1+2", (1, 2))]
    assert grouping.left_out == [LeftOut(3, f"last of an odd number of flats of day_obs {NIGHT}")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("flat-pairs --by-signal", "takes 1 argument"),
        ("flat-pairs --by-signal x", "--by-signal needs a fraction, got 'x'"),
        ("flat-pairs --by-signal -0.1", "the signal tolerance must be zero or more"),
        ("flat-pairs --by-order 2", "takes no argument"),
        ("flat-pairs --by-colour 2", "takes --by-signal, --by-photodiode, --by-order"),
    ],
)
def test_bad_modes_are_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        rule(text)
