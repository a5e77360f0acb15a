"""Instrument definitions, header translation, raw ingest and visit definition."""

from .base import DetectorInfo as DetectorInfo
from .base import HeaderError as HeaderError
from .base import Instrument as Instrument
from .base import ObservationInfo as ObservationInfo
from .base import UnknownInstrumentError as UnknownInstrumentError
from .loader import get_instrument as get_instrument
from .loader import known_instruments as known_instruments
