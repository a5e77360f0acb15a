"""Photon Transfer Curve, first step: measure each pair of ISR'd flats, amplifier by amplifier.

Two tasks run the same measurement (``measure_exposure_pair``) on the same inputs and
write the same table, one row per amplifier; they differ only in how a pair becomes a
quantum:

- ``PtcExtractPairTask`` (option B3, task-defined quanta): one quantum per detector by
  default, which its generation hook splits into one quantum per pair, labelled with the
  free-form key ``pair=<first>+<second>``. The pairs come from the exposure records (the
  flat-pair rule of ``quanta.core.pairing``: by exposure time, or by exposure id order),
  from the measured statistics of each flat (``flatStats``: by signal or by photodiode
  charge, read while the graph is built) or from a pairs file named in the config.
- ``PtcGroupPairTask`` (option B1, a group dimension): one quantum per (group, detector)
  of a group system defined beforehand with ``quanta define-groups``; it receives the
  group's members in membership order.

The inputs must be in ADU, overscan- and bias-subtracted but not gain-corrected (ISR with
``apply_gain: false``): the gain is what the curve measures.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field

from ..core.errors import ConfigError
from ..core.group_files import raise_problems, read_group_file
from ..core.image import Image
from ..core.pairing import (
    DEFAULT_SIGNAL_TOLERANCE,
    DEFAULT_TOLERANCE,
    Flat,
    Measured,
    flat_pairs,
    measured_pairs,
    order_pairs,
    pair_name,
)
from ..pipe import Input, NoWorkFound, Output, PipelineTask, PipelineTaskConfig, parallel
from ..pipe import PipelineTaskConnections as Connections
from ..pipe.parallel import SERIAL, Workers
from ..pipe.quantum_io import QuantumIO
from ..pipe.task import Candidate, QuantumSpec
from . import headers as hdr
from .algorithms import MaskBit
from .algorithms.ptc import PairMeasurement, PairOptions, measure_pair
from .exposure_stats import exposure_values
from .rows import planes

if TYPE_CHECKING:
    import pyarrow as pa

    from ..core.data_id import DataCoordinate
    from ..core.raw import Section

EXPOSURE = ("instrument", "detector", "exposure")
DETECTOR = ("instrument", "detector")
GROUP_DETECTOR = ("instrument", "group", "detector")


class PtcPairConfig(PipelineTaskConfig):
    """How a pair is measured."""

    nsigma: float = Field(5.0, gt=0, description="Sigma clipping of the means and difference.")
    max_iter: int = Field(3, ge=1, description="Clipping iterations.")
    edge: int = Field(2, ge=0, description="Pixels left out at each amplifier border.")
    max_lag: int = Field(8, ge=0, description="Covariances up to this lag (pixels) in x and y.")
    covariances: bool = Field(True, description="Measure the covariances (FFT).")
    min_pixels: int = Field(
        1000, ge=2, description="Fewest usable pixels of an amplifier; fewer: no measurement."
    )
    flag_masked: float = Field(
        0.05, ge=0, le=1, description="Flag a pair with more than this fraction masked."
    )
    bad_mask: list[str] = Field(
        default_factory=lambda: ["SAT", "BAD"], description="Mask bits of pixels left out."
    )

    def pair_options(self) -> PairOptions:
        """The measurement options of ``cp.algorithms.ptc``."""
        return PairOptions(
            self.nsigma,
            self.max_iter,
            self.edge,
            self.max_lag,
            self.covariances,
            self.min_pixels,
            self.flag_masked,
        )

    def bad_bits(self) -> int:
        """The mask bits of ``bad_mask`` as one integer."""
        bits = 0
        for name in self.bad_mask:
            try:
                bits |= MaskBit[name]
            except KeyError:
                raise ConfigError(
                    f"unknown mask bit {name!r}; valid: {', '.join(b.name or '' for b in MaskBit)}"
                ) from None
        return bits


def measure_exposure_pair(
    first: Image,
    second: Image,
    exposures: tuple[int, int],
    options: PairOptions,
    bad_bits: int,
    workers: Workers = SERIAL,
) -> pa.Table:
    """The ``ptcPair`` table of one pair of one detector: one row per amplifier (``AMPSEC``
    order), with both exposure ids, the means, the halved difference variance and the
    covariances (row-major, ``(max_lag + 1)**2`` values, or null), null for a pair that
    could not be measured; ``flag`` says why (or what is unusual, empty if nothing);
    ``overscan_noise`` is the root mean square of both flats' ``OSNOISE`` (ADU) as ISR
    recorded it, null without. Amplifiers are measured on ``workers`` threads (NumPy
    releases the GIL), with the same results in the same order as one at a time."""
    import pyarrow as pa

    sections = hdr.amp_sections(first.header)
    if not sections:
        raise ValueError("the image has no AMPSEC cards; run it through IsrTask first")
    if first.shape != second.shape:
        raise ValueError(f"the pair's images have shapes {first.shape} and {second.shape}")
    masks = planes(first)[1], planes(second)[1]

    def measure(amp: tuple[str, Section]) -> tuple[str, PairMeasurement]:
        where = amp[1].slices
        good = np.bitwise_or(masks[0][where], masks[1][where])
        good &= bad_bits
        return amp[0], measure_pair(first.image[where], second.image[where], good == 0, options)

    rows = workers.map(measure, sections.items(), label=lambda amp: f"amplifier {amp[0]}")
    times = [_exposure_time(image) for image in (first, second)]
    noises = [hdr.amp_values(image.header, hdr.OSNOISE) for image in (first, second)]
    return pa.table(
        {
            "amp": pa.array([amp for amp, _ in rows], pa.string()),
            "pair": pa.array([pair_name(*exposures)] * len(rows), pa.string()),
            "exposure1": pa.array([exposures[0]] * len(rows), pa.int64()),
            "exposure2": pa.array([exposures[1]] * len(rows), pa.int64()),
            "exposure_time": pa.array([float(np.mean(times))] * len(rows), pa.float64()),
            "mean1": pa.array([_value(m, m.mean1) for _, m in rows], pa.float64()),
            "mean2": pa.array([_value(m, m.mean2) for _, m in rows], pa.float64()),
            "mean": pa.array([_value(m, m.mean) for _, m in rows], pa.float64()),
            "variance": pa.array([_value(m, m.variance) for _, m in rows], pa.float64()),
            "n_pixels": pa.array([m.n_pixels for _, m in rows], pa.int64()),
            "cov": pa.array(
                [None if m.cov is None else m.cov.ravel().tolist() for _, m in rows],
                pa.list_(pa.float64()),
            ),
            "flag": pa.array([m.flag for _, m in rows], pa.string()),
            "overscan_noise": pa.array(
                [_overscan_noise(noises, amp) for amp, _ in rows], pa.float64()
            ),
        }
    )


def _value(measurement: PairMeasurement, value: float) -> float | None:
    """A measured value, or None (null) for a pair that could not be measured."""
    return value if measurement.measured else None


def _overscan_noise(noises: Sequence[Mapping[str, float]], amp: str) -> float | None:
    """The root mean square of the flats' overscan noise of ``amp`` (ADU), None if any
    flat lacks it."""
    values = [noise[amp] for noise in noises if amp in noise]
    if len(values) < len(noises):
        return None
    return float(np.sqrt(np.mean(np.square(values))))


def _exposure_time(image: Image) -> float:
    value = image.header.get("EXPTIME")
    return float("nan") if value is None else float(value)


class PairTask(PipelineTask):
    """What both pair tasks do with a quantum: read its two flats, measure, write."""

    config: PtcPairConfig

    def run_quantum(self, qio: QuantumIO) -> None:
        """Measure the quantum's two flats, in the order the quantum lists them."""
        refs = qio.refs("inputs")
        if len(refs) != 2:
            raise NoWorkFound(f"{len(refs)} flat(s) in quantum {qio.data_id}; a pair needs 2")
        first, second = qio.get("inputs")
        exposures = (int(refs[0].data_id["exposure"]), int(refs[1].data_id["exposure"]))
        qio.put(self.run(first, second, exposures)["pair"], "pair")

    def run(  # type: ignore[override]
        self, first: Image, second: Image, exposures: tuple[int, int]
    ) -> dict[str, pa.Table]:
        """The per-amplifier table of one pair."""
        options, bits = self.config.pair_options(), self.config.bad_bits()
        table = measure_exposure_pair(first, second, exposures, options, bits, parallel.current())
        return {"pair": table}


