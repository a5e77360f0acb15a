"""The main job: the whole calibration flow on simulated data, from raws to a Photon Transfer
Curve checked against the truth of the simulation.

``run_calibration_flow`` simulates a night (``ptc`` preset) into a directory, in any of the
simulator's raw layouts (SimCam's, the DECam-like SimDECam, or LSST-like amplifiers),
creates a repository beside it, registers the camera, ingests the raws, defines the flat
pairs as an exclusive group system, builds and certifies the master bias, dark and flat,
and runs one of the three PTC pipelines. ``quanta demo`` calls it and prints the measured
gain and noise of every amplifier beside the truth. It sits above ``exec``,
``instruments`` and ``sim`` because it drives all of them, as a user would.
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
#: The raw layouts of the simulator (``quanta.sim.layouts``).
RawLayout = Literal["simcam", "decam", "lsst"]
#: The PTC pipeline of each pairwise design.
PTC_PIPELINES = {"groups": "ptc_groups", "pairs": "ptc_pairs", "inline": "ptc_inline"}
INSTRUMENT = "SimCam"


def raw_collection(instrument: str) -> str:
    """Where an instrument's raws are ingested: ``<instrument>/raw/all``."""
    return f"{instrument}/raw/all"


def calib_collection(instrument: str) -> str:
    """Where the flow certifies an instrument's masters: ``<instrument>/calib``."""
    return f"{instrument}/calib"


#: SimCam's collections (the default layout's).
RAW = raw_collection(INSTRUMENT)
CALIB = calib_collection(INSTRUMENT)
#: The group system of flat pairs the demo defines.
PAIR_SYSTEM = "flatPairs"
FOREVER = Timespan(None, None)


@dataclass(frozen=True)
class AmpResult:
    """One amplifier's measured and true gain (e-/ADU), read noise (e-: the PTC intercept's
    and the overscan's, None without) and a00 (1/e-), and the fit's quality."""

    detector: int
    amp: str
    gain: float
    gain_truth: float
    noise: float
    noise_truth: float
    a00: float
    a00_truth: float
    noise_overscan: float | None = None
    quality: str = "good"


@dataclass
class FlowResult:
    """What the flow made: the repository, the PTC collection, per-amplifier results,
    the plot files, how long each step took (s), and the simulated instrument."""

    repo: Path
    ptc_collection: str
    amps: list[AmpResult]
    plots: list[Path]
    timings: dict[str, float] = field(default_factory=dict)
    instrument: str = INSTRUMENT


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
    layout: RawLayout = "simcam",
) -> FlowResult:
    """Run the whole flow inside ``directory`` (created; it must not hold a repository
    yet) on raws of ``layout`` (``simcam``, ``decam`` or ``lsst``; see ``quanta.sim``).
    ``say`` receives one line per step. The registry is SQLite unless ``db`` names
    another database. ``executor``, ``processes`` and ``site`` choose where quanta run as
    in ``quanta run`` (``choose_executor``), except that on this machine ``processes``
    defaults to every core; on Parsl every pipeline runs on one cluster started for the
    flow."""
    from .butler import Butler
    from .exec.executor_choice import LOCAL, choose_executor
    from .instruments.groups import define_groups
    from .instruments.ingest import ingest_raws
    from .sim import simulate
    from .sim.layouts import get_layout

    if design not in PTC_PIPELINES:
        raise ConfigError(f"unknown PTC design {design!r}; designs: {', '.join(PTC_PIPELINES)}")
    instrument = get_layout(layout).instrument
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

    raws = directory / "raws"
    with step("simulate", f"simulating the {preset!r} preset ({layout} layout) into {raws}"):
        summary = simulate(raws, preset=preset, seed=seed, layout=layout)
    with step("create", f"creating the repository {repo}"):
        butler = Butler.create(repo, db=db)
    with ExitStack() as cleanup:
        cleanup.callback(butler.close)
        running = chosen.start(butler.root)
        cleanup.callback(running.shutdown)
        with step("ingest", f"registering {instrument} and ingesting the raws"):
            _register(butler, instrument, summary.camera_path)
            ingested = ingest_raws(butler, [raws])
            if ingested.refused:
                path, reason = ingested.refused[0]
                raise ConfigError(
                    f"{len(ingested.refused)} simulated raws were refused; first: {path}: {reason}"
                )
        with step("groups", f"defining flat pairs (group system {PAIR_SYSTEM!r})"):
            defined = define_groups(
                butler, PAIR_SYSTEM, rule="flat-pairs", exclusive=True, instrument=instrument
            )
            say(f"  {defined.summary()}")
        with step("masters", "building the master calibrations"):
            certify_masters(
                butler, running, progress, say=lambda line: say(f"  {line}"), instrument=instrument
            )
        where = (
            f"group.system = '{PAIR_SYSTEM}'"
            if design == "groups"
            else "exposure.observation_type = 'flat'"
        )
        with step("ptc", f"running the Photon Transfer Curve ({PTC_PIPELINES[design]})"):
            pipeline = PTC_PIPELINES[design]
            inputs = [raw_collection(instrument), calib_collection(instrument)]
            ptc_run = _run(butler, pipeline, inputs, "u/demo/ptc", where, running, progress)
        truth = json.loads(summary.truth_path.read_text())
        amps, plots = _results(butler, ptc_run, truth)
    return FlowResult(repo, ptc_run, amps, plots, timings, instrument)


