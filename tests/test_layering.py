"""Layering: every import between our packages, held against one allow-list.

The packages of ``quanta`` form layers and imports point downward only: the command line
sits on top, the pure data model ``quanta.core`` at the bottom. ``ALLOWED`` says, for each
package, which other packages of ours its modules may import; a package may always import
itself and its own subpackages. The most specific entry wins, so ``quanta.cp.algorithms``
(pure array code) keeps its own, shorter list inside ``quanta.cp``.

The imports are read statically with ``ast`` from every module under ``src/quanta``: at
module level, inside functions and under ``if TYPE_CHECKING:``, with relative imports
resolved. An upward import hidden in a function or kept for type hints still ties the
lower layer to the upper one, so it counts as much as one at module level. Run-time import
weight (which third-party libraries an import loads) is the subject of
``test_import_weight.py``.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).parents[1] / "src"

ROOT = "quanta"
CLI = "quanta.cli"
DEMO = "quanta.demo"
CHECK = "quanta.check"
COMPARE = "quanta.compare"
REPORTS = "quanta.reports"
CONVERT = "quanta.convert"
CP = "quanta.cp"
CP_ALGORITHMS = "quanta.cp.algorithms"
SIM = "quanta.sim"
INSTRUMENTS = "quanta.instruments"
EXEC = "quanta.exec"
GRAPH = "quanta.graph"
PIPE = "quanta.pipe"
BUTLER = "quanta.butler"
REGISTRY = "quanta.registry"
DATASTORE = "quanta.datastore"
CORE = "quanta.core"

#: Package -> the other packages of ours it may import, from the bottom layer up.
ALLOWED: dict[str, frozenset[str]] = {
    # The pure data model and shared vocabulary: it depends on nothing of ours.
    CORE: frozenset(),
    # The root package holds only the version string.
    ROOT: frozenset(),
    # The database side and the file side of a repository are siblings over core.
    REGISTRY: frozenset({CORE}),
    DATASTORE: frozenset({CORE}),
    # Tasks, configs, connections and pipelines know no repository.
    PIPE: frozenset({CORE}),
    # The repository facade and the I/O a running quantum gets.
    BUTLER: frozenset({REGISTRY, DATASTORE, CORE}),
    # Planning and building graphs: through the butler, never the registry directly.
    GRAPH: frozenset({PIPE, BUTLER, CORE}),
    # Executors, the driver and the runner learn everything about a run from the graph.
    EXEC: frozenset({GRAPH, PIPE, BUTLER, CORE}),
    INSTRUMENTS: frozenset({BUTLER, CORE}),
    SIM: frozenset({INSTRUMENTS, CORE}),
    # Calibration tasks; their algorithms are pure array code with no repository at all.
    CP: frozenset({PIPE, CORE}),
    CP_ALGORITHMS: frozenset({CORE}),
    # Legacy repository conversion (a package that may not exist yet).
    CONVERT: frozenset({INSTRUMENTS, BUTLER, CORE}),
    # Checks and comparisons read saved graphs and repositories, they run nothing.
    CHECK: frozenset({GRAPH, BUTLER, CORE}),
    COMPARE: frozenset({GRAPH, BUTLER, CORE}),
    # Pages about a run: read its provenance, saved graph and plots, run nothing new.
    REPORTS: frozenset({EXEC, GRAPH, BUTLER, CORE}),
}
#: The main job may use everything below the command line; the command line everything.
ALLOWED[DEMO] = frozenset(ALLOWED)
ALLOWED[CLI] = frozenset(ALLOWED)

#: Packages of the table that need not exist (yet).
OPTIONAL = frozenset({CONVERT})


@dataclass(frozen=True)
class Import:
    """One import of a module of ours: who imports what, and where."""

    module: str
    line: int
    target: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}"


def module_name(path: Path, src: Path) -> tuple[str, bool]:
    """The dotted name of the module in ``path`` under ``src``, and whether it is a package."""
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def imports_of(source: str, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """Every module name ``source`` imports, anywhere in it, with its line number.

    ``from X import a`` yields ``X.a`` when ``X`` is our root package (``from quanta import
    core``), ``X`` otherwise: the names imported from a package of ours belong to it.
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target == ROOT or node.module is None:
                for alias in node.names:
                    yield node.lineno, f"{target}.{alias.name}"
            else:
                yield node.lineno, target


def scan(src: Path) -> Iterator[Import]:
    """Every import of a module of ours made by a module under ``src``."""
    for path in sorted((src / ROOT).rglob("*.py")):
        module, is_package = module_name(path, src)
        for line, target in imports_of(path.read_text(encoding="utf-8"), module, is_package):
            if target == ROOT or target.startswith(f"{ROOT}."):
                yield Import(module, line, target)


