"""The instrument of a legacy repository, from the mapper class named in ``ROOT/_mapper``,
and the mapper policy (path templates) quanta ships for it."""

from __future__ import annotations

from pathlib import Path

from .errors import LegacyRepositoryError

MAPPER_FILE = "_mapper"
#: Legacy mapper class -> the quanta instrument that takes over its data. SimCam never had
#: a legacy mapper of its own; the name below is the one its test repositories use.
INSTRUMENT_OF_MAPPER: dict[str, str] = {
    "lsst.obs.simcam.SimCamMapper": "SimCam",
}


def read_mapper(root: Path) -> str:
    """The mapper class named in ``root/_mapper``."""
    path = root / MAPPER_FILE
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as err:
        raise LegacyRepositoryError(f"{path}: cannot read the mapper ({err.strerror})") from None
    if not text or len(text.split()) != 1:
        raise LegacyRepositoryError(f"{path}: expected one mapper class name, found {text!r}")
    return text


def policy_of(mapper: str) -> Path:
    """The policy YAML quanta ships for a known mapper class."""
    instrument = INSTRUMENT_OF_MAPPER[mapper]
    return Path(__file__).parent / "policies" / f"{instrument.lower()}.yaml"


def instrument_of(root: Path) -> str:
    """The quanta instrument of the legacy repository at ``root``."""
    mapper = read_mapper(root)
    try:
        return INSTRUMENT_OF_MAPPER[mapper]
    except KeyError:
        known = ", ".join(sorted(INSTRUMENT_OF_MAPPER))
        raise LegacyRepositoryError(
            f"unknown legacy mapper {mapper!r} in {root / MAPPER_FILE}; known: {known}"
        ) from None
