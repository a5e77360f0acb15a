"""Reruns of a legacy repository: their names in quanta and the parents they search."""

from __future__ import annotations

from pathlib import Path

import pytest

from quanta.convert.errors import LegacyRepositoryError
from quanta.convert.reruns import ROOT, chain_name, find_reruns


def test_private_shared_and_plain_reruns_get_their_chains() -> None:
    assert chain_name("HSC", "rerun/private/alice") == "u/alice"
    assert chain_name("HSC", "rerun/shared/coadd/v2") == "HSC/runs/coadd/v2"
    assert chain_name("HSC", "rerun/proc") == "HSC/runs/proc"


def _rerun(root: Path, name: str, config: str | None = None, link: str | None = None) -> None:
    directory = root / "rerun" / name
    directory.mkdir(parents=True)
    if config is not None:
        (directory / "repositoryCfg.yaml").write_text(config)
    if link is not None:
        (directory / "_parent").symlink_to(link)


def test_parents_come_from_configs_with_nested_tags_or_links(tmp_path: Path) -> None:
    _rerun(tmp_path, "a", link="../..")
    nested = "!RepositoryCfg_v1\n_parents:\n- !RepositoryCfg_v1 ../a\n- ../..\n"
    _rerun(tmp_path, "b", config=nested)
    found = {r.directory: r.parents for r in find_reruns(tmp_path, "SimCam")}
    assert found == {"rerun/a": (ROOT,), "rerun/b": ("rerun/a", ROOT)}
    order = [r.directory for r in find_reruns(tmp_path, "SimCam", ["b"])]
    assert order == ["rerun/a", "rerun/b"]


def test_a_cycle_and_a_parent_outside_are_one_line_errors(tmp_path: Path) -> None:
    _rerun(tmp_path, "x", config="_parents: [../y]\n")
    _rerun(tmp_path, "y", config="_parents: [../x]\n")
    with pytest.raises(LegacyRepositoryError, match="its own ancestor"):
        find_reruns(tmp_path, "SimCam")
    other = tmp_path / "other"
    _rerun(other, "z", config=f"_parents: [{tmp_path}]\n")
    with pytest.raises(LegacyRepositoryError, match="is not the repository or one of its reruns"):
        find_reruns(other, "SimCam")
    deep = "_parents: " + "[" * 150 + "]" * 150 + "\n"
    _rerun(tmp_path / "deep", "d", config=deep)
    with pytest.raises(LegacyRepositoryError, match="nested more than"):
        find_reruns(tmp_path / "deep", "SimCam")
