"""The calibration flow (bias, dark, flat, PTC) on a real local Parsl cluster of two
workers against PostgreSQL, compared dataset by dataset with the flow run inline on
SQLite: ``quanta compare`` must find every output identical."""

from __future__ import annotations

from pathlib import Path

from quanta.butler import Butler
from quanta.compare import compare_collections
from quanta.core.collections import CollectionType
from quanta.demo import run_calibration_flow
from quanta.exec.sites import load_site

STEPS = ("bias", "dark", "flat", "ptc")


def _runs(butler: Butler) -> dict[str, str]:
    """The RUN of each step of the flow."""
    runs = butler.registry.query_collections("u/demo/*", [CollectionType.RUN])
    return {
        step: next(r.name for r in runs if r.name.startswith(f"u/demo/{step}/")) for step in STEPS
    }


def test_calibration_flow_on_parsl_and_postgres_matches_inline(
    tmp_path: Path, postgres_url: str
) -> None:
    inline = run_calibration_flow(tmp_path / "inline", preset="quick", processes=1)
    parsl = run_calibration_flow(
        tmp_path / "parsl", preset="quick", db=postgres_url, site=load_site("local", 2)
    )
    assert (tmp_path / "parsl/repo/.parsl").is_dir()
    assert [a.gain for a in parsl.amps] == [a.gain for a in inline.amps]
    butler_a, butler_b = Butler(inline.repo), Butler(parsl.repo)
    try:
        assert butler_b.config.registry.db.startswith("postgresql")
        runs_a, runs_b = _runs(butler_a), _runs(butler_b)
        for step in STEPS:
            report = compare_collections(butler_a, runs_a[step], butler_b, runs_b[step])
            assert report.status == "identical", (step, report.model_dump_json(indent=1))
            assert all(s.n_a == s.n_b == s.n_identical > 0 for s in report.dataset_types)
        compared = compare_collections(butler_a, runs_a["ptc"], butler_b, runs_b["ptc"])
        assert {"ptc", "ptcPlot", "postISRCCD"} <= set(compared.type_names())
        hosts = {r.host for r in butler_b.registry.query_quanta(runs_b["ptc"])}
        assert hosts and None not in hosts
        assert butler_b.verify().ok
    finally:
        butler_a.close()
        butler_b.close()
