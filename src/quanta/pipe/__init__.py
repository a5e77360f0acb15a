"""Tasks, their configs and connections, and pipelines."""

from .config import PipelineTaskConfig as PipelineTaskConfig
from .connections import InitOutput as InitOutput
from .connections import Input as Input
from .connections import Output as Output
from .connections import PipelineTaskConnections as PipelineTaskConnections
from .connections import PrerequisiteInput as PrerequisiteInput
from .pipeline import Pipeline as Pipeline
from .resolved import ResolvedPipeline as ResolvedPipeline
from .resolved import TaskDef as TaskDef
from .task import NoWorkFound as NoWorkFound
from .task import PipelineTask as PipelineTask