# -- option B3: task-defined quanta ----------------------------------------------------------


class PairingConfig(PipelineTaskConfig):
    """Where the tasks that pair flats themselves (B3, A) get their pairs: the flat-pair
    rule with its tolerance, or a file."""

    tolerance: float = Field(
        DEFAULT_TOLERANCE, ge=0, description="Largest exposure time difference in a pair (s)."
    )
    pairs_file: str | None = Field(
        None,
        description="A file of pairs (CSV or YAML, as for define-groups; B3 keys its quanta "
        "by their names); null: the flat-pair rule.",
    )


#: Pairing modes that read each flat's measured statistics (``flatStats``).
MEASURED_MODES = ("signal", "photodiode")


class PtcExtractPairConfig(PtcPairConfig, PairingConfig):
    """How pairs are made and measured, one quantum each."""

    pairing: Literal["exposure_time", "signal", "photodiode", "order"] = Field(
        "exposure_time",
        description="Pair consecutive flats of equal exposure time (within tolerance), of "
        "measured signal or photodiode charge (within signal_tolerance; read from "
        "flatStats), or simply in exposure id order. A pairs_file overrides it.",
    )
    signal_tolerance: float = Field(
        DEFAULT_SIGNAL_TOLERANCE,
        ge=0,
        description="Largest difference of a pair's signals or photodiode charges, as a "
        "fraction of their mean.",
    )


