"""A task downstream of a per-group task, for the tests of tasks left without quanta."""

from __future__ import annotations

from quanta.pipe import Input, Output, PipelineTask, PipelineTaskConnections

GROUP = ("instrument", "group", "detector")
DETECTOR = ("instrument", "detector")


class GroupSummaryConnections(PipelineTaskConnections, dimensions=DETECTOR):
    stats = Input("groupStat", "StructuredData", GROUP, multiple=True)
    summary = Output("groupSummary", "StructuredData", DETECTOR)


class GroupSummary(PipelineTask):
    """Gathers the ``groupStat`` of every group of a detector."""

    ConnectionsClass = GroupSummaryConnections
