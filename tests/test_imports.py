"""Import weight and layering: which modules an import loads (DESIGN.md, "Layers")."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def _loaded_after(module: str) -> set[str]:
    code = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("quanta.core", {"sqlalchemy", "astropy", "pyarrow", "numpy", "parsl", "pydantic"}),
        ("quanta.registry", {"astropy", "pyarrow", "quanta.datastore", "quanta.butler"}),
        ("quanta.datastore", {"sqlalchemy", "quanta.registry", "quanta.butler", "astropy"}),
        ("quanta.butler", {"astropy", "pyarrow", "quanta.cli"}),
        ("quanta.graph.planning", {"quanta.exec", "quanta.cli", "parsl"}),
    ],
)
def test_imports_stay_within_their_layer(module: str, forbidden: set[str]) -> None:
    loaded = _loaded_after(module)
    assert not forbidden & loaded, f"{module} loaded {sorted(forbidden & loaded)}"
