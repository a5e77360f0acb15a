"""ISR on raws built from real headers (DECam: two CCDs of two amplifiers in one file;
MegaPrime: two amplifiers in one HDU with CFHT's own section keywords), ingested through
camera files: every amplifier's imaging pixels come out bias-subtracted and in
electrons, placed where its CCD section says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from astro_metadata_translator import ObservationInfo as Library

from cp.test_end_to_end import run_pipeline
from instruments.real_headers import header, write_raw
from quanta.butler import Butler
from quanta.core.image import Image
from quanta.datastore.formatters.raw import FORMATTER
from quanta.instruments.camera import register_camera
from quanta.instruments.ingest import ingest_raws

ISR_ONLY = {
    "description": "ISR alone: overscan and gain.",
    "tasks": {
        "isr": {
            "class": "quanta.cp.isr.IsrTask",
            "config": {"do_bias": False, "do_dark": False, "do_flat": False},
        }
    },
}
#: header file -> the (CCDNUM, DETPOS) of each CCD written (None: the file's own CCD).
CASES: dict[str, list[tuple[int, str]] | None] = {
    "fitsheader-decam-raw_dec050441_25.yaml": [(25, "S1"), (1, "S29")],
    "fitsheader-megaprime.yaml": None,
}


def camera_from(raw: Path, values: dict[str, Any], detectors: list[int]) -> dict[str, Any]:
    """A camera file whose amplifiers (two per HDU, shared by every CCD) are those the
    raw's own sections describe."""
    truth = Library(dict(values), quiet=True)
    amps = []
    for amp in FORMATTER.read_hdu(raw, 1).amps:
        g = amp.geometry
        amps.append(
            {
                "name": g.name[-1],  # the letter: "S1A" is amplifier A of CCD S1
                "data": g.data.to_fits(),
                "overscan": g.overscan.to_fits(),
                **({"prescan": g.prescan.to_fits()} if g.prescan else {}),
                "detector": g.detector.to_fits(),
            }
        )
    return {
        "name": f"My{truth.instrument}",
        "translator": str(truth.instrument),
        "filters": [{"name": str(truth.physical_filter)}],
        "amplifier_layouts": {"ccd": amps},
        "detectors": [{"id": d, "name": f"D{d}", "layout": "ccd"} for d in detectors],
    }


@pytest.mark.parametrize("name", sorted(CASES))
def test_isr_on_real_layouts_gives_electrons_in_place(tmp_path: Path, name: str) -> None:
    values = header(name)
    ccds = CASES[name]
    extensions = [{"CCDNUM": n, "DETPOS": p, "EXTNAME": p} for n, p in ccds] if ccds else [{}]
    raw = write_raw(tmp_path / "raws" / "raw.fits", values, extensions=extensions, full=True)
    truth = Library(dict(values), quiet=True)
    detectors = [n for n, _ in ccds] if ccds else [int(truth.detector_num)]
    (tmp_path / "cam.yaml").write_text(yaml.safe_dump(camera_from(raw, values, detectors)))
    (tmp_path / "isr.yaml").write_text(yaml.safe_dump(ISR_ONLY))
    butler = Butler.create(tmp_path / "repo")
    camera, _ = register_camera(butler, tmp_path / "cam.yaml")
    report = ingest_raws(butler, [raw])
    assert (len(report.ingested), report.refused, report.warnings) == (len(detectors), [], [])
    run = run_pipeline(
        butler, str(tmp_path / "isr.yaml"), [f"{camera.name}/raw/all"], "u/isr", "exposure > 0"
    )
    for detector in detectors:
        raw_image = butler.get(
            "raw",
            instrument=camera.name,
            detector=detector,
            exposure=truth.exposure_id,
            collections=f"{camera.name}/raw/all",
        )
        image = butler.get(
            "postISRCCD",
            instrument=camera.name,
            detector=detector,
            exposure=truth.exposure_id,
            collections=run,
        )
        assert isinstance(image, Image)
        for number, amp in enumerate(raw_image.amps, 1):
            # The synthetic raw: its bias level everywhere, plus 100 n in amplifier n's
            # imaging pixels; ISR leaves 100 n ADU times the amplifier's header gain.
            gain = float(amp.header["GAIN"])
            placed = image.image[amp.geometry.detector.slices]
            np.testing.assert_allclose(placed, 100 * number * gain, rtol=1e-5)
