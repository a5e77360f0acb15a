"""Checking that a run made what it should: predicted outputs, counts, rows and values."""

from .checker import check_collection as check_collection
from .expectations import Expectations as Expectations
from .expectations import ExpectationsFile as ExpectationsFile
from .expectations import load_expectations as load_expectations
from .report import CheckReport as CheckReport
from .report import ExpectationResult as ExpectationResult
