"""Property: any ``where`` text, however hostile, either runs or raises a ``QuantaError``,
on both backends, and the repository is unchanged afterwards.

Texts come from two sources: arbitrary characters (surrogates, NUL and control characters
included), and sequences of the language's own tokens (names, fields, operators, values of
every kind and size, keywords, brackets), which reach far deeper into the compiler. The
examples are derandomized so that the suite is the same on every run.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quanta.butler import Butler
from quanta.core.errors import QuantaError
from quanta.core.timespan import Timespan
from repo_state import repo_state

NAMES = [
    "instrument",
    "detector",
    "exposure",
    "band",
    "physical_filter",
    "day_obs",
    "visit",
    "group",
    "exposure.obs_id",
    "exposure.exposure_time",
    "exposure.observation_type",
    "exposure.seq_num",
    "exposure.timespan",
    "exposure.timespan.begin",
    "exposure.timespan.end",
    "exposure.timespan.middle",
    "day_obs.timespan",
    "detector.full_name",
    "instrument.detector_max",
    "group_system.exclusive",
    "physical_filter.band",
    "nosuch",
    "exposure.nosuch",
    "pair",
]
VALUES = [
    "0",
    "-1",
    "9223372036854775807",
    "9223372036854775808",
    "-99999999999999999999999",
    "1.5",
    "1e308",
    "1e309",
    "-0.0",
    "TRUE",
    "false",
    "'Cam'",
    "'it''s'",
    "''",
    "'a\x00b'",
    "'\udcff'",
    "'\U0001f600'",
    "T'2025-01-01T20:00:00'",
    "T'2300-01-01T00:00:00'",
    "T'not a time'",
    ":i",
    ":s",
    ":nul",
    ":f",
    ":b",
    ":many",
    ":big",
    ":span",
    ":none",
    ":missing",
]
SYNTAX = [
    "=",
    "!=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "AND",
    "OR",
    "NOT",
    "IN",
    "NOT IN",
    "OVERLAPS",
    "(",
    ")",
    ",",
    "..",
    ":",
    "1..5",
    "5..1",
    "1..9:0",
    "1..9:2",
    ";",
    "--",
    "'",
    "\x00",
]
BINDS: dict[str, Any] = {
    "i": 5,
    "s": "CAM_20250101_0005",
    "nul": "a\x00",
    "f": 2.5,
    "b": True,
    "many": [1, "x", 2**70],
    "big": 2**70,
    "span": Timespan(0, 10),
    "none": None,
}
TOKENS = st.lists(st.sampled_from(NAMES + VALUES + SYNTAX), max_size=12).map(" ".join)
#: Comparisons, IN lists and boolean combinations of them, built the way people write them.
PREDICATE = st.builds(
    "{} {} {}".format,
    st.sampled_from(NAMES),
    st.sampled_from(["=", "!=", "<", ">=", "IN", "NOT IN", "OVERLAPS"]),
    st.sampled_from([*VALUES, *NAMES, "(1, 2..4, :i)", "(T'2025-01-01T20:00:00', :span)"]),
)
#: Predicates that type-check, so that many combinations reach the database.
TYPED = {
    "exposure": ["=", "<", ">=", "!="],
    "detector": ["=", "<=", ">"],
    "exposure.exposure_time": ["<", ">", "="],
    "instrument.detector_max": [">", "="],
}
_NUMBERS = ["0", "3", "-1", "30.0", "1e3", "9223372036854775807", ":i", ":f"]
WELL_TYPED = st.one_of(
    st.builds(
        "{} {} {}".format,
        st.sampled_from(list(TYPED)),
        st.sampled_from([">", "<", "=", "!=", ">=", "<="]),
        st.sampled_from(_NUMBERS),
    ),
    st.builds(
        "{} {} ({})".format,
        st.sampled_from(["exposure", "detector", "exposure.seq_num"]),
        st.sampled_from(["IN", "NOT IN"]),
        st.sampled_from(["1..3", "0..12:4", "1, 2, :i", ":many", "9223372036854775807"]),
    ),
    st.builds(
        "{} {} {}".format,
        st.sampled_from(["exposure.obs_id", "exposure.observation_type", "instrument", "band"]),
        st.sampled_from(["=", "!=", "<", ">="]),
        st.sampled_from(["'bias'", "'Cam'", "'g'", ":s", "'it''s'", "'\U0001f600'"]),
    ),
    st.builds(
        "{} OVERLAPS {}".format,
        st.sampled_from(["exposure.timespan", "day_obs.timespan"]),
        st.sampled_from(
            ["T'2025-01-01T20:01:00'", ":span", ":i", "(T'2025-01-01T20:00:00', T'2026-01-01')"]
        ),
    ),
)
COMBINED = st.lists(st.one_of(WELL_TYPED, PREDICATE), min_size=1, max_size=4).flatmap(
    lambda terms: st.sampled_from([" AND ", " OR ", " AND NOT "]).map(lambda op: op.join(terms))
)
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
WHERE = st.one_of(ANY_TEXT, TOKENS, COMBINED)


def _query(butler: Butler, where: str, kind: str) -> None:
    if kind == "records":
        butler.query_dimension_records("exposure", where=where, binds=BINDS)
    elif kind == "data IDs":
        butler.query_data_ids(["exposure", "detector"], where=where, binds=BINDS)
    else:
        butler.query_datasets("flux", ["u/run"], where=where, binds=BINDS)


def test_any_where_runs_or_raises_a_quanta_error(butler: Butler) -> None:
    butler.register_dataset_type("flux", ["instrument", "detector", "exposure"], "NumpyArray")
    butler.put(np.arange(3.0), "flux", instrument="Cam", detector=1, exposure=5, run="u/run")
    before = repo_state(butler)

    @settings(
        max_examples=200,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(where=WHERE, kind=st.sampled_from(["records", "data IDs", "datasets"]))
    def run(where: str, kind: str) -> None:
        with contextlib.suppress(QuantaError):
            _query(butler, where, kind)

    run()
    assert repo_state(butler) == before
