"""Simulated camera data: ``simulate``."""

from __future__ import annotations

import re
import time
from pathlib import Path

import click

from .option_groups import progress_option

#: The presets of ``quanta.sim.PRESETS``, named here so that importing the CLI stays light.
PRESET_NAMES = ("quick", "ptc", "full")
#: The raw layouts of ``quanta.sim.layouts.LAYOUTS``, likewise.
LAYOUT_NAMES = ("simcam", "decam", "lsst")
#: ``--layout``, shared by ``simulate`` and ``demo``.
layout_option = click.option(
    "--layout",
    type=click.Choice(LAYOUT_NAMES),
    default="simcam",
    show_default=True,
    help="Raw layout: simcam (one HDU per amplifier), decam (SimDECam: one file per "
    "exposure, two amplifiers per CCD HDU, DECam headers) or lsst (16 LSST-like amplifier "
    "HDUs).",
)

_AMP_SIZE = re.compile(r"^(\d+)[xX](\d+)$")


def parse_amp_size(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> tuple[int, int] | None:
    """``WxH`` as (width, height) in pixels."""
    if value is None:
        return None
    match = _AMP_SIZE.match(value.strip())
    if match is None:
        raise click.BadParameter(f"{value!r} is not WIDTHxHEIGHT, for example 509x2000")
    return int(match.group(1)), int(match.group(2))


@click.command("simulate")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--preset",
    type=click.Choice(PRESET_NAMES),
    default="quick",
    show_default=True,
    help="Camera size and night plan: quick (tests), ptc (calibration demo), full (benchmarks).",
)
@click.option("--detectors", type=int, help="Number of detectors (overrides the preset).")
@click.option(
    "--amps",
    type=int,
    help="Amplifiers per detector: 1 or even (overrides the preset; decam has 2, lsst 16).",
)
@click.option(
    "--amp-size",
    metavar="WxH",
    callback=parse_amp_size,
    help="Imaging pixels of one amplifier, e.g. 509x2000 (overrides the preset).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (>= 0).")
@layout_option
@click.option(
    "--zero-noise",
    is_flag=True,
    help="No photon or read noise, no brighter-fatter, no rounding: float32 pixels.",
)
@click.option(
    "--lamp-drift",
    type=float,
    metavar="FRACTION",
    help="The flat lamp brightens by this fraction between the flats of one exposure "
    "time (each time is taken three times); truth.json records each flat's flux.",
)
@click.option(
    "--photodiode/--no-photodiode",
    default=None,
    help="Write the lamp's photodiode charge into each flat's header (PHOTODIO).",
)
@progress_option
def simulate(
    outdir: Path,
    preset: str,
    detectors: int | None,
    amps: int | None,
    amp_size: tuple[int, int] | None,
    seed: int,
    layout: str,
    zero_noise: bool,
    lamp_drift: float | None,
    photodiode: bool | None,
    progress: bool,
) -> None:
    """Simulate raws with known truth.

    Write one night of raw multi-extension FITS files (biases, darks, flat pairs
    and science frames; one file per exposure and detector, or per exposure for
    --layout decam, with its camera.yaml) into OUTDIR, with truth.json holding
    every detector's and amplifier's true parameters.
    """
    from quanta.exec.progress import step_progress
    from quanta.sim import simulate as run_simulation

    start = time.perf_counter()
    with step_progress(progress) as shown:
        summary = run_simulation(
            outdir,
            preset,
            detectors,
            amps,
            amp_size,
            seed,
            zero_noise,
            layout,
            lamp_drift=lamp_drift,
            photodiode=photodiode,
            progress=shown,
        )
    elapsed = time.perf_counter() - start
    size = summary.preset
    click.echo(
        f"preset {size.name}, layout {layout}: {size.detectors} detector(s) x "
        f"{size.amps} amplifier(s) of "
        f"{size.amp_size[0]}x{size.amp_size[1]} pixels, seed {seed}"
        + (", zero noise" if zero_noise else "")
    )
    counts = ", ".join(f"{len(paths)} {kind}" for kind, paths in summary.files.items())
    click.echo(
        f"wrote {summary.n_files} raw files to {summary.outdir} in {elapsed:.1f} s: {counts}"
    )
    click.echo(f"truth: {summary.truth_path}")


COMMANDS = (simulate,)
