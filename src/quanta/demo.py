"""The main job: the whole calibration flow on simulated data, from raws to a Photon Transfer
Curve checked against the truth of the simulation.

``run_calibration_flow`` simulates a night of SimCam (``ptc`` preset) into a directory,
creates a repository beside it, ingests the raws, defines the flat pairs as an exclusive
group system, builds and certifies the master bias, dark and flat, and runs one of the
three PTC pipelines. ``quanta demo`` calls it and prints the measured gain and noise of
every amplifier beside the truth. It sits above ``exec``, ``instruments`` and ``sim``
because it drives all of them, as a user would.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse
from urllib.request import url2pathname

from .core.errors import ConfigError
from .core.timespan import Timespan

if TYPE_CHECKING:
    from .exec.executors import Executor
    from .exec.sites import Site

Design = Literal["groups", "pairs", "inline"]
#: The PTC pipeline of each pairwise design.
PTC_PIPELINES = {"groups": "ptc_groups", "pairs": "ptc_pairs", "inline": "ptc_inline"}
INSTRUMENT = "SimCam"
RAW = f"{INSTRUMENT}/raw/all"
CALIB = f"{INSTRUMENT}/calib"
#: The group system of flat pairs the demo defines.
PAIR_SYSTEM = "flatPairs"
FOREVER = Timespan(None, None)


@dataclass(frozen=True)
class AmpResult:
    """One amplifier's measured and true gain (e-/ADU), read noise (e-) and a00 (1/e-)."""

    detector: int
    amp: str
    gain: float
    gain_truth: float
    noise: float
    noise_truth: float
    a00: float
    a00_truth: float


@dataclass
class FlowResult:
    """What the flow made: the repository, the PTC collection, per-amplifier results,
    the plot files, and how long each step took (s)."""

    repo: Path
    ptc_collection: str
    amps: list[AmpResult]
    plots: list[Path]
    timings: dict[str, float] = field(default_factory=dict)


def run_calibration_flow(
    directory: Path,
    design: Design = "groups",
    preset: str = "ptc",
    processes: int | None = None,
    seed: int = 0,
    say: Callable[[str], None] = lambda _: None,
    progress: bool = False,
    db: str | None = None,
    site: str | Path | Site | None = None,
    executor: str | None = None,
) -> FlowResult:
    """Run the whole flow inside ``directory`` (created; it must not hold a repository
    yet). ``say`` receives one line per step. The registry is SQLite unless ``db`` names
    another database. ``executor``, ``processes`` and ``site`` choose where quanta run as
    in ``quanta run`` (``choose_executor``), except that on this machine ``processes``
    defaults to every core; on Parsl every pipeline runs on one cluster started for the
    flow."""
    from .butler import Butler
    from .exec.executor_choice import LOCAL, choose_executor
    from .instruments import get_instrument
    from .instruments.groups import define_groups
    from .instruments.ingest import ingest_raws
    from .sim import simulate

    if design not in PTC_PIPELINES:
        raise ConfigError(f"unknown PTC design {design!r}; designs: {', '.join(PTC_PIPELINES)}")
    directory = Path(directory)
    repo = directory / "repo"
    if repo.exists():
        raise ConfigError(f"{repo} already exists; give the demo a new directory")
    if processes is None and site is None and executor in (None, LOCAL):
        processes = os.cpu_count() or 1
    chosen = choose_executor(executor, processes, None, site)
    timings: dict[str, float] = {}

    @contextmanager
    def step(name: str, message: str) -> Iterator[None]:
        """Say what the step does and time it into ``timings``."""
        say(message)
        start = time.perf_counter()
        yield
        timings[name] = time.perf_counter() - start

    with step("simulate", f"simulating the {preset!r} preset into {directory / 'raws'}"):
        summary = simulate(directory / "raws", preset=preset, seed=seed)
    with step("create", f"creating the repository {repo}"):
        butler = Butler.create(repo, db=db)
    with ExitStack() as cleanup:
        cleanup.callback(butler.close)
        running = chosen.start(butler.root)
        cleanup.callback(running.shutdown)
        with step("ingest", "registering SimCam and ingesting the raws"):
            get_instrument(INSTRUMENT).register(butler)
            ingested = ingest_raws(butler, [directory / "raws"])
            if ingested.refused:
                raise ConfigError(f"{len(ingested.refused)} simulated raws were refused")
        with step("groups", f"defining flat pairs (group system {PAIR_SYSTEM!r})"):
            defined = define_groups(
                butler, PAIR_SYSTEM, rule="flat-pairs", exclusive=True, instrument=INSTRUMENT
            )
            say(f"  {defined.summary()}")
        with step("masters", "building the master calibrations"):
            certify_masters(butler, running, progress, say=lambda line: say(f"  {line}"))
        where = (
            f"group.system = '{PAIR_SYSTEM}'"
            if design == "groups"
            else "exposure.observation_type = 'flat'"
        )
        with step("ptc", f"running the Photon Transfer Curve ({PTC_PIPELINES[design]})"):
            pipeline = PTC_PIPELINES[design]
            ptc_run = _run(butler, pipeline, [RAW, CALIB], "u/demo/ptc", where, running, progress)
        truth = json.loads(summary.truth_path.read_text())
        amps, plots = _results(butler, ptc_run, truth)
    return FlowResult(repo, ptc_run, amps, plots, timings)


