"""``quanta report --html``: the run report page rendered in headless Chromium.

The run (``scale_summary.yaml`` on the execution tests' repository) fails ``calexp`` on
exposure 10, detector 0, which blocks ``summary`` of detector 0; a ``ptcPlot`` (a real
PNG) is added to the run so that the page embeds it.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from exec.conftest import PIPELINE
from exec.test_cli import invoke
from headless import Dom, check_page, png_size, rendered
from quanta.butler import Butler
from quanta.core.data_id import DataCoordinate

FAILED = "instrument=Cam,detector=0,exposure=10"


def plot_png() -> bytes:
    """A small real plot, 320 x 240 pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4, 3), dpi=80)
    FigureCanvasAgg(figure)
    figure.add_subplot().plot([1, 2, 3], [1, 4, 9])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


@pytest.fixture
def page(sqlite_repo: Butler, tmp_path: Path) -> Dom:
    root = sqlite_repo.root
    result = invoke(
        "run", root, "-p", PIPELINE, "-i", "raw", "-o", "out",
        "-c", "calexp:fail_on=[[10, 0]]", "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    run = sqlite_repo.registry.get_collection_chain("out")[0]
    plot = sqlite_repo.register_dataset_type("ptcPlot", ["instrument", "detector"], "Plot")
    data_id = DataCoordinate.standardize({"instrument": "Cam", "detector": 1}, plot.dimensions)
    sqlite_repo.put(plot_png(), plot, data_id, run=run)
    path = tmp_path / "run.html"
    result = invoke("report", root, "out", "--html", path)
    assert result.exit_code == 1, result.output  # the run has a failure
    return rendered(path)


def test_the_run_page_shows_tasks_failures_timings_and_plots(page: Dom) -> None:
    check_page(page)  # every href="#..." resolves, every image decodes as PNG
    sections = [s.attrs["id"] for s in page.find("section")]
    assert sections == ["tasks", "failures", "timings", "plots"]
    boxes = {g.attrs["data-label"]: g.text for g in page.find("g", class_="task")}
    assert boxes == {
        "calexp": "calexpcalexp7 done · 1 failed",
        "summary": "summarysummary1 done · 1 blocked",
    }
    assert len(page.find("polyline")) == 1  # calexp -> summary
    failures = page.find("h3", class_="failure")
    assert [f.text for f in failures] == [f"calexp {FAILED}"]
    assert "RuntimeError: injected failure for exposure 10 detector 0" in page.text()
    assert "Traceback (most recent call last)" in page.text()
    assert "scaling exposure 10 detector 0" in page.text()  # its log, kept with the error
    durations = [i.attrs["alt"] for i in page.find("img", **{"data-kind": "durations"})]
    assert durations == ["durations of calexp", "durations of summary"]
    plots = page.find("img", **{"data-kind": "plot"})
    assert [p.attrs["alt"] for p in plots] == ["ptcPlot instrument=Cam,detector=1"]
    assert png_size(plots[0].attrs["src"]) == (320, 240)


def test_an_unwritable_page_is_a_user_error(sqlite_repo: Butler, tmp_path: Path) -> None:
    result = invoke("run", sqlite_repo.root, "-p", PIPELINE, "-i", "raw", "-o", "out")
    assert result.exit_code == 0, result.output
    result = invoke("report", sqlite_repo.root, "out", "--html", tmp_path / "no" / "run.html")
    assert result.exit_code == 2 and "cannot write" in result.stderr


def test_a_run_without_its_saved_graph_shows_its_tasks_unlinked(sqlite_repo: Butler) -> None:
    from quanta.reports import gather_run, render_run_html

    result = invoke("run", sqlite_repo.root, "-p", PIPELINE, "-i", "raw", "-o", "out")
    assert result.exit_code == 0, result.output
    run = sqlite_repo.registry.get_collection_chain("out")[0]
    linked = gather_run(sqlite_repo, "out")
    assert [(t.label, t.level, t.upstream) for t in linked.tasks] == [
        ("calexp", 0, []),
        ("summary", 1, ["calexp"]),
    ]
    sqlite_repo.graph_path(run).unlink()
    facts = gather_run(sqlite_repo, run)
    assert not facts.has_graph and [t.upstream for t in facts.tasks] == [[], []]
    assert [t.total for t in facts.tasks] == [8, 2]
    page = render_run_html(facts)
    assert "was not saved" in page and "<polyline" not in page and "Every quantum ran." in page
