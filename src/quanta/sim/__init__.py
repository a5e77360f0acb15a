"""Simulated cameras: raw frames with known truth in SimCam's, a DECam-like and an LSST-like
layout, and an exact zero-noise mode."""

from .physics import FlatPattern as FlatPattern
from .physics import flat_pattern as flat_pattern
from .presets import PRESETS as PRESETS
from .presets import Preset as Preset
from .simulate import SimulationSummary as SimulationSummary
from .simulate import simulate as simulate
