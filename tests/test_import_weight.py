"""Import weight: what importing a module of ours loads, in a fresh interpreter.

Where imports may point is ``test_layering.py``'s business, read from the source. This
module checks what the source cannot show: which libraries an import really loads, and
which modules of ours it pulls in although they are allowed, because the code that needs
them imports them only when it runs. Three things depend on it:

* ``quanta --help`` and every command start fast: importing the command line loads click
  and its own modules, nothing else of ours or third-party.
* A worker (a process-pool worker, or a Parsl worker) imports only what runs a quantum: it
  never loads SQLAlchemy, the registry or the graph builder, and needs no database.
* The lower layers load no heavy library they do not need at import time.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def loaded_by(modules: str) -> set[str]:
    """The modules a fresh interpreter loads while importing ``modules`` (comma-separated).

    Modules the interpreter had loaded before (its start-up, ``json`` and ``sys``) are left
    out, so what remains is what the import itself costs.
    """
    code = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        f"import {modules}\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


def matching(loaded: set[str], names: set[str]) -> list[str]:
    """The modules of ``loaded`` that are one of ``names`` or inside one of them."""
    return sorted(m for m in loaded if any(m == n or m.startswith(f"{n}.") for n in names))


#: The modules of core the command line may load while it is imported.
CLI_VOCABULARY = {
    "quanta.core",
    "quanta.core.lazy",
    "quanta.core.errors",
    "quanta.core.status",
    "quanta.core.transfer",
}


def test_the_command_line_loads_click_its_own_modules_and_the_vocabulary_only() -> None:
    loaded = loaded_by("quanta.cli.main")
    third_party = {m.split(".")[0] for m in loaded} - set(sys.stdlib_module_names) - {"quanta"}
    assert third_party == {"click"}
    ours = {m for m in loaded if m.startswith("quanta.")}
    assert "quanta.cli.main" in ours
    # Besides itself, only core's shared vocabulary (statuses and transfer modes name the
    # choices of options) and what that needs.
    assert ours - set(matching(ours, {"quanta.cli"})) <= CLI_VOCABULARY


#: The modules a worker imports to run quanta: ``_worker_main`` of a process-pool worker
#: (pickled by reference, so the child imports its module) and ``run_jobs`` of a Parsl app.
WORKER_ENTRY_POINTS = ["quanta.exec.executors", "quanta.exec.parsl_app"]


@pytest.mark.parametrize("module", WORKER_ENTRY_POINTS)
def test_a_worker_loads_no_database_registry_or_graph_builder(module: str) -> None:
    loaded = loaded_by(module)
    assert module in loaded
    assert matching(loaded, {"sqlalchemy", "quanta.registry", "quanta.graph.builder"}) == []


@pytest.mark.parametrize(
    ("modules", "heavy"),
    [
        ("quanta.core", {"sqlalchemy", "astropy", "pyarrow", "numpy", "parsl", "pydantic"}),
        ("quanta.registry", {"astropy", "pyarrow"}),
        ("quanta.datastore", {"sqlalchemy", "astropy"}),
        ("quanta.butler", {"astropy", "pyarrow"}),
        ("quanta.pipe.pipeline, quanta.pipe.examples", {"numpy", "sqlalchemy"}),
        # Pure algorithms: not even the task layer of their own parent package.
        ("quanta.cp.algorithms", {"quanta.pipe", "astropy", "pydantic"}),
        # Simulation needs the instrument definitions, not a repository; FITS is written
        # (with astropy) only when a simulated raw is saved.
        (
            "quanta.sim",
            {"quanta.butler", "quanta.registry", "quanta.datastore"}
            | {"astropy", "sqlalchemy", "pyarrow"},
        ),
        # Header translation and scanning load the translation library, astropy and the
        # fits reader only when they translate, and never need a repository.
        (
            "quanta.instruments, quanta.instruments.scan",
            {"astro_metadata_translator", "astropy", "sqlalchemy", "quanta.butler"},
        ),
        # Planning builds graphs; it never needs the executors or the command line.
        ("quanta.graph.planning", {"quanta.exec", "quanta.cli", "parsl"}),
        # Checks read saved graphs, not pipelines; tables and images only when checked.
        ("quanta.check", {"quanta.pipe", "pyarrow", "astropy"}),
        # Comparisons load graphs, tables, sky matching and plots only when they need them.
        (
            "quanta.compare",
            {"quanta.graph", "quanta.pipe"}
            | {"sqlalchemy", "astropy", "pyarrow", "scipy", "matplotlib"},
        ),
    ],
)
def test_import_loads_nothing_heavy_it_does_not_need(modules: str, heavy: set[str]) -> None:
    loaded = loaded_by(modules)
    assert {m.strip() for m in modules.split(",")} <= loaded
    assert matching(loaded, heavy) == []
