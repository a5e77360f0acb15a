"""``quanta.compare`` sits above the butler and core only, and imports light."""

from __future__ import annotations

import json
import subprocess
import sys

#: Packages above ``quanta.compare`` in DESIGN.md's layers, and libraries it loads only
#: when a comparison needs them (tables, sky matching, the HTML report).
FORBIDDEN = {
    "quanta.cli",
    "quanta.cp",
    "quanta.exec",
    "quanta.graph",
    "quanta.instruments",
    "quanta.pipe",
    "quanta.sim",
    "matplotlib",
    "pyarrow",
    "scipy",
    "astropy",
    "sqlalchemy",
}


def test_importing_quanta_compare_loads_nothing_above_it_nor_heavy_libraries() -> None:
    code = "import json, sys, quanta.compare; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    found = {
        m for m in loaded if m.split(".")[0] in FORBIDDEN or ".".join(m.split(".")[:2]) in FORBIDDEN
    }
    assert not found, sorted(found)
