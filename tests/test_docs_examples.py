"""Every shell and Python example of the documentation runs, or says why it cannot.

A fenced ``sh``, ``bash``, ``console`` or ``python`` block in ``docs/`` or the
README is preceded by ``<!-- docs-test: run -->``, by
``<!-- docs-test: skip REASON -->``, or by ``<!-- docs-test: run-in PAGE -->`` for a
block that repeats commands of PAGE word for word (the README's tour), which is
checked. The runnable blocks of one page run in
order in one empty directory: shell blocks with ``bash -e`` and the ``quanta``
command of this environment on ``PATH``, Python blocks in one namespace, like a
doctest session.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
LANGUAGES = {"sh", "bash", "console", "python"}
MARKER = re.compile(r"^<!-- docs-test: (run|run-in \S+|skip (?P<reason>.+?)) -->$")


@dataclass(frozen=True)
class Example:
    """One fenced code block of a page."""

    page: str
    line: int
    language: str
    code: str
    marker: str | None

    @property
    def runs(self) -> bool:
        return self.marker == "run"


def _pages() -> list[Path]:
    docs = sorted(p for p in (ROOT / "docs").rglob("*.md") if "_build" not in p.parts)
    return [ROOT / "README.md", *docs]


def examples(path: Path) -> list[Example]:
    """The shell and Python blocks of one markdown page, with their markers."""
    lines = path.read_text().splitlines()
    found, i = [], 0
    while i < len(lines):
        opening = lines[i]
        if not opening.startswith("```"):
            i += 1
            continue
        language = opening[3:].strip()
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        if language in LANGUAGES:
            before = [line for line in lines[:i] if line.strip()]
            marker = MARKER.match(before[-1]) if before else None
            found.append(
                Example(
                    page=path.relative_to(ROOT).as_posix(),
                    line=i + 1,
                    language=language,
                    code="\n".join(lines[i + 1 : end]) + "\n",
                    marker=marker.group(1) if marker else None,
                )
            )
        i = end + 1
    return found


ALL = [example for page in _pages() for example in examples(page)]


def test_every_example_is_marked_run_or_skip_with_a_reason() -> None:
    unmarked = [f"{e.page}:{e.line}" for e in ALL if e.marker is None]
    assert not unmarked, "mark these blocks <!-- docs-test: run|skip REASON -->: " + str(unmarked)
    transcripts = [f"{e.page}:{e.line}" for e in ALL if e.runs and e.language == "console"]
    assert not transcripts, "console blocks are transcripts with output: skip them"


def test_examples_are_found() -> None:
    assert sum(e.runs for e in ALL) >= 8
    assert {e.language for e in ALL if e.runs} >= {"sh", "python"}


def _run_shell(code: str, where: Path, label: str) -> None:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("COLUMNS", "200")
    done = subprocess.run(
        ["bash", "-e", "-c", code], cwd=where, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, f"{label} failed:\n{code}\n{done.stdout}\n{done.stderr}"


def test_blocks_run_in_another_page_are_there_word_for_word() -> None:
    repeated = [e for e in ALL if e.marker and e.marker.startswith("run-in ")]
    for example in repeated:
        page = example.marker.removeprefix("run-in ") if example.marker else ""
        ran = {line for e in ALL if e.page == page and e.runs for line in e.code.splitlines()}
        missing = [line for line in example.code.splitlines() if line.strip() and line not in ran]
        assert not missing, f"{example.page}:{example.line}: not run in {page}: {missing}"


RUNNABLE_PAGES = sorted({e.page for e in ALL if e.runs})


@pytest.mark.parametrize("page", RUNNABLE_PAGES)
def test_the_examples_of_a_page_run(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "docs_example"}
    for example in (e for e in ALL if e.page == page and e.runs):
        label = f"{example.page}:{example.line}"
        if example.language == "python":
            exec(compile(example.code, label, "exec"), namespace)
        else:
            _run_shell(example.code, tmp_path, label)


def test_the_where_examples_parse() -> None:
    from quanta.registry.query.parser import parse_where

    page = (ROOT / "docs" / "where.md").read_text()
    block = page.split("```\n")[1]
    expressions = [line for line in block.splitlines() if line.strip()]
    assert len(expressions) >= 5
    for expression in expressions:
        assert parse_where(expression) is not None, expression
