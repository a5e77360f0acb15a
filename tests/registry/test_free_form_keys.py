"""Free-form data ID keys (``pair``) in dataset queries, on both databases: ``where``
selects by them with =, != and IN, values with LIKE's special characters match only
themselves, and a name no dataset of the type carries is still an unknown name."""

from __future__ import annotations

import pytest

from quanta.butler import Butler
from quanta.core import DataCoordinate, DatasetRef
from quanta.core.errors import QueryError
from repo_data import INSTRUMENT

PAIRS = ["1001+1002", "1003+1004", "10_3%+x", 'q"uote']


@pytest.fixture
def pairs(butler: Butler) -> Butler:
    dt = butler.register_dataset_type("cpPair", ["instrument", "detector"], "NumpyArray")
    butler.registry.register_run("pairs")
    base = DataCoordinate.standardize({"instrument": INSTRUMENT, "detector": 1}, dt.dimensions)
    refs = [DatasetRef.for_output(dt, base.with_extras({"pair": p}), "pairs") for p in PAIRS]
    refs.append(DatasetRef.for_output(dt, base, "pairs"))
    butler.registry.insert_datasets(refs)
    return butler


def found(butler: Butler, where: str, **binds: object) -> list[str | None]:
    refs = butler.query_datasets("cpPair", ["pairs"], where=where, binds=binds)
    return sorted(str(ref.data_id.extras.get("pair")) for ref in refs)


def test_where_selects_by_a_free_form_key(pairs: Butler) -> None:
    assert found(pairs, "pair = '1003+1004'") == ["1003+1004"]
    assert found(pairs, "pair IN ('1001+1002', :p)", p="10_3%+x") == ["1001+1002", "10_3%+x"]
    assert found(pairs, "pair != '1001+1002' AND detector = 1") == sorted(
        ["1003+1004", "10_3%+x", 'q"uote']
    )
    assert found(pairs, "pair = :p", p='q"uote') == ['q"uote']
    assert found(pairs, "pair NOT IN ('1001+1002', '1003+1004')") == sorted(["10_3%+x", 'q"uote'])


def test_like_characters_and_prefixes_match_only_themselves(pairs: Butler) -> None:
    assert found(pairs, "pair = '10_3%'") == []
    assert found(pairs, "pair = '1001+100'") == []
    assert found(pairs, "pair = '1_03+1004'") == []


def test_free_form_keys_take_values_and_equality_only(pairs: Butler) -> None:
    with pytest.raises(QueryError, match="pair is a free-form key"):
        found(pairs, "pair > '1001'")
    with pytest.raises(QueryError, match="pair is a free-form key: no ranges"):
        found(pairs, "pair IN (1..3)")
    with pytest.raises(QueryError, match="unknown name 'pairr'"):
        found(pairs, "pairr = '1001+1002'")


def test_query_datasets_lists_a_column_per_free_form_key(pairs: Butler) -> None:
    from quanta.cli.operations import dataset_rows

    rows = dataset_rows(pairs, "cpPair", ["pairs"], find_first=False)
    assert rows.columns == ["type", "run", "id", "instrument", "detector", "pair"]
    assert [row[-1] for row in rows.rows] == [None, *sorted(PAIRS)]