def certify_masters(
    butler: Any,
    executor: Executor | None = None,
    progress: bool = False,
    say: Callable[[str], None] = lambda _: None,
) -> None:
    """Build the master bias, dark and flat from the ingested raws, each certified into
    ``SimCam/calib`` (valid forever) before the next is built, as the README's workflow;
    quanta run on ``executor`` (default: in this process)."""
    from .exec import InlineExecutor

    executor = executor or InlineExecutor()
    for calibration in ("bias", "dark", "flat"):
        say(f"building and certifying the master {calibration}")
        inputs = [RAW] if calibration == "bias" else [RAW, CALIB]
        run = _run(
            butler,
            f"cp_{calibration}",
            inputs,
            f"u/demo/{calibration}",
            f"exposure.observation_type = '{calibration}'",
            executor,
            progress,
        )
        butler.certify(CALIB, butler.query_datasets(calibration, [run]), FOREVER)


def _run(
    butler: Any,
    pipeline: str,
    inputs: list[str],
    output: str,
    where: str,
    executor: Executor,
    progress: bool,
) -> str:
    """Run one pipeline into a new run of ``output``; its run name. Any failure stops the flow."""
    from .exec import ExecutionSettings
    from .exec.workflow import run_pipeline
    from .graph.planning import RunRequest

    request = RunRequest(output, pipeline, inputs, where)
    report = run_pipeline(butler, request, ExecutionSettings(progress=progress), executor=executor)
    if not report.ok:
        first = report.failures[0] if report.failures else None
        detail = f": {first.label} {first.data_id}: {first.message}" if first else ""
        raise ConfigError(f"pipeline {pipeline} did not complete{detail}")
    return report.run


def _results(butler: Any, run: str, truth: dict[str, Any]) -> tuple[list[AmpResult], list[Path]]:
    """Every amplifier's PTC beside its truth, and the plot files, from the PTC run."""
    amps, plots = [], []
    for ref in sorted(butler.query_datasets("ptc", [run]), key=lambda r: r.data_id["detector"]):
        detector = int(ref.data_id["detector"])
        ptc = butler.get(ref)
        true_amps = truth["detectors"][str(detector)]["amps"]
        for amp, fit in sorted(ptc["amps"].items()):
            expected = true_amps[amp]
            amps.append(
                AmpResult(
                    detector,
                    amp,
                    fit["gain"],
                    expected["gain"],
                    fit["noise"],
                    expected["read_noise"],
                    fit["a00"],
                    expected["a00"],
                )
            )
        uri = butler.get_uri("ptcPlot", ref.data_id, collections=[run])
        plots.append(Path(url2pathname(urlparse(uri).path)))
    return amps, plots