def package_of(module: str) -> str:
    """The most specific package of ``ALLOWED`` that holds ``module``."""
    owners = [p for p in ALLOWED if module == p or module.startswith(f"{p}.")]
    return max(owners, key=len)


def is_allowed(imp: Import) -> bool:
    """Whether the importing module's package may import the target's package."""
    source, target = package_of(imp.module), package_of(imp.target)
    return target == source or target.startswith(f"{source}.") or target in ALLOWED[source]


def violations(src: Path) -> list[Import]:
    """Every import under ``src`` that the table does not allow."""
    return [imp for imp in scan(src) if not is_allowed(imp)]


def test_the_table_names_every_package_and_only_real_ones() -> None:
    top = SRC / ROOT
    # A directory of modules is a package even without ``__init__.py`` (``quanta.graph``).
    ours = {f"{ROOT}.{p.stem}" for p in top.glob("*.py") if p.stem != "__init__"} | {
        f"{ROOT}.{p.name}" for p in top.iterdir() if p.is_dir() and any(p.glob("*.py"))
    }
    assert ours - set(ALLOWED) == set(), "add these packages to ALLOWED"
    for package in set(ALLOWED) - OPTIONAL - {ROOT}:
        path = SRC / Path(*package.split("."))
        assert path.is_dir() or path.with_suffix(".py").is_file(), f"{package} does not exist"
    for allowed in ALLOWED.values():
        assert allowed <= set(ALLOWED)


def test_imports_follow_the_layers() -> None:
    unexpected = [str(imp) for imp in violations(SRC)]
    assert not unexpected, "imports against the layers:\n" + "\n".join(unexpected)


def test_scan_finds_imports_in_functions_and_type_hints_and_resolves_relative_ones(
    tmp_path: Path,
) -> None:
    package = tmp_path / ROOT / "cp" / "algorithms"
    package.mkdir(parents=True)
    (tmp_path / ROOT / "__init__.py").write_text("")
    (package / "__init__.py").write_text("from . import mask\nfrom .. import isr\n")
    (package / "mask.py").write_text(
        textwrap.dedent(
            """\
            from typing import TYPE_CHECKING

            import numpy
            from ...core.raw import RawImage
            from quanta import pipe
            from . import stats

            if TYPE_CHECKING:
                from quanta.butler import Butler


            def read(path):
                import quanta.registry.query as query
                from ..isr import IsrTask
                return query, IsrTask
            """
        )
    )
    found = sorted((imp.module, imp.line, imp.target) for imp in scan(tmp_path))
    assert found == [
        ("quanta.cp.algorithms", 1, "quanta.cp.algorithms.mask"),
        ("quanta.cp.algorithms", 2, "quanta.cp.isr"),
        ("quanta.cp.algorithms.mask", 4, "quanta.core.raw"),
        ("quanta.cp.algorithms.mask", 5, "quanta.pipe"),
        ("quanta.cp.algorithms.mask", 6, "quanta.cp.algorithms.stats"),
        ("quanta.cp.algorithms.mask", 9, "quanta.butler"),
        ("quanta.cp.algorithms.mask", 13, "quanta.registry.query"),
        ("quanta.cp.algorithms.mask", 14, "quanta.cp.isr"),
    ]
    # Pure algorithms may import core and themselves, not the tasks around them.
    assert [str(imp) for imp in violations(tmp_path)] == [
        "quanta.cp.algorithms:2 imports quanta.cp.isr",
        "quanta.cp.algorithms.mask:5 imports quanta.pipe",
        "quanta.cp.algorithms.mask:9 imports quanta.butler",
        "quanta.cp.algorithms.mask:13 imports quanta.registry.query",
        "quanta.cp.algorithms.mask:14 imports quanta.cp.isr",
    ]


def test_a_package_may_import_itself_and_what_lies_below_only() -> None:
    def allowed(module: str, target: str) -> bool:
        return is_allowed(Import(module, 1, target))

    assert allowed("quanta.cp.isr", "quanta.cp.algorithms.overscan")
    assert allowed("quanta.cp.isr", "quanta.pipe.task")
    assert not allowed("quanta.cp.algorithms.overscan", "quanta.cp.isr")
    assert allowed("quanta.exec.runner", "quanta.butler.quantum_io")
    assert not allowed("quanta.butler.butler", "quanta.exec.runner")
    assert not allowed("quanta.graph.builder", "quanta.registry")
    assert not allowed("quanta.core.refs", "quanta")
    assert allowed("quanta.cli.main", "quanta.demo")
    assert not allowed("quanta.demo", "quanta.cli.main")
