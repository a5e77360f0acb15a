"""A legacy repository seen as a quanta one: converted into a scratch repository whose
files stay where they are, so that ``compare`` can read old outputs where they live."""

from __future__ import annotations

from pathlib import Path

from ..butler import Butler
from .converter import convert, root_chain
from .errors import LegacyRepositoryError
from .mapper import MAPPER_FILE
from .plan import make_plan
from .reruns import RERUN_DIR, chain_name


def is_legacy_root(path: Path) -> bool:
    """Whether ``path`` is a legacy repository (it names a mapper)."""
    return (path / MAPPER_FILE).is_file()


def legacy_collection(instrument: str, name: str) -> str:
    """The quanta collection a legacy location converts to: the root (empty name) to its
    chain, ``rerun/...`` to the rerun's chain, anything else as it is (a calibration
    date's RUN, ``<instrument>/calib/<calibDate>``, for example)."""
    name = name.strip("/")
    if not name:
        return root_chain(instrument)
    if name.startswith(RERUN_DIR + "/"):
        return chain_name(instrument, name)
    return name


def open_legacy(root: Path, scratch: Path, jobs: int = 1) -> tuple[Butler, str]:
    """A scratch repository at ``scratch`` holding the legacy repository at ``root`` (its
    files recorded in place), and its instrument. Anything the conversion could not read
    is an error: a comparison with missing data would mislead."""
    plan = make_plan(root)
    butler = Butler.create(scratch)
    try:
        report = convert(butler, plan, "direct", jobs)
        if report.errors:
            more = f" (and {len(report.errors) - 1} more)" if len(report.errors) > 1 else ""
            raise LegacyRepositoryError(f"legacy repository {root}: {report.errors[0]}{more}")
    except BaseException:
        butler.close()
        raise
    return butler, plan.instrument
