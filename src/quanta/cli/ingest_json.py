"""``quanta ingest-raws --format json``: the ingest report as one ``quanta.ingest-raws`` object."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .output import show_json

if TYPE_CHECKING:
    from quanta.core.refs import DatasetRef
    from quanta.instruments.ingest import IngestReport


def show_ingest_json(repo: Path, report: IngestReport) -> None:
    """Print the counts, every raw that went in or was there (with its file), every
    refused file with its reason and every warning."""
    files = {ref.id: path for path, ref in report.sources}

    def raw(ref: DatasetRef) -> dict[str, Any]:
        return {
            "id": str(ref.id),
            "run": ref.run,
            "data_id": dict(ref.data_id),
            "file": str(files[ref.id]) if ref.id in files else None,
        }

    show_json(
        "ingest-raws",
        {
            "repo": str(repo),
            "ok": not report.refused,
            "counts": {
                "ingested": len(report.ingested),
                "already_present": len(report.already_present),
                "refused": len(report.refused),
            },
            "ingested": [raw(ref) for ref in report.ingested],
            "already_present": [raw(ref) for ref in report.already_present],
            "refused": [{"file": str(p), "reason": r} for p, r in report.refused],
            "warnings": [{"file": str(p), "warning": w} for p, w in report.warnings],
        },
    )
