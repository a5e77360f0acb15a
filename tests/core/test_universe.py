"""The dimension universe: default contents, closure of groups, malformed files."""

from __future__ import annotations

from pathlib import Path

import pytest

from quanta.core import DimensionUniverse
from quanta.core.errors import ConfigError, DimensionNotFoundError
from quanta.core.universe import DEFAULT_UNIVERSE_PATH, load_universe


def test_default_universe_declares_the_documented_dimensions() -> None:
    universe = DimensionUniverse.default()
    expected = {
        "instrument", "detector", "physical_filter", "band", "day_obs", "exposure", "visit",
        "group_system", "group", "skymap", "tract", "patch",
    }  # fmt: skip
    assert set(universe.dimensions) == expected
    exposure = universe["exposure"]
    assert exposure.has_timespan
    assert set(exposure.implied) == {"physical_filter", "day_obs"}
    fields = {f.name: f.type for f in exposure.fields}
    assert fields["exposure_time"] == "float" and fields["obs_id"] == "string"
    assert {"exposure_time", "dark_time", "observation_type", "obs_id", "seq_num"} <= set(fields)
    membership = universe.joins["group_membership"]
    assert membership.dimensions == ("group", "exposure")
    assert [f.name for f in membership.fields] == ["position"]


def test_groups_close_over_requirements_and_implications() -> None:
    universe = DimensionUniverse.default()
    group = universe.group(["exposure", "detector"])
    assert group.required == ("instrument", "detector", "exposure")
    assert set(group.implied) == {"physical_filter", "band", "day_obs"}
    assert universe.group(["group"]).required == ("instrument", "group_system", "group")
    assert universe.group(["patch"]).required == ("skymap", "tract", "patch")
    assert universe.group(["detector"]).issubset(group)


def test_unknown_dimension_lists_valid_names() -> None:
    with pytest.raises(DimensionNotFoundError, match="valid dimensions: instrument"):
        DimensionUniverse.default().group(["exposures"])


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nnamespace: x\ndimensions:\n  a: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml:\d+"):
        load_universe(path)


def test_invalid_field_type_names_the_line(tmp_path: Path) -> None:
    text = DEFAULT_UNIVERSE_PATH.read_text().replace(
        "{name: seq_num, type: int}", "{name: seq_num, type: integer}"
    )
    path = tmp_path / "u.yaml"
    path.write_text(text)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "type: integer" in t)
    with pytest.raises(ConfigError) as info:
        load_universe(path)
    assert f"u.yaml:{line}:" in str(info.value)
    assert "fields.1.type" in str(info.value)


def test_reference_to_unknown_dimension_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "u.yaml"
    path.write_text(
        "version: 1\nnamespace: t\ndimensions:\n"
        "  a:\n    key: {name: id, type: int}\n    requires: [b]\n"
    )
    with pytest.raises(ConfigError, match="unknown dimension 'b'"):
        load_universe(path)


def test_dependency_cycle_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "u.yaml"
    path.write_text(
        "version: 1\nnamespace: t\ndimensions:\n"
        "  a:\n    key: {name: id, type: int}\n    requires: [b]\n"
        "  b:\n    key: {name: id, type: int}\n    requires: [a]\n"
    )
    with pytest.raises(ConfigError, match="cycle"):
        load_universe(path)