class PtcExtractPairConnections(Connections, dimensions=DETECTOR):
    """The flats of a detector in; one table per pair out, keyed by ``pair``. Pairing by
    signal or photodiode also takes each flat's statistics, read while the graph is built."""

    inputs = Input("postISRCCD", "Image", EXPOSURE, doc="ISR'd flats in ADU.", multiple=True)
    stats = Input("flatStats", "ArrowTable", EXPOSURE, doc="Flat statistics.", multiple=True)
    pair = Output("ptcPair", "ArrowTable", DETECTOR, doc="Per-amplifier pair measurements.")

    @classmethod
    def omitted(cls, config: PipelineTaskConfig) -> Collection[str]:
        """``stats`` unless the config pairs by a measured value."""
        pairing = getattr(config, "pairing", "exposure_time")
        return (
            ()
            if pairing in MEASURED_MODES and not getattr(config, "pairs_file", None)
            else ("stats",)
        )


class PtcExtractPairTask(PairTask):
    """``ptcExtractPair`` with task-defined quanta: one quantum per pair of flats."""

    ConfigClass = PtcExtractPairConfig
    ConnectionsClass = PtcExtractPairConnections
    config: PtcExtractPairConfig
    build_time_inputs = ("stats",)

    @classmethod
    def generate_quanta(  # type: ignore[override]
        cls,
        config: PtcExtractPairConfig,
        quantum_data_ids: Sequence[DataCoordinate],
        candidates: Mapping[str, Sequence[Candidate]],
    ) -> list[QuantumSpec]:
        """One quantum per pair and detector, with the free-form key ``pair``; pairs made
        from measured statistics also take both flats' ``flatStats`` as inputs, so the
        provenance of each pair says which statistics made it."""
        by_detector = _by_detector(candidates["inputs"])
        stats = _by_detector(candidates.get("stats", ()))
        if config.pairs_file is not None:
            known = {exposure for flats in by_detector.values() for exposure in flats}
            pairs = read_pairs_file(Path(config.pairs_file), known)
        specs = []
        for data_id in quantum_data_ids:
            flats = by_detector.get(data_id["detector"], {})
            measured = stats.get(data_id["detector"], {})
            if config.pairs_file is None:
                pairs = rule_pairs(
                    flats.values(),
                    config.tolerance,
                    config.pairing,
                    config.signal_tolerance,
                    list(measured.values()),
                )
            for name, first, second in pairs:
                if first in flats and second in flats:
                    inputs = {"inputs": [flats[first].ref, flats[second].ref]}
                    if measured:
                        inputs["stats"] = [measured[first].ref, measured[second].ref]
                    specs.append(QuantumSpec(data_id.with_extras({"pair": name}), inputs))
        return specs


def _by_detector(candidates: Iterable[Candidate]) -> dict[Any, dict[int, Candidate]]:
    """Candidates by detector, then exposure id."""
    found: dict[Any, dict[int, Candidate]] = {}
    for candidate in candidates:
        data_id = candidate.ref.data_id
        found.setdefault(data_id["detector"], {})[int(data_id["exposure"])] = candidate
    return found


def rule_pairs(
    flats: Iterable[Candidate],
    tolerance: float,
    mode: str = "exposure_time",
    signal_tolerance: float = DEFAULT_SIGNAL_TOLERANCE,
    stats: Sequence[Candidate] = (),
) -> list[tuple[str, int, int]]:
    """(name, first, second) of the pairs a pairing mode makes of candidate flats:
    by exposure time (``tolerance`` in seconds), in exposure id order, or by the signal or
    photodiode charge of their statistics ``stats`` (build-time candidates with data,
    ``signal_tolerance`` a fraction); a flat without that value (all masked) is left out,
    flats of which none has one are a ``ConfigError``."""
    flats = list(flats)
    day_obs = {
        int(c.ref.data_id["exposure"]): int(c.records["exposure"].values["day_obs"]) for c in flats
    }
    if mode == "exposure_time":
        records = [
            Flat(e, day_obs[e], float(c.records["exposure"].values["exposure_time"]))
            for e, c in zip(day_obs, flats, strict=True)
        ]
        made = flat_pairs(records, tolerance)
    elif mode == "order":
        made = order_pairs(Measured(e, night, 0.0) for e, night in day_obs.items())
    else:
        values = exposure_values([c.data for c in stats], mode)
        if flats and not any(values.get(e) is not None for e in day_obs):
            raise ConfigError(
                f"cannot pair by {mode}: no flat has a {mode} in its flatStats"
                + (" (the raws have no PHOTODIO keyword)" if mode == "photodiode" else "")
            )
        made = measured_pairs(
            (
                Measured(e, night, value)
                for e, night in day_obs.items()
                if (value := values.get(e)) is not None
            ),
            signal_tolerance,
            mode,
        )
    return [(pair_name(a, b), a, b) for a, b in made.pairs]


