"""A write killed before its rename leaves a hidden temporary file: ``verify`` reports it,
``verify --repair`` and ``remove_temporaries`` delete it, and nothing else is touched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner

from quanta.butler import Butler
from quanta.cli.main import cli
from quanta.core import DimensionUniverse
from quanta.datastore import FileDatastore, FileTemplates

RUN = "u/killed"
#: Writes half of the file, then kills its own process: nothing can clean up after it.
KILLED_PUT = """
import os, signal, sys
import numpy as np
import quanta.datastore.one_pass
from quanta.butler import Butler

def die_mid_write(path, data):
    path.write_bytes(data[: len(data) // 2])
    os.kill(os.getpid(), signal.SIGKILL)

quanta.datastore.one_pass.write_new = die_mid_write
butler = Butler(sys.argv[1])
butler.put(np.arange(4.0), "flux", instrument="Cam", detector=1, exposure=5, run=sys.argv[2])
"""


def _kill_a_put(butler: Butler, run: str) -> None:
    butler.register_dataset_type("flux", ["instrument", "detector", "exposure"], "NumpyArray")
    butler.close()
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILLED_PUT), str(butler.root), run],
        capture_output=True,
        check=False,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr


def _hidden(root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob(".*")
        if p.is_file() and not p.relative_to(root).parts[0].startswith(".")
    )


def test_verify_reports_and_repair_removes_a_killed_write(sqlite_butler: Butler) -> None:
    butler = sqlite_butler
    _kill_a_put(butler, RUN)
    (leftover,) = _hidden(butler.root)
    assert leftover.startswith(f"{RUN}/flux/") and ".npy.tmp-" in leftover
    assert RUN not in [record.name for record in butler.registry.query_collections()]

    report = butler.verify()
    assert (report.temporaries, report.orphans, report.ok) == ([leftover], [], False)
    found = CliRunner().invoke(cli, ["verify", str(butler.root)])
    assert found.exit_code == 1
    assert f"temporaries: 1\n  {leftover}\n" in found.stdout

    repaired = CliRunner().invoke(cli, ["verify", str(butler.root), "--repair"])
    assert repaired.exit_code == 0, repaired.output
    assert f"removed: 1\n  {leftover}\n" in repaired.stdout
    assert _hidden(butler.root) == []
    assert butler.verify().ok


def test_remove_temporaries_of_one_run_leaves_the_others(sqlite_butler: Butler) -> None:
    butler = sqlite_butler
    _kill_a_put(butler, RUN)
    _kill_a_put(butler, "u/other")
    mine, other = (_hidden(butler.root / run) for run in (RUN, "u/other"))
    assert len(mine) == len(other) == 1
    user_file = butler.root / RUN / "flux" / ".notes"
    user_file.write_text("a hidden file of the user's, not a temporary")
    removed = butler.datastore.remove_temporaries(RUN)
    assert removed == [f"{RUN}/{mine[0]}"]
    assert _hidden(butler.root / RUN) == ["flux/.notes"]
    assert _hidden(butler.root / "u/other") == other
    assert os.path.exists(user_file)


def test_temporaries_of_a_run_found_where_templates_put_it_later(tmp_path: Path) -> None:
    universe = DimensionUniverse.default()
    templates = FileTemplates(universe, "{dataset_type}/{run}/{detector}/{dataset_type}")
    datastore = FileDatastore(tmp_path, templates)
    names = {
        "flux/u/a/1/.flux.npy.tmp-" + "0" * 32: "u/a",
        "flux/u/b/1/.flux.npy.tmp-" + "1" * 32: "u/b",
        "flux/x/u/a/.flux.npy.probe-" + "2" * 32: "u/a",
        "flux/u/a/1/.flux.npy.tmp-short": None,
    }
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("partial")
    temporaries = sorted(name for name, run in names.items() if run is not None)
    assert list(datastore.walk_temporaries()) == temporaries
    assert datastore.remove_temporaries("u/a") == [
        name for name in temporaries if names[name] == "u/a"
    ]
    assert list(datastore.walk_temporaries()) == ["flux/u/b/1/.flux.npy.tmp-" + "1" * 32]
