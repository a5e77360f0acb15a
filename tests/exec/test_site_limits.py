"""Site numbers that no batch system can honour (infinite, not a number, negative, a
fraction of a core) fail ``quanta sites --check`` with one line naming file, line, field."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from quanta.cli.main import cli
from quanta.core.errors import ConfigError
from quanta.exec.sites import load_site


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cores_per_quantum", ".inf", "valid integer"),
        ("cores_per_quantum", ".nan", "valid integer"),
        ("cores_per_quantum", "-2", "greater than or equal to 1"),
        ("cores_per_quantum", "0", "greater than or equal to 1"),
        ("cores_per_quantum", "1.5", "valid integer"),
        ("cores_per_quantum", "true", "valid integer"),
        ("memory_per_quantum", ".inf", "finite number"),
        ("memory_per_quantum", ".NaN", "finite number"),
        ("memory_per_quantum", "-1", "greater than 0"),
        ("workers_per_node", ".inf", "finite number"),
    ],
)
def test_impossible_numbers_fail_the_check(
    tmp_path: Path, field: str, value: str, message: str
) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(f"provider: local\n{field}: {value}\n")
    with pytest.raises(ConfigError, match=f"site.yaml:2: field '{field}': .*{message}"):
        load_site(str(path))
    result = CliRunner().invoke(cli, ["sites", "--check", str(path)])
    lines = result.stderr.splitlines()
    assert (result.exit_code, len(lines)) == (2, 1), result.output
    assert f"site.yaml:2: field '{field}'" in lines[0]


def test_whole_cores_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("provider: local\ncores_per_quantum: 4\nmemory_per_quantum: 2.5\n")
    site = load_site(str(path))
    assert (site.cores_per_quantum, site.memory_per_quantum) == (4, 2.5)
