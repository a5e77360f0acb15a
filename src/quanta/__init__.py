"""quanta: a data repository, pipelines and executors for astronomical data processing."""

__version__ = "0.1.0"
