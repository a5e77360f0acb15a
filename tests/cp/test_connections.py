"""Connections the config decides: ``PipelineTaskConnections.omitted`` and ISR's use of it."""

from __future__ import annotations

from collections.abc import Collection

import pytest

from quanta.core import DimensionUniverse
from quanta.core.errors import ConfigError
from quanta.cp.isr import IsrConfig, IsrConnections
from quanta.pipe import Input, Output, PipelineTaskConfig, PipelineTaskConnections
from quanta.pipe.connections import resolve_connections
from quanta.pipe.pipeline import Pipeline

EXPOSURE = ("instrument", "detector", "exposure")


class _WrongConnections(PipelineTaskConnections, dimensions=EXPOSURE):
    raw = Input("raw", "NumpyArray", EXPOSURE)
    out = Output("out", "NumpyArray", EXPOSURE)

    @classmethod
    def omitted(cls, config: PipelineTaskConfig) -> Collection[str]:
        return ["raw", "nonesuch"]


@pytest.fixture(scope="module")
def universe() -> DimensionUniverse:
    return DimensionUniverse.default()


def test_by_default_nothing_is_omitted(universe: DimensionUniverse) -> None:
    assert PipelineTaskConnections.omitted(PipelineTaskConfig()) == ()
    everything = resolve_connections("isr", IsrConnections, {}, universe)
    curated = {"crosstalk", "linearity", "gains", "defects"}
    assert set(everything.prerequisites) == {"bias", "dark", "flat", *curated, "brighter_fatter"}


@pytest.mark.parametrize(
    ("switches", "prerequisites"),
    [
        ({}, {"bias", "dark", "flat"}),
        ({"do_flat": False}, {"bias", "dark"}),
        ({"do_bias": False, "do_dark": False, "do_flat": False}, set()),
        ({"do_bias": False}, {"dark", "flat"}),
        (
            {"do_defects": True, "do_linearity": True, "do_flat": False},
            {"bias", "dark", "defects", "linearity"},
        ),
        ({"do_crosstalk": True, "do_gains": True}, {"bias", "dark", "flat", "crosstalk", "gains"}),
    ],
)
def test_isr_has_the_prerequisites_its_config_asks_for(
    universe: DimensionUniverse, switches: dict[str, bool], prerequisites: set[str]
) -> None:
    config = IsrConfig(**switches)
    resolved = resolve_connections("isr", IsrConnections, {}, universe, config)
    assert set(resolved.prerequisites) == prerequisites
    assert set(resolved.inputs) == {"raw"} and set(resolved.outputs) == {"post_isr"}


def test_an_omitted_unknown_connection_is_a_config_error(universe: DimensionUniverse) -> None:
    with pytest.raises(ConfigError, match=r"config omits unknown connection.*'nonesuch'"):
        resolve_connections("t", _WrongConnections, {}, universe, PipelineTaskConfig())


@pytest.mark.parametrize(
    ("name", "prerequisites", "output"),
    [("cp_bias", [], "bias"), ("cp_dark", ["bias"], "dark"), ("cp_flat", ["bias", "dark"], "flat")],
)
def test_shipped_pipelines(
    universe: DimensionUniverse, name: str, prerequisites: list[str], output: str
) -> None:
    resolved = Pipeline.load(name).resolve(universe)
    assert resolved.labels[0] == "isr"
    assert resolved.prerequisites == prerequisites
    assert resolved.overall_inputs == ["raw"]
    master = resolved.dataset_types[output]
    assert master.is_calibration and master.storage_class == "Image"
    assert resolved.producers["postISRCCD"] == "isr"
    # A saved graph rebuilds the pipeline from its JSON: the omissions survive.
    again = type(resolved).from_json(resolved.to_json(), universe)
    assert again.prerequisites == prerequisites


def test_pipeline_overrides_switch_calibrations_on(universe: DimensionUniverse) -> None:
    pipeline = Pipeline.load("cp_dark").with_overrides([("isr", "do_flat", True)])
    assert pipeline.resolve(universe).prerequisites == ["bias", "flat"]
    # A bias cannot be a prerequisite of the pipeline that makes it.
    pipeline = Pipeline.load("cp_bias").with_overrides([("isr", "do_bias", True)])
    with pytest.raises(ConfigError, match="prerequisite input 'bias' is written by"):
        pipeline.resolve(universe)
