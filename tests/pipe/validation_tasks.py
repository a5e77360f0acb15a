"""Tasks that exist only to exercise pipeline validation: cycles, clashes and misfits."""

from __future__ import annotations

from quanta.pipe import Input, Output, PipelineTask, PipelineTaskConnections, PrerequisiteInput

DETECTOR = ("instrument", "detector")
EXPOSURE = ("instrument", "detector", "exposure")


class ForwardConnections(PipelineTaskConnections, dimensions=DETECTOR):
    """alpha -> beta."""

    source = Input("alpha", "NumpyArray", DETECTOR)
    target = Output("beta", "NumpyArray", DETECTOR)


class ForwardTask(PipelineTask):
    """Reads alpha, writes beta."""

    ConnectionsClass = ForwardConnections


class BackwardConnections(PipelineTaskConnections, dimensions=DETECTOR):
    """beta -> alpha, closing a cycle with ``ForwardTask``."""

    source = Input("beta", "NumpyArray", DETECTOR)
    target = Output("alpha", "NumpyArray", DETECTOR)


class BackwardTask(PipelineTask):
    """Reads beta, writes alpha."""

    ConnectionsClass = BackwardConnections


class WideInputConnections(PipelineTaskConnections, dimensions=DETECTOR):
    """A single (not multiple) input with a dimension the quantum does not have."""

    raw = Input("raw", "NumpyArray", EXPOSURE)
    out = Output("wide", "NumpyArray", DETECTOR)


class WideInputTask(PipelineTask):
    """Misdeclared: one raw per (instrument, detector) quantum cannot be chosen."""

    ConnectionsClass = WideInputConnections


class TableRawConnections(PipelineTaskConnections, dimensions=EXPOSURE):
    """Declares ``raw`` as a table, contradicting the example tasks' NumPy array."""

    raw = Input("raw", "ArrowTable", EXPOSURE)
    out = Output("fromTable", "NumpyArray", EXPOSURE)


class TableRawTask(PipelineTask):
    """Reads raw as a table."""

    ConnectionsClass = TableRawConnections


class CalexpPrerequisiteConnections(PipelineTaskConnections, dimensions=EXPOSURE):
    """Wants ``calexpLike`` as a prerequisite, which ``ScaleTask`` produces."""

    calexp = PrerequisiteInput("calexpLike", "NumpyArray", EXPOSURE)
    out = Output("checked", "NumpyArray", EXPOSURE)


class CalexpPrerequisiteTask(PipelineTask):
    """Misdeclared prerequisite."""

    ConnectionsClass = CalexpPrerequisiteConnections


class NotATask:
    """A class that is not a ``PipelineTask``."""
