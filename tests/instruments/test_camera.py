"""Camera files: loading, the checks that name file, line and field, and registration."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from quanta.butler import Butler
from quanta.cli.main import cli
from quanta.core.errors import ConfigError, ConflictError
from quanta.core.raw import Section
from quanta.instruments.camera import load_camera, register_camera, shipped_camera
from quanta.instruments.simcam import SimCam
from quanta.instruments.simcam_layout import FILTERS, amp_geometry

#: A two-detector camera with two amplifiers per detector, read out from opposite corners.
TWO_AMPS = """\
name: TwoAmp
translator: DECam
filters:
  - {name: g DECam SDSS c0001 4720.0 1520.0, band: g}
  - {name: solid plate 0.0 0.0, band: null}
amplifier_layouts:
  pair:
    - name: A
      prescan: "[1:6,1:100]"
      data: "[7:56,1:100]"
      overscan: "[57:66,1:100]"
      detector: "[1:50,1:100]"
      gain: 4.0
      read_noise: 6.5
      saturation: 42000
      linearity_limit: 38000
    - name: B
      prescan: "[1:6,1:100]"
      data: "[7:56,1:100]"
      overscan: "[57:66,1:100]"
      detector: "[51:100,1:100]"
      readout_corner: LR
detectors:
  - {id: 2, name: S2, serial: "S3-119", layout: pair}
  - {id: 1, name: S1, type: FOCUS, layout: pair}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "camera.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_a_camera_file_gives_detectors_amplifiers_and_filters(tmp_path: Path) -> None:
    camera = load_camera(_write(tmp_path, TWO_AMPS))
    assert camera.name == "TwoAmp" and camera.translator == "DECam"
    assert camera.filters == {"g DECam SDSS c0001 4720.0 1520.0": "g", "solid plate 0.0 0.0": None}
    assert [d.id for d in camera.detectors] == [1, 2]
    focus, science = camera.detectors
    assert (focus.purpose, science.purpose, science.serial) == ("FOCUS", "SCIENCE", "S3-119")
    a, b = science.amplifiers
    assert a.geometry.data == Section(0, 100, 6, 56)
    assert a.geometry.prescan == Section(0, 100, 0, 6)
    assert a.geometry.overscan == Section(0, 100, 56, 66)
    assert (a.gain, a.read_noise, a.saturation, a.linearity_limit) == (4.0, 6.5, 42000, 38000)
    assert a.geometry.detector == Section(0, 100, 0, 50)
    assert b.geometry.detector == Section(0, 100, 50, 100, flip_x=True)
    assert b.gain is None
    assert camera.detector(2) is science
    with pytest.raises(KeyError):
        camera.detector(3)


