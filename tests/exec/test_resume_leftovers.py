"""Resuming a run deletes the hidden temporary files its killed writes left, and only its own."""

from __future__ import annotations

from pathlib import Path

from exec.conftest import make_graph
from quanta.butler import Butler
from quanta.exec import ExecutionSettings, InlineExecutor, execute

RUN = "out/run1"


def _temporary(directory: Path, name: str) -> Path:
    """A file named as ``FileDatastore`` names a write in progress, as a kill leaves it."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f".{name}.tmp-{'e' * 32}"
    path.write_bytes(b"half")
    return path


def test_resume_removes_the_temporaries_of_its_run(sqlite_repo: Butler) -> None:
    first = execute(sqlite_repo, make_graph(sqlite_repo, RUN, fail_on=[(10, 0)]), InlineExecutor())
    assert not first.ok
    (output,) = sqlite_repo.query_datasets(
        "calexpLike", [RUN], where="exposure = 9 AND detector = 0"
    )
    written = sqlite_repo.datastore.path(sqlite_repo.registry.get_files([output.id])[output.id])
    killed = _temporary(written.parent, written.name.replace("_9_", "_10_"))
    elsewhere = _temporary(sqlite_repo.root / "out/run2/calexpLike", "calexpLike_Cam_10_0.npy")
    report = execute(
        sqlite_repo,
        make_graph(sqlite_repo, RUN),
        InlineExecutor(),
        ExecutionSettings(resume=True),
    )
    assert report.ok
    assert not killed.exists() and elsewhere.exists()
    assert list(sqlite_repo.datastore.walk_temporaries()) == [
        str(elsewhere.relative_to(sqlite_repo.root))
    ]