def _register(butler: Any, instrument: str, camera: Path | None) -> None:
    """Register the simulated camera: from the camera file the simulator wrote, or the
    shipped instrument of that name (SimCam)."""
    from .instruments import get_instrument
    from .instruments.camera import register_camera

    if camera is not None:
        register_camera(butler, camera)
    else:
        get_instrument(instrument).register(butler)


def certify_masters(
    butler: Any,
    executor: Executor | None = None,
    progress: bool = False,
    say: Callable[[str], None] = lambda _: None,
    instrument: str = INSTRUMENT,
) -> None:
    """Build the master bias, dark and flat from the ingested raws of ``instrument``, each
    certified into ``<instrument>/calib`` (valid forever) before the next is built, as the
    README's workflow; quanta run on ``executor`` (default: in this process)."""
    from .exec import InlineExecutor

    executor = executor or InlineExecutor()
    raw, calib = raw_collection(instrument), calib_collection(instrument)
    for calibration in ("bias", "dark", "flat"):
        say(f"building and certifying the master {calibration}")
        inputs = [raw] if calibration == "bias" else [raw, calib]
        run = _run(
            butler,
            f"cp_{calibration}",
            inputs,
            f"u/demo/{calibration}",
            f"exposure.observation_type = '{calibration}'",
            executor,
            progress,
        )
        butler.certify(calib, butler.query_datasets(calibration, [run]), FOREVER)


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
                    fit.get("noise_overscan"),
                    fit.get("quality", "good"),
                )
            )
        uri = butler.get_uri("ptcPlot", ref.data_id, collections=[run])
        plots.append(Path(url2pathname(urlparse(uri).path)))
    return amps, plots


#: The legacy mapper whose repositories ``write_legacy_night`` writes.
LEGACY_MAPPER = "lsst.obs.simcam.SimCamMapper"
#: How many days either side of the night a legacy master is valid.
LEGACY_VALIDITY_DAYS = 15


def write_legacy_night(
    directory: Path,
    preset: str = "quick",
    processes: int = 1,
    seed: int = 0,
    say: Callable[[str], None] = lambda _: None,
) -> Path:
    """Write a legacy directory-tree repository of one simulated night into
    ``directory/legacy``: raws filed by the SimCam policy's templates with their raw
    registry, and master bias, dark and flat made by quanta's own pipelines (in a scratch
    repository, removed after) with their calibration registry, each valid for
    ``LEGACY_VALIDITY_DAYS`` days either side of the night. Converting it and rebuilding
    the masters in quanta gives the same pixels: a parity check that must pass."""
    import datetime
    import shutil
    import tempfile

    from .butler import Butler
    from .convert.legacy_writer import (
        file_simcam_raws,
        write_calib_registry,
        write_mapper,
        write_raw_registry,
    )
    from .convert.mapper import policy_of
    from .convert.registries import CalibRow
    from .core.yaml_io import load_yaml
    from .exec.executor_choice import choose_executor
    from .instruments.ingest import ingest_raws
    from .sim import simulate

    root = Path(directory) / "legacy"
    if root.exists():
        raise ConfigError(f"{root} already exists; give a new directory")
    policy = load_yaml(policy_of(LEGACY_MAPPER))
    say(f"simulating the {preset!r} preset into {directory / 'sim'}")
    summary = simulate(Path(directory) / "sim", preset=preset, seed=seed)
    sources = [path for paths in summary.files.values() for path in paths]
    write_mapper(root, LEGACY_MAPPER)
    detectors = range(json.loads(summary.truth_path.read_text())["camera"]["detectors"])
    filed = file_simcam_raws(
        root, policy["exposures"]["raw"]["template"], sources, {d: d for d in detectors}
    )
    write_raw_registry(root / "registry.sqlite3", [row for _, _, row in filed])
    say(f"filed {len(filed)} raws under {root}")
    night = datetime.date.fromisoformat(str(filed[0][1]["dateObs"]))
    span = datetime.timedelta(days=LEGACY_VALIDITY_DAYS)
    calib_date, start, end = (d.isoformat() for d in (night, night - span, night + span))
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="quanta-legacy-") as scratch,
        Butler.create(Path(scratch) / "repo") as butler,
    ):
        say("building the master bias, dark and flat with quanta's pipelines")
        _register(butler, INSTRUMENT, None)
        ingest_raws(butler, sources, jobs=processes)
        running = choose_executor(None, processes, None, None).start(butler.root)
        try:
            certify_masters(butler, running, say=lambda line: say(f"  {line}"))
        finally:
            running.shutdown()
        for kind in ("bias", "dark", "flat"):
            for ref in butler.query_datasets(kind, [CALIB], find_first=False):
                filter_name = str(ref.data_id.get("physical_filter", "NONE"))
                ccd = int(ref.data_id["detector"])
                data_id = {"calibDate": calib_date, "ccd": ccd, "filter": filter_name}
                target = root / "CALIB" / (policy["calibrations"][kind]["template"] % data_id)
                target.parent.mkdir(parents=True, exist_ok=True)
                source = url2pathname(urlparse(butler.get_uri(ref)).path)
                shutil.copyfile(source, target)
                ccd = int(ref.data_id["detector"])
                rows.append(CalibRow(kind, filter_name, ccd, calib_date, start, end))
    write_calib_registry(root / "CALIB" / "calibRegistry.sqlite3", rows)
    say(f"wrote {len(rows)} master calibrations dated {calib_date} under {root / 'CALIB'}")
    return root