def test_simcam_is_its_camera_file_plus_its_translator() -> None:
    camera = shipped_camera("SimCam")
    assert camera.filters == FILTERS
    full = tuple(amp_geometry())
    assert [d.full_name for d in camera.detectors] == [f"S{i:02d}" for i in range(16)]
    assert all(tuple(a.geometry for a in d.amplifiers) == full for d in camera.detectors)
    assert SimCam().detectors == camera.detectors and SimCam().filters == FILTERS


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'overscan: "[57:66,1:100]"\n      detector: "[1:50',
            'overscan: "[50:66,1:100]"\n      detector: "[1:50',
            ":11: amplifier 'A': sections data and overscan overlap",
        ),
        (
            'detector: "[51:100,1:100]"',
            'detector: "[40:89,1:100]"',
            ":21: amplifiers 'A' and 'B' cover the same detector pixels",
        ),
        (
            'detector: "[51:100,1:100]"',
            'detector: "[51:100,1:90]"',
            ":21: amplifier 'B': its detector section [51:100,1:90] is 50 x 90 pixels but its "
            "data section [7:56,1:100] is 50 x 100 pixels",
        ),
        (
            'detector: "[51:100,1:100]"',
            'detector: "[51:100,1:]"',
            ":21: invalid FITS section '[51:100,1:]'; expected [x1:x2,y1:y2]",
        ),
        (
            "      readout_corner: LR",
            "      readout_corner: LR\n      gain: -1",
            ":23: amplifier_layouts.pair.1.gain: Input should be greater than 0",
        ),
        (
            '      overscan: "[57:66,1:100]"\n      detector: "[51',
            '      detector: "[51',
            ":17: amplifier_layouts.pair.1.overscan: Field required",
        ),
        ("layout: pair}\n  - {id: 1", "layout: pairs}\n  - {id: 1", ":24: detector 'S2': unknown"),
        ("{id: 1, name: S1,", "{id: 2, name: S1,", ":25: detector id 2 repeats"),
        (
            "  - {name: solid plate 0.0 0.0, band: null}",
            "  - {name: g DECam SDSS c0001 4720.0 1520.0}",
            ":5: filter 'g DECam SDSS c0001 4720.0 1520.0' repeats",
        ),
        ("name: TwoAmp", "name: Two Amp", ":1: name: String should match pattern"),
        ("layout: pair}\n  - {id: 1", "}\n  - {id: 1", ":24: detector 'S2': give either"),
    ],
)
def test_bad_camera_files_name_the_line_and_field(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in TWO_AMPS
    path = _write(tmp_path, TWO_AMPS.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_camera(path)
    assert str(caught.value).startswith(f"{path}{message}"), str(caught.value)
    assert "\n" not in str(caught.value)


def test_readout_corner_must_agree_with_a_reversed_section(tmp_path: Path) -> None:
    text = TWO_AMPS.replace('"[51:100,1:100]"', '"[100:51,1:100]"')
    assert load_camera(_write(tmp_path, text)).detectors[0].amplifiers[1].geometry.detector.flip_x
    with pytest.raises(ConfigError, match="readout corner UL disagrees"):
        load_camera(_write(tmp_path, text.replace("readout_corner: LR", "readout_corner: UL")))


def test_register_camera_writes_records_and_keeps_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, TWO_AMPS)
    butler = Butler.create(tmp_path / "repo")
    camera, new = register_camera(butler, path)
    assert camera.name == "TwoAmp" and new == 1 + 1 + 2 + 2
    assert (butler.root / "cameras" / "TwoAmp.yaml").read_text() == path.read_text()
    assert register_camera(butler, path)[1] == 0
    (detector,) = butler.query_dimension_records("detector", where="detector.id = 2")
    assert (detector.full_name, detector.purpose) == ("S2", "SCIENCE")
    (instrument,) = butler.query_dimension_records("instrument")
    assert instrument.class_name == "camera:cameras/TwoAmp.yaml"
    changed = tmp_path / "changed.yaml"
    changed.write_text(TWO_AMPS.replace("name: S1,", "name: S1-focus,"))
    with pytest.raises(ConflictError, match="full_name"):
        register_camera(butler, changed)
    assert (butler.root / "cameras" / "TwoAmp.yaml").read_text() == path.read_text()
    assert [p.name for p in (butler.root / "cameras").iterdir()] == ["TwoAmp.yaml"]
    butler.close()


def test_register_instrument_with_a_camera_file_on_the_command_line(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    runner = CliRunner()
    assert runner.invoke(cli, ["create", str(repo)]).exit_code == 0
    path = _write(tmp_path, TWO_AMPS)
    result = runner.invoke(cli, ["register-instrument", str(repo), "--camera", str(path)])
    assert (result.exit_code, result.stdout) == (0, "registered TwoAmp: 6 new dimension records\n")
    both = runner.invoke(cli, ["register-instrument", str(repo), "SimCam", "--camera", str(path)])
    assert both.exit_code == 2 and "not both" in both.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(TWO_AMPS.replace("band: g}", "band: g, color: green}"))
    result = runner.invoke(cli, ["register-instrument", str(repo), "--camera", str(bad)])
    assert result.exit_code == 2
    assert result.stderr == (f"error: {bad}:4: filters.0.color: Extra inputs are not permitted\n")


def test_the_documented_camera_file_example_loads(tmp_path: Path) -> None:
    page = (Path(__file__).parents[2] / "docs" / "howto" / "camera.md").read_text()
    section = page[page.index("## Camera files") :]
    example = section[section.index("```yaml\n") + 8 : section.index("```\n", 10)]
    camera = load_camera(_write(tmp_path, example))
    assert camera.name == "MyCam" and [d.full_name for d in camera.detectors] == ["S1", "S2"]
    b = camera.detectors[0].amplifiers[1]
    assert b.geometry.detector.flip_x and camera.detectors[0].amplifiers[0].gain == 4.1
