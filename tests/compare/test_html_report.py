"""The compare HTML report rendered in headless Chromium: contents, figures named for
their plane or column, a thumbnail of where each differing image differs, identical
types collapsed, and a chain's inputs shown as inputs.

The repository is ``two_runs``'s, plus: ``warp`` (Image, exposure 5) whose mask differs
in bit 2 at pixel (1, 2) in B, and ``flat`` (Image), an input of the output chain
``out/a`` = [run/a, inputs/a] that is compared with ``run/b``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from compare.two_runs import EXPOSURE, PIXEL, RUN_B, image, make_two_runs, put
from headless import Dom, check_page, rendered
from quanta.compare import CompareReport, ImageDiff, compare_collections, write_html
from quanta.compare.html import anchor
from quanta.core.collections import CollectionType

CHAIN = "out/a"
MASK_PIXEL = (1, 2)


@dataclass
class Page:
    report: CompareReport
    dom: Dom


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    root = tmp_path_factory.mktemp("html")
    butler = make_two_runs(root / "repo")
    for name in ("flat", "warp"):
        butler.register_dataset_type(name, EXPOSURE, "Image")
    for run in ("run/a", RUN_B):
        warp = image(5)
        if run == RUN_B:
            warp.mask[MASK_PIXEL] |= 1 << 2
        put(butler, warp, "warp", run, exposure=5)
    butler.registry.register_run("inputs/a")
    put(butler, image(5), "flat", "inputs/a", exposure=5)
    butler.registry.register_collection(CHAIN, CollectionType.CHAINED)
    butler.registry.set_collection_chain(CHAIN, ["run/a", "inputs/a"])
    report = compare_collections(butler, CHAIN, butler, RUN_B)
    butler.close()
    path = root / "report.html"
    write_html(report, path)
    yield Page(report, rendered(path))


def test_the_page_renders_with_contents_whose_anchors_resolve(page: Page) -> None:
    check_page(page.dom)  # every href="#..." resolves, every image decodes as PNG
    nav = page.dom.find("nav", id="contents")[0]
    links = [a.attrs["href"] for a in page.dom.find("a") if nav in a.parents]
    types = ["#type-calexp", "#type-pairTable", "#type-warp"]
    assert links == ["#setup", "#summary", *types, "#inputs", "#identical"]
    summary_links = {a.attrs["href"] for a in page.dom.find("a") if nav not in a.parents}
    assert summary_links == {f"#{anchor(n)}" for n in page.report.type_names()}


def test_every_figure_names_its_plane_or_column(page: Page) -> None:
    figures = [(i.attrs["data-kind"], i.attrs["data-name"]) for i in page.dom.find("img")]
    assert figures == [
        ("histogram", "image"),  # calexp exposure 6
        ("thumbnail", "image"),
        ("histogram", "mean"),  # pairTable 5+6
        ("thumbnail", "mask"),  # warp exposure 5: masks have no histogram
    ]
    captions = [e.text for e in page.dom.find("figcaption")]
    assert [c.split(" of ")[1] for c in captions] == [
        "plane image",
        "plane image",
        "column mean",
        "plane mask",
    ]


def test_one_thumbnail_per_differing_image_pair_marks_the_differing_pixel(page: Page) -> None:
    sections = {e.attrs["id"]: e for e in page.dom.find("section")}
    for name in ("calexp", "warp"):
        thumbs = [
            i
            for i in page.dom.find("img", **{"data-kind": "thumbnail"})
            if sections[anchor(name)] in i.parents
        ]
        assert len(thumbs) == 1
    # the grids behind them: 8x10 images, one pixel per cell, the truth's pixel alone
    for name, plane, pixel in (("calexp", "image", PIXEL), ("warp", "mask", MASK_PIXEL)):
        detail = page.report.summary(name).datasets[0].detail
        assert isinstance(detail, ImageDiff)
        thumbnail = next(p for p in detail.planes if p.name == plane).thumbnail
        assert thumbnail is not None and thumbnail.block == [1, 1]
        expected = np.zeros((8, 10), int)
        expected[pixel] = 1
        np.testing.assert_array_equal(thumbnail.n_differ, expected)
    calexp = page.report.summary("calexp").datasets[0].detail
    assert isinstance(calexp, ImageDiff) and calexp.planes[0].thumbnail is not None
    assert calexp.planes[0].thumbnail.max_abs is not None
    assert calexp.planes[0].thumbnail.max_abs[PIXEL[0]][PIXEL[1]] == pytest.approx(0.5, abs=1e-4)


def test_identical_types_and_inputs_are_collapsed(page: Page) -> None:
    collapsed = {d.attrs["id"]: d for d in page.dom.find("details")}
    assert set(collapsed) == {anchor(n) for n in ("flat", "plot", "summary")}
    assert all("open" not in d.attrs for d in collapsed.values())
    assert collapsed[anchor("flat")].attrs["class"] == "input"
    inputs = page.dom.find("section", id="inputs")[0]
    assert collapsed[anchor("flat")] in [*inputs.parents, *_children(page.dom, inputs)]
    assert "instrument=Cam,detector=0,exposure=5" in collapsed[anchor("flat")].text


def test_chain_inputs_are_inputs_not_missing(page: Page) -> None:
    flat = page.report.summary("flat")
    assert flat.status == "identical" and flat.role == "input" and flat.only_in_a == []
    assert flat.inputs_only_in_a == ["instrument=Cam,detector=0,exposure=5"]
    row = next(r for r in page.dom.find("tr") if r.text.startswith("flat"))
    assert "input" in row.text and "missing" not in row.text


def _children(dom: Dom, parent: object) -> list[object]:
    return [e for e in dom.elements if parent in e.parents]
