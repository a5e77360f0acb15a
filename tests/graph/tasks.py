"""Small tasks used to exercise the graph builder."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from quanta.pipe import (
    Input,
    NoWorkFound,
    Output,
    PipelineTask,
    PipelineTaskConfig,
    PipelineTaskConnections,
    PrerequisiteInput,
)
from quanta.pipe.task import Candidate, QuantumSpec

EXPOSURE = ("instrument", "detector", "exposure")
DETECTOR = ("instrument", "detector")


class PerExposureConnections(PipelineTaskConnections, dimensions=EXPOSURE):
    raw = Input("raw", "NumpyArray", EXPOSURE)
    calexp = Output("calexp", "NumpyArray", EXPOSURE)


class PerExposure(PipelineTask):
    ConnectionsClass = PerExposureConnections


class PerDetectorConnections(PipelineTaskConnections, dimensions=DETECTOR):
    calexps = Input("calexp", "NumpyArray", EXPOSURE, multiple=True, minimum=2)
    summary = Output("summary", "StructuredData", DETECTOR)


class PerDetector(PipelineTask):
    ConnectionsClass = PerDetectorConnections


class CalibratedConnections(PipelineTaskConnections, dimensions=EXPOSURE):
    raw = Input("raw", "NumpyArray", EXPOSURE)
    bias = PrerequisiteInput("bias", "NumpyArray", DETECTOR, is_calibration=True)
    flat = PrerequisiteInput(
        "flat", "NumpyArray", ("instrument", "detector", "physical_filter"), is_calibration=True
    )
    corrected = Output("corrected", "NumpyArray", EXPOSURE)


class Calibrated(PipelineTask):
    ConnectionsClass = CalibratedConnections


class SkipDetectorConfig(PipelineTaskConfig):
    skip_detector: int = 3


class Adjusting(PipelineTask):
    """Drops the quanta of one detector while the graph is built."""

    ConnectionsClass = PerExposureConnections
    ConfigClass = SkipDetectorConfig

    @classmethod
    def adjust_quantum(cls, config: Any, data_id: Any, inputs: dict) -> dict:
        if data_id["detector"] == config.skip_detector:
            raise NoWorkFound("detector skipped by config")
        return inputs


class PairConnections(PipelineTaskConnections, dimensions=DETECTOR):
    flats = Input("raw", "NumpyArray", EXPOSURE, multiple=True, minimum=2)
    pair_stat = Output("pairStat", "StructuredData", DETECTOR)


class Pairs(PipelineTask):
    """One quantum per pair of consecutive flats with equal exposure times."""

    ConnectionsClass = PairConnections

    @classmethod
    def generate_quanta(
        cls,
        config: Any,
        quantum_data_ids: Sequence[Any],
        candidates: Mapping[str, Sequence[Candidate]],
    ) -> list[QuantumSpec]:
        specs = []
        for data_id in quantum_data_ids:
            flats = sorted(
                (c for c in candidates["flats"] if c.ref.data_id["detector"] == data_id["detector"]
                 and c.records["exposure"].observation_type == "flat"),
                key=lambda c: c.ref.data_id["exposure"],
            )  # fmt: skip
            for first, second in zip(flats[::2], flats[1::2], strict=False):
                t1 = first.records["exposure"].exposure_time
                if t1 == second.records["exposure"].exposure_time:
                    pair = f"{first.ref.data_id['exposure']}+{second.ref.data_id['exposure']}"
                    specs.append(
                        QuantumSpec(
                            data_id.with_extras({"pair": pair}),
                            {"flats": [first.ref, second.ref]},
                        )
                    )
        return specs


class PerPairConnections(PipelineTaskConnections, dimensions=DETECTOR):
    pair_stat = Input("pairStat", "StructuredData", DETECTOR)
    derived = Output("pairDerived", "StructuredData", DETECTOR)


class PerPair(PipelineTask):
    ConnectionsClass = PerPairConnections


class GroupConnections(PipelineTaskConnections, dimensions=("instrument", "group", "detector")):
    members = Input("raw", "NumpyArray", EXPOSURE, multiple=True, minimum=2)
    stat = Output("groupStat", "StructuredData", ("instrument", "group", "detector"))


class PerGroup(PipelineTask):
    ConnectionsClass = GroupConnections