def read_pairs_file(path: Path, known: Collection[int]) -> list[tuple[str, int, int]]:
    """(name, first, second) of every pair of a group file, checked before any is used:
    two exposures each, each exposure in one pair only, every exposure among ``known``
    (the candidate flats). Errors name the file and line."""
    problems: list[str] = []
    used: dict[int, str] = {}
    pairs = []
    for group, where in read_group_file(path):
        if len(group.members) != 2:
            problems.append(
                f"{where}: pair {group.name!r} has {len(group.members)} exposure(s); a pair has 2"
            )
            continue
        for exposure in group.members:
            if exposure in used:
                problems.append(
                    f"{where}: exposure {exposure} of pair {group.name!r} is already in "
                    f"pair {used[exposure]}"
                )
            elif exposure not in known:
                problems.append(
                    f"{where}: exposure {exposure} of pair {group.name!r} is not among the "
                    "flats this graph selects"
                )
            used.setdefault(exposure, f"{group.name!r} ({where})")
        pairs.append((group.name, *group.members))
    raise_problems(problems)
    return pairs


# -- option B1: a group dimension ------------------------------------------------------------


class PtcGroupPairConnections(Connections, dimensions=GROUP_DETECTOR):
    """A group's two flats in (membership order); its table out."""

    inputs = Input("postISRCCD", "Image", EXPOSURE, doc="ISR'd flats in ADU.", multiple=True)
    pair = Output(
        "ptcGroupPair", "ArrowTable", GROUP_DETECTOR, doc="Per-amplifier pair measurements."
    )


class PtcGroupPairTask(PairTask):
    """``ptcExtractPair`` over a group dimension: one quantum per (group, detector)."""

    ConfigClass = PtcPairConfig
    ConnectionsClass = PtcGroupPairConnections

    @classmethod
    def adjust_quantum(  # type: ignore[override]
        cls, config: PtcPairConfig, data_id: DataCoordinate, inputs: dict[str, list[Any]]
    ) -> dict[str, list[Any]]:
        """Drop a group that does not have exactly two flats (a member is missing)."""
        count = len(inputs.get("inputs", []))
        if count != 2:
            raise NoWorkFound(f"group {data_id['group']!r} has {count} flat(s); a pair needs 2")
        return inputs

    @classmethod
    def check_quanta(  # type: ignore[override]
        cls,
        config: PtcPairConfig,
        quanta: Sequence[tuple[DataCoordinate, Mapping[str, Sequence[Any]]]],
    ) -> None:
        """Refuse a flat that is in two pairs (of two group systems, or of one that is not
        exclusive): a curve or linearity fit would count it twice."""
        owner: dict[tuple[Any, Any], tuple[str, str]] = {}
        for data_id, inputs in quanta:
            group = (str(data_id["group_system"]), str(data_id["group"]))
            for ref in inputs.get("inputs", ()):
                key = (data_id["detector"], ref.data_id["exposure"])
                first = owner.setdefault(key, group)
                if first != group:
                    raise ConfigError(_overlap_message(key[1], first, group))


def _overlap_message(exposure: Any, first: tuple[str, str], second: tuple[str, str]) -> str:
    """One line naming the two pairs (and their group systems) that share ``exposure``."""
    first, second = sorted((first, second))
    if first[0] == second[0]:
        where = f"two pairs of group system {first[0]!r} (groups {first[1]!r} and {second[1]!r})"
        fix = "define the pairs as an exclusive group system"
    else:
        where = (
            f"pairs of group systems {first[0]!r} and {second[0]!r} "
            f"(groups {first[1]!r} and {second[1]!r})"
        )
        fix = f"select one system with -d \"group.system = '{first[0]}'\""
    return f"flat {exposure} is in {where}; a flat may be in one pair only: {fix}"
