"""Sphinx configuration of the quanta documentation site (``make docs``)."""

from __future__ import annotations

import re

project = "quanta"
author = "the quanta developers"
copyright = "2026, the quanta developers"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx_click",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# Headings become anchors so pages can link to each other's sections (page.md#anchor).
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]
# Fenced blocks in languages Pygments does not know (plain layouts) stay plain text.
highlight_language = "none"
# Keep "--option" and quotes as typed: the pages are full of commands.
smartquotes = False

html_theme = "alabaster"
html_title = "quanta"
html_static_path: list[str] = []

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False}
# Documentation is built from the installed package; annotations stay as written.
autodoc_type_aliases: dict[str, str] = {}
nitpicky = False

# Blocks in languages Pygments does not know (csv) or that elide values with "..."
# (json) are shown without highlighting; that is no error.
suppress_warnings = ["misc.highlighting_failure"]

_RST_SPECIAL = re.compile(r"[*|]|(?<=\w)_(?=\W|$)")


def _escape_help(app: object, ctx: object, lines: list[str]) -> None:
    """Show the commands' help text as written.

    click's help is plain text, not reStructuredText: ``*`` (globs), ``|``
    (alternatives) and a word's trailing ``_`` (``start_*``) are escaped.
    """
    for i, line in enumerate(lines):
        if line.lstrip().startswith((".. ", ":")) or "``" in line:
            continue
        lines[i] = _RST_SPECIAL.sub(lambda m: "\\" + m.group(0), line)


def setup(app: object) -> None:
    for event in ("description", "options", "arguments", "epilog"):
        app.connect(f"sphinx-click-process-{event}", _escape_help)  # type: ignore[attr-defined]
