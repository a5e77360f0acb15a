"""The main job: ``demo`` runs the whole calibration flow on simulated data."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .commands_sim import layout_option
from .option_groups import jobs_option
from .params import deprecated_spelling, executor_options

if TYPE_CHECKING:
    from quanta.demo import FlowResult

#: The PTC designs of ``quanta.demo``, named here so that importing the CLI stays light.
DESIGNS = ("groups", "pairs", "inline")


@click.command("demo")
@click.argument(
    "directory",
    required=False,
    default="quanta-demo",
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option(
    "--design",
    type=click.Choice(DESIGNS),
    default="groups",
    show_default=True,
    help="PTC pairing: groups (B1), task-defined pairs (B3) or inside one task (A).",
)
@click.option(
    "--preset",
    type=click.Choice(("quick", "ptc")),
    default="ptc",
    show_default=True,
    help="Simulation size: ptc (20 flat pairs, the demo) or quick (6 pairs, seconds).",
)
@layout_option
@jobs_option("Worker processes [default: all cores].")
@deprecated_spelling("--processes", "--jobs", "jobs", type=click.IntRange(min=1))
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (>= 0).")
@executor_options
def demo(
    directory: Path,
    design: str,
    preset: str,
    layout: str,
    jobs: int | None,
    seed: int,
    executor: str,
    site: str | None,
) -> None:
    """Run the whole calibration flow into DIRECTORY (default: quanta-demo).

    Simulate a night of raws with known truth (SimCam, or --layout decam or lsst),
    create a repository, register the camera, ingest, define flat pairs, build and
    certify the master bias, dark and flat, run the Photon Transfer Curve, and print
    each amplifier's gain and read noise beside the truth, with the paths of the
    plots. DIRECTORY must not hold a repository.
    """
    from quanta.demo import run_calibration_flow

    start = time.perf_counter()
    result = run_calibration_flow(
        directory,
        design,  # type: ignore[arg-type]
        preset,
        jobs,
        seed,
        say=lambda line: click.echo(f"== {line}" if not line.startswith(" ") else line),
        progress=True,
        executor=executor,
        site=site,
        layout=layout,  # type: ignore[arg-type]
    )
    _print_results(result)
    click.echo("plots:")
    for path in result.plots:
        click.echo(f"  {path}")
    click.echo(
        f"done in {time.perf_counter() - start:.1f} s; explore with "
        f"'quanta query-datasets {result.repo} ptc --collections {result.ptc_collection}'"
    )


def _print_results(result: FlowResult) -> None:
    """Gain, noise (intercept and overscan) and a00 per amplifier beside the truth, with
    the relative errors and the fit's quality (SUSPECT rows say why)."""
    from .output import Rows, show

    rows = [
        (
            a.detector,
            a.amp,
            f"{a.gain:.4f}",
            f"{a.gain_truth:.4f}",
            f"{100 * (a.gain / a.gain_truth - 1):+.2f}%",
            f"{a.noise:.3f}",
            f"{100 * (a.noise / a.noise_truth - 1):+.2f}%",
            "-" if a.noise_overscan is None else f"{a.noise_overscan:.3f}",
            "-"
            if a.noise_overscan is None
            else f"{100 * (a.noise_overscan / a.noise_truth - 1):+.2f}%",
            f"{a.noise_truth:.3f}",
            f"{a.a00:.3e}",
            f"{a.a00_truth:.3e}",
            "good" if a.quality == "good" else f"SUSPECT: {a.quality}",
        )
        for a in result.amps
    ]
    columns = [
        "detector",
        "amp",
        "gain (e-/ADU)",
        "true gain",
        "error",
        "noise, intercept (e-)",
        "error",
        "noise, overscan (e-)",
        "error",
        "true noise",
        "a00 (1/e-)",
        "true a00",
        "fit",
    ]
    show(Rows(columns, rows), "table")


COMMANDS = [demo]
