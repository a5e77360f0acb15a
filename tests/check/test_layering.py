"""``quanta.check`` sits beside ``quanta.compare``: it loads nothing above graph and butler."""

from __future__ import annotations

import json
import subprocess
import sys


def test_check_loads_no_executor_command_line_or_heavy_reader() -> None:
    code = "import sys, json, quanta.check; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    forbidden = {"quanta.exec", "quanta.cli", "quanta.compare", "quanta.pipe", "pyarrow", "astropy"}
    assert not forbidden & loaded, sorted(forbidden & loaded)
