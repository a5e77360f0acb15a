"""Layering: ``quanta.sim`` uses only ``quanta.core`` and ``quanta.instruments`` (DESIGN.md)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_sim_loads_nothing_above_its_layer_and_no_astropy_until_writing() -> None:
    code = "import json, sys, quanta.sim; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    ours = {m.split(".")[1] for m in loaded if m.startswith("quanta.") and m.count(".") >= 1}
    assert ours <= {"core", "instruments", "sim"}, sorted(ours)
    assert not {"astropy", "sqlalchemy", "pyarrow"} & loaded
