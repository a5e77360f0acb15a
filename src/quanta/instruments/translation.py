"""Header translation by astro-metadata-translator: the raw headers of any camera that the
library, or a translator package the user installed, knows become quanta's
``ObservationInfo``.

The library is imported inside functions, so ``import quanta.instruments`` stays light.
Before the first translation in a process, every entry point of two groups is imported,
which registers the translators they define: quanta's ``quanta.header_translators``
(each entry names a module or a translator class) and the library's own
``astro_metadata_translators``, which the library lists but never loads by itself.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import functools
import types
from collections import ChainMap
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ..core.errors import ConfigError, UnknownNameError
from ..core.plugins import PluginLoader
from ..core.timespan import Timespan, tai_ns_from_time, utc_iso_from_tai_ns
from .base import DetectorInfo, HeaderError, Instrument, ObservationInfo

if TYPE_CHECKING:
    from astro_metadata_translator import MetadataTranslator
    from astro_metadata_translator import ObservationInfo as TranslatedObservation

T = TypeVar("T")
TRANSLATOR_GROUP = "quanta.header_translators"
LIBRARY_GROUP = "astro_metadata_translators"

#: The library's properties quanta needs, and the optional ones.
REQUIRED = (
    "instrument",
    "detector_num",
    "exposure_id",
    "observation_id",
    "observation_type",
    "exposure_time",
    "dark_time",
    "physical_filter",
    "observing_day",
    "observation_counter",
    "datetime_begin",
    "datetime_end",
)
OPTIONAL = ("exposure_group", "object")

#: The library's observation types that quanta names otherwise; others are kept as given.
#: Sky and twilight flats are not ``flat``: flat pairs and the PTC want dome flats.
OBSERVATION_TYPES = {
    "object": "science",
    "zero": "bias",
    "dome flat": "flat",
    "domeflat": "flat",
    "sky flat": "skyflat",
    "twilight flat": "skyflat",
}

#: Keywords that only processed images carry, with what each one records.
PROCESSED_KEYWORDS = {
    "FLUXMAG0": "a photometric zero point",
    "FLUX20": "an SDSS photometric calibration",
    "IMRED_FF": "an Elixir flat-field correction",
}


class UnrecognisedHeaderError(HeaderError):
    """A header that no installed header translator claims."""

    def __init__(self, header: Mapping[str, Any], translators: Sequence[str]) -> None:
        instrument = header.get("INSTRUME")
        said = f"INSTRUME {str(instrument).strip()!r}" if instrument else "no INSTRUME"
        super().__init__(
            f"no header translator recognises this header ({said}); "
            f"known translators: {', '.join(translators)}"
        )
        self.translators = tuple(translators)


def _is_translator(_name: str, plugin: Any) -> bool:
    """A module (importing it registered its translators) or a translator class."""
    from astro_metadata_translator import MetadataTranslator

    if isinstance(plugin, types.ModuleType):
        return True
    return isinstance(plugin, type) and issubclass(plugin, MetadataTranslator)


TRANSLATORS: PluginLoader[Any] = PluginLoader(
    TRANSLATOR_GROUP,
    "header translator",
    _is_translator,
    "a module or an astro_metadata_translator.MetadataTranslator subclass",
)
LIBRARY_PLUGINS: PluginLoader[Any] = PluginLoader(
    LIBRARY_GROUP, "astro-metadata-translator plugin", lambda _name, _plugin: True, "anything"
)


@functools.cache
def load_translators() -> tuple[str, ...]:
    """Import every installed translator package, once per process; the names of all the
    translators the library knows afterwards."""
    from astro_metadata_translator import MetadataTranslator

    for loader in (TRANSLATORS, LIBRARY_PLUGINS):
        for name in loader.known():
            loader.load(name)
    return tuple(sorted(MetadataTranslator.translators))


def correction_dirs(paths: Sequence[str | Path]) -> tuple[Path, ...]:
    """``paths`` as directories of header corrections; a ``ConfigError`` for one that is
    not a directory."""
    dirs = tuple(Path(path) for path in paths)
    for path in dirs:
        if not path.is_dir():
            problem = "is not a directory" if path.exists() else "does not exist"
            raise ConfigError(f"header correction directory {str(path)!r} {problem}")
    return dirs


def processed_reason(header: Mapping[str, Any]) -> str | None:
    """Why ``header`` is that of a processed image rather than a raw, or ``None``."""
    proctype = header.get("PROCTYPE")
    if proctype is not None and str(proctype).strip().upper() != "RAW":
        return f"a processed image, not a raw: PROCTYPE is {str(proctype).strip()!r}"
    for keyword, meaning in PROCESSED_KEYWORDS.items():
        if keyword in header:
            return f"a processed image, not a raw: {keyword} records {meaning}"
    return None


def observation_type(name: str) -> str:
    """Quanta's name for one of the library's observation types (lower case)."""
    key = " ".join(name.lower().replace("_", " ").split())
    return OBSERVATION_TYPES.get(key, name.strip().lower())


def translate_header(
    header: Mapping[str, Any],
    *,
    filename: str | None = None,
    corrections: Sequence[Path] = (),
    translator: str | None = None,
) -> ObservationInfo:
    """The observation a raw header describes, by the library's translator (the one called
    ``translator``, or the one that recognises the header), after the corrections found in
    the ``corrections`` directories; ``HeaderError`` with one line saying what is wrong."""
    if (reason := processed_reason(header)) is not None:
        raise HeaderError(reason)
    from astro_metadata_translator import ObservationInfo as Translated

    translator_class = _translator_class(header, filename, translator)
    # The library writes corrections into the header it is given: into a layer over ours.
    fixed = ChainMap[str, Any]({}, cast(MutableMapping[str, Any], header))
    try:
        record = Translated(
            fixed,
            filename=filename,
            translator_class=translator_class,
            search_path=[str(path) for path in corrections],
            subset={*REQUIRED, *OPTIONAL},
            quiet=True,
        )
    except (KeyError, TypeError, ValueError, NotImplementedError) as err:
        raise HeaderError(f"{translator_class.name} translator failed: {err}") from None
    for name in REQUIRED:
        if getattr(record, name) is None:
            raise HeaderError(_failure(translator_class(fixed, filename=filename), name))
    return _observation(record, translator_class.name)


def recognising_translator(header: Mapping[str, Any], filename: str | None = None) -> str:
    """The name of the first of the library's translators that recognises ``header``;
    ``UnrecognisedHeaderError`` if none does."""
    return str(_translator_class(header, filename, None).name)


def _translator_class(
    header: Mapping[str, Any], filename: str | None, name: str | None
) -> type[MetadataTranslator]:
    """The translator called ``name``, or the first that recognises ``header``."""
    from astro_metadata_translator import MetadataTranslator

    known = load_translators()
    if name is not None:
        found = MetadataTranslator.translators.get(name)
        if found is None:
            raise UnknownNameError(
                f"unknown header translator {name!r}; known translators: {', '.join(known)}"
            )
        return found
    try:
        return MetadataTranslator.determine_translator(header, filename=filename)
    except ValueError:
        raise UnrecognisedHeaderError(header, known) from None


def _failure(translator: MetadataTranslator, name: str) -> str:
    """Why ``translator`` gives no value of the property ``name``, in one line."""
    what = f"{translator.name} translator"
    try:
        getattr(translator, f"to_{name}")()
    except KeyError as err:
        key = str(err.args[0]) if err.args else ""
        detail = key if " " in key else f"missing keyword {key}"
        return f"{what} cannot compute {name}: {detail}"
    except Exception as err:  # whatever a translator raises, one line says what
        return f"{what} cannot compute {name}: {err}"
    return f"{what} gives no {name.replace('_', ' ')}"


def _observation(record: TranslatedObservation, translator: str | None) -> ObservationInfo:
    """Quanta's fields from the library's record (whose required properties are set)."""

    def value(name: str, convert: Callable[[Any], T]) -> T:
        given = getattr(record, name)
        try:
            return convert(given)
        except (AttributeError, TypeError, ValueError):
            raise HeaderError(f"{translator} translator gives {name} {given!r}") from None

    kind = observation_type(str(record.observation_type))
    if kind in ("", "none"):
        raise HeaderError(f"{translator} translator gives no observation type")
    begin, end = value("datetime_begin", tai_ns_from_time), value("datetime_end", tai_ns_from_time)
    if end < begin:
        raise HeaderError(
            f"{translator} translator gives an end time ({utc_iso_from_tai_ns(end)} UTC) "
            f"before the start ({utc_iso_from_tai_ns(begin)} UTC)"
        )
    return ObservationInfo(
        instrument=value("instrument", str),
        detector=value("detector_num", int),
        exposure_id=value("exposure_id", int),
        obs_id=value("observation_id", str),
        observation_type=kind,
        exposure_time=value("exposure_time", _seconds),
        dark_time=value("dark_time", _seconds),
        physical_filter=value("physical_filter", str),
        day_obs=value("observing_day", _day_obs),
        seq_num=value("observation_counter", int),
        timespan=Timespan(begin, end),
        group_name=_text(record.exposure_group),
        target_name=_text(record.object),
    )


def _seconds(quantity: Any) -> float:
    """A time quantity in seconds."""
    return float(quantity.to_value("s"))


def _text(value: object) -> str | None:
    """An optional string property, ``None`` when absent or blank."""
    if value is None:
        return None
    return str(value).strip() or None


def _day_obs(day: Any) -> int:
    """An observing day as a YYYYMMDD integer that is a real date."""
    datetime.datetime.strptime(str(day), "%Y%m%d")
    return int(day)


class TranslatedInstrument(Instrument):
    """A camera whose raw headers astro-metadata-translator translates: quanta's name,
    filters and detectors around one of the library's translators.

    ``translator`` names the library's translator (by default, the one that recognises
    each header); ``corrections`` are directories of header corrections searched first.
    The translated filter and detector must be ones of this instrument.
    """

    def __init__(
        self,
        name: str,
        filters: Mapping[str, str | None],
        detectors: Sequence[DetectorInfo],
        *,
        translator: str | None = None,
        corrections: Sequence[str | Path] = (),
    ) -> None:
        self.name = name
        self.filters = dict(filters)
        self._detectors = tuple(sorted(detectors, key=lambda detector: detector.id))
        self.translator = translator
        self.corrections = tuple(Path(path) for path in corrections)

    @property
    def detectors(self) -> tuple[DetectorInfo, ...]:
        """Every detector slot, by increasing id."""
        return self._detectors

    def with_corrections(self, corrections: Sequence[Path]) -> TranslatedInstrument:
        """This instrument, searching ``corrections`` before its own correction directories."""
        changed = copy.copy(self)
        changed.corrections = (*corrections, *self.corrections)
        return changed

    def translate(self, header: Mapping[str, Any]) -> ObservationInfo:
        """The library's translation, under this instrument's name and checked against its
        filters and detectors."""
        info = translate_header(header, corrections=self.corrections, translator=self.translator)
        return dataclasses.replace(
            info,
            instrument=self.name,
            detector=self.detector(info.detector).id,
            physical_filter=self.check_filter(info.physical_filter),
        )
