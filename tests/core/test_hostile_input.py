"""Files no one should write (nested thousands deep, keys that are lists, bytes that are not
UTF-8, NUL) are refused with one line naming the file and the line, through the shared
YAML loader, by every reader of pipeline, group, site and repository files."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from quanta.butler import Butler
from quanta.butler.config import RepoConfig
from quanta.cli.main import cli
from quanta.core.errors import ConfigError
from quanta.core.group_files import read_group_file
from quanta.core.yaml_io import MAX_DEPTH, YamlDepthError, load_yaml
from quanta.exec.sites import load_site
from quanta.pipe.config import parse_override
from quanta.pipe.pipeline import Pipeline
from repo_state import repo_state

SCALE = "quanta.pipe.examples.ScaleTask"
DEEP_FLOW = "[" * 3000 + "]" * 3000
DEEP_BLOCK = "".join(" " * i + "k:\n" for i in range(1, 3001))


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_line_error(result: Result, *fragments: str) -> None:
    """The command failed with exit code 2 and one stderr line holding every fragment."""
    lines = result.stderr.splitlines()
    assert (result.exit_code, len(lines)) == (2, 1), result.output
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize("text", [f"a: {DEEP_FLOW}\n", f"a:\n{DEEP_BLOCK}"])
def test_yaml_nested_thousands_deep_names_the_limit(text: str) -> None:
    with pytest.raises(YamlDepthError, match=f"f.yaml:.*nested more than {MAX_DEPTH} levels"):
        load_yaml("f.yaml", text)


def test_yaml_as_deep_as_the_limit_loads() -> None:
    depth = MAX_DEPTH - 1
    assert load_yaml("f.yaml", "[" * depth + "]" * depth) == _nested(depth - 1)


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("? [a, b]\n: 1\n", "f.yaml:1: a mapping key must be a single value, not a list"),
        ("x:\n  ? {a: 1}\n  : 2\n", "f.yaml:2: a mapping key must be a single value, not a map"),
        ('a: "x\\0y"\n', r"f.yaml:1: 'x\\x00y' holds a NUL character at character 2"),
        ('a: "x\\ud800"\n', r"f.yaml:1: 'x\\ud800' holds an unpaired surrogate"),
        ("a: x\udcff\n", "f.yaml: unacceptable character #xdcff"),
    ],
)
def test_yaml_keys_and_text_no_config_can_use(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_yaml("f.yaml", text)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"groups: []\xff\n", "not valid UTF-8: byte 0xff at offset 10"),
        (b"groups:\n  - {name: a\x00, exposures: [1]}\n", ":2: holds a NUL character"),
    ],
)
def test_undecodable_files_name_the_byte(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "f.yaml"
    path.write_bytes(data)
    with pytest.raises(ConfigError, match=message):
        load_yaml(path)


def _pipeline(tmp_path: Path, config: str) -> Path:
    path = tmp_path / "pipe.yaml"
    path.write_text(f"tasks:\n  calexp:\n    class: {SCALE}\n    config:\n{config}")
    return path


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("      ? [scale, offset]\n      : 1\n", "pipe.yaml:5: a mapping key must be a single"),
        (f"      scale: {DEEP_FLOW}\n", "pipe.yaml:5: nested more than 100 levels deep"),
    ],
)
def test_pipeline_config_refused_in_one_line(tmp_path: Path, config: str, message: str) -> None:
    path = _pipeline(tmp_path, config)
    with pytest.raises(ConfigError, match=message):
        Pipeline.load(path)
    one_line_error(invoke("pipeline", "validate", path), message)


def test_config_override_nested_too_deep_is_refused() -> None:
    with pytest.raises(YamlDepthError, match="config override calexp:scale:1: nested more"):
        parse_override(f"calexp:scale={DEEP_FLOW}")
    assert parse_override("calexp:scale=[1, 2") == ("calexp", "scale", "[1, 2")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("g.csv", b"group,exposures\nab\xe9,1,2\n", "g.csv: not valid UTF-8: byte 0xe9 at offset"),
        ("g.csv", b"group,exposures\na\x00b,1,2\n", "g.csv:2: holds a NUL character"),
        ("g.yaml", b"groups:\n  - {name: \xff, exposures: [1]}\n", "not valid UTF-8: byte 0xff"),
        ("g.yaml", f"groups:\n  - {DEEP_FLOW}\n".encode(), "g.yaml:2: nested more than 100"),
    ],
)
def test_group_files_refused_in_one_line(
    sqlite_butler: Butler, tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ConfigError, match=message):
        read_group_file(path)
    before = repo_state(sqlite_butler)
    result = invoke("define-groups", sqlite_butler.root, "--system", "s", "--from-file", path)
    one_line_error(result, message)
    assert repo_state(sqlite_butler) == before


def test_site_file_nested_too_deep(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(f"provider: local\nworker_init: {DEEP_FLOW}\n")
    with pytest.raises(YamlDepthError, match=r"site\.yaml:2: nested more than 100"):
        load_site(str(path))
    one_line_error(invoke("sites", "--check", path), "site.yaml:2: nested more than 100")


def test_repository_config_nested_too_deep(sqlite_butler: Butler) -> None:
    config = sqlite_butler.root / "quanta.yaml"
    config.write_text(config.read_text() + f"deep: {DEEP_FLOW}\n")
    with pytest.raises(YamlDepthError, match=r"quanta\.yaml:.*nested more than 100"):
        RepoConfig.load(sqlite_butler.root)
    one_line_error(invoke("verify", sqlite_butler.root), "nested more than 100")
