"""Tasks of the execution tests, with switches that make chosen quanta misbehave.

Pool workers import this module as ``exec.tasks``: spawned processes get the test
process's ``sys.path``, which holds ``tests/``.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from quanta.pipe import (
    Input,
    NoWorkFound,
    Output,
    PipelineTask,
    PipelineTaskConfig,
    PipelineTaskConnections,
)
from quanta.pipe.quantum_io import QuantumIO
from quanta.pipe.task import Candidate, QuantumSpec

EXPOSURE = ("instrument", "detector", "exposure")
DETECTOR = ("instrument", "detector")
#: (exposure, detector) pairs, as the switches of ``ScaleConfig`` name quanta.
Pairs = list[tuple[int, int]]


class ScaleConnections(PipelineTaskConnections, dimensions=EXPOSURE):
    raw = Input("raw", "NumpyArray", EXPOSURE)
    calexp = Output("calexpLike", "NumpyArray", EXPOSURE)


class ScaleConfig(PipelineTaskConfig):
    scale: float = 2.0
    fail_on: Pairs = Field(default_factory=list, description="Raise RuntimeError.")
    no_work_on: Pairs = Field(default_factory=list, description="Raise NoWorkFound.")
    sleep_on: Pairs = Field(default_factory=list, description="Sleep for ten minutes.")
    once_on: Pairs = Field(default_factory=list, description="Misbehave on the first attempt.")
    once_marker: str = Field(default="", description="File whose absence means 'first attempt'.")
    once_kill: bool = Field(default=False, description="SIGKILL instead of raising, once.")
    once_after_write: bool = Field(
        default=False, description="Misbehave once after the outputs are written."
    )
    delay: float = Field(default=0.0, description="Seconds every quantum sleeps first.")
    counter: str = Field(default="", description="File each attempt appends a line to.")


class Scale(PipelineTask):
    """``calexpLike = raw * scale + 1``, unless a switch names this quantum."""

    ConfigClass = ScaleConfig
    ConnectionsClass = ScaleConnections
    config: ScaleConfig

    def run_quantum(self, qio: QuantumIO) -> None:
        key = (int(qio.data_id["exposure"]), int(qio.data_id["detector"]))
        config = self.config
        if config.counter:
            with open(config.counter, "a") as stream:
                stream.write(f"{key[0]} {key[1]}\n")
        self.log.info("scaling exposure %d detector %d", *key)
        time.sleep(config.delay)
        if key in config.fail_on:
            raise RuntimeError(f"injected failure for exposure {key[0]} detector {key[1]}")
        if key in config.no_work_on:
            raise NoWorkFound(f"nothing to do for exposure {key[0]}")
        if key in config.sleep_on:
            time.sleep(600)
        marker = Path(config.once_marker)
        once = key in config.once_on and not marker.exists()
        if once and not config.once_after_write:
            self._misbehave(marker)
        super().run_quantum(qio)
        if once:
            self._misbehave(marker)

    def _misbehave(self, marker: Path) -> None:
        marker.touch()
        if self.config.once_kill:
            os.kill(os.getpid(), signal.SIGKILL)
        raise RuntimeError("first attempt fails")

    def run(self, raw: np.ndarray) -> Mapping[str, Any]:  # type: ignore[override]
        return {"calexp": raw * self.config.scale + 1.0}


class PairConnections(PipelineTaskConnections, dimensions=DETECTOR):
    raws = Input("raw", "NumpyArray", EXPOSURE, multiple=True, minimum=2)
    diff = Output("pairDiff", "StructuredData", DETECTOR)


class PairDiff(PipelineTask):
    """One quantum per pair of consecutive exposures, keyed ``pair=FIRST+SECOND``."""

    ConnectionsClass = PairConnections

    @classmethod
    def generate_quanta(
        cls,
        config: PipelineTaskConfig,
        quantum_data_ids: Sequence[Any],
        candidates: Mapping[str, Sequence[Candidate]],
    ) -> list[QuantumSpec]:
        specs = []
        for data_id in quantum_data_ids:
            refs = sorted(
                (
                    c.ref
                    for c in candidates["raws"]
                    if c.ref.data_id["detector"] == data_id["detector"]
                ),
                key=lambda ref: ref.data_id["exposure"],
            )
            for first, second in zip(refs[::2], refs[1::2], strict=True):
                pair = f"{first.data_id['exposure']}+{second.data_id['exposure']}"
                specs.append(
                    QuantumSpec(data_id.with_extras({"pair": pair}), {"raws": [first, second]})
                )
        return specs

    def run(self, raws: list[np.ndarray]) -> Mapping[str, Any]:  # type: ignore[override]
        return {"diff": {"mean_difference": float(np.mean(raws[1] - raws[0]))}}
