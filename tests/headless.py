"""Render an HTML file in headless Chromium and read back what the browser built.

``rendered(path)`` runs ``chromium --headless --dump-dom`` on the page and parses the
resulting DOM with the standard library's ``HTMLParser`` into a ``Dom``: every element's
tag, attributes and text, so tests can check sections, anchors, images and collapsed
``<details>``. Without Chromium a test fails under ``CI=true`` (``make test`` installs it
through ``scripts/ensure-chromium.sh``) and is skipped with the reason elsewhere.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

#: Names the Debian and upstream packages give the browser.
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
PNG_PREFIX = "data:image/png;base64,"


@dataclass
class Element:
    """One element: its tag, attributes, text (its own and its descendants') and parents."""

    tag: str
    attrs: dict[str, str]
    parents: list[Element] = field(default_factory=list)
    text: str = ""


class Dom(HTMLParser):
    """Every element of a page, in document order."""

    VOID = frozenset({"img", "meta", "br", "hr", "input", "link", "source", "col", "wbr"})

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, list(self._open))
        self.elements.append(element)
        if tag not in self.VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i].tag == tag:
                del self._open[i:]
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data

    def find(self, tag: str, **attrs: str) -> list[Element]:
        """The elements with ``tag`` and these attribute values (``class_`` for class)."""
        wanted = {k.rstrip("_"): v for k, v in attrs.items()}
        return [
            e
            for e in self.elements
            if e.tag == tag and all(e.attrs.get(k) == v for k, v in wanted.items())
        ]

    def text(self) -> str:
        """The text of the whole page."""
        return self.elements[0].text if self.elements else ""

    def ids(self) -> set[str]:
        """Every element id of the page."""
        return {e.attrs["id"] for e in self.elements if "id" in e.attrs}


def browser() -> str:
    """The path of the headless browser (fails under CI=true, skips elsewhere, if none)."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    message = "no Chromium to render HTML reports (scripts/ensure-chromium.sh installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def rendered(path: Path) -> Dom:
    """The DOM Chromium built from the page at ``path``, with no network."""
    result = subprocess.run(
        [
            browser(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--proxy-server=127.0.0.1:9",  # offline: anything fetched would fail
            "--dump-dom",
            path.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "<body" in result.stdout, result.stderr
    return Dom(result.stdout)


def png_size(src: str) -> tuple[int, int]:
    """Width and height of an inline PNG ``src`` (fails unless it decodes as PNG)."""
    from PIL import Image

    assert src.startswith(PNG_PREFIX), src[:60]
    data = base64.b64decode(src[len(PNG_PREFIX) :], validate=True)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert image.format == "PNG"
        return image.size


def check_page(dom: Dom) -> None:
    """What every report page must satisfy: each ``href="#x"`` names an element of the
    page, every image is an inline PNG that decodes, nothing is loaded from elsewhere."""
    ids = dom.ids()
    for link in dom.find("a"):
        href = link.attrs.get("href", "")
        assert href.startswith("#") and href[1:] in ids, href
    for image in dom.find("img"):
        width, height = png_size(image.attrs["src"])
        assert width > 50 and height > 50
    assert not dom.find("script") and not dom.find("link")
