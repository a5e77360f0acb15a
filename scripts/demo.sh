#!/usr/bin/env bash
# The quanta demo: a small repository built with the Python API and explored with the CLI.
#
# Run by `make demo` with .venv/bin on PATH. Creates demo-repo/ (replacing an old one),
# fills it with an instrument, 20 exposures of 4 detectors and their raws, certifies one
# bias per detector, then queries it and reads datasets back. Takes a few seconds.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=demo-repo
INSTRUMENT=DemoCam

step() {
    printf '\n== %s\n' "$*"
}

step "Creating a fresh repository in $REPO/ (SQLite registry, the default)"
rm -rf "$REPO"
quanta create "$REPO"

step "Filling it through the Python API: instrument, filters, detectors, a night, 20 exposures,"
echo "   the 'raw' (NumpyArray) and 'bias' (calibration) dataset types, 80 raws and 4 biases"
python - "$REPO" "$INSTRUMENT" <<'PY'
import sys

import numpy as np

from quanta.butler import Butler
from quanta.core.timespan import Timespan, iso_from_tai_ns, tai_ns_from_iso

repo, instrument = sys.argv[1:]
butler = Butler(repo)
detectors = range(4)
night_start = tai_ns_from_iso("2024-03-15T22:00:00")
minute = 60 * 1_000_000_000

butler.insert_dimension_records("instrument", [{"name": instrument, "detector_max": 4}])
butler.insert_dimension_records("band", [{"name": "g"}, {"name": "r"}])
butler.insert_dimension_records(
    "physical_filter",
    [
        {"instrument": instrument, "name": "g_01", "band": "g"},
        {"instrument": instrument, "name": "r_01", "band": "r"},
    ],
)
butler.insert_dimension_records(
    "detector",
    [{"instrument": instrument, "id": d, "full_name": f"S{d:02d}", "purpose": "SCIENCE"} for d in detectors],
)
butler.insert_dimension_records(
    "day_obs",
    [{"instrument": instrument, "id": 20240315, "timespan": Timespan.from_iso("2024-03-15T12:00", "2024-03-16T12:00")}],
)
exposures = []
for seq in range(1, 21):
    begin = night_start + (seq - 1) * 10 * minute
    exposures.append(
        {
            "instrument": instrument,
            "id": 2024031500000 + seq,
            "obs_id": f"DC_O_20240315_{seq:06d}",
            "seq_num": seq,
            "physical_filter": "g_01" if seq <= 10 else "r_01",
            "day_obs": 20240315,
            "exposure_time": 15.0 * (1 + seq % 3),
            "observation_type": "science",
            "timespan": Timespan(begin, begin + 5 * minute),
        }
    )
butler.insert_dimension_records("exposure", exposures)
print(f"   inserted 1 instrument, 2 filters, {len(detectors)} detectors, 1 night, {len(exposures)} exposures")

butler.register_dataset_type("raw", ["exposure", "detector"], "NumpyArray")
rng = np.random.default_rng(42)
raws = [
    (rng.normal(1000.0, 5.0, (8, 8)).astype(np.float32), {"instrument": instrument, "exposure": e["id"], "detector": d})
    for e in exposures
    for d in detectors
]
butler.put_many(raws, "raw", run=f"{instrument}/raw/all")
print(f"   put {len(raws)} raw arrays in run {instrument}/raw/all")

butler.register_dataset_type("bias", ["detector"], "NumpyArray", is_calibration=True)
for d in detectors:
    butler.put(np.full((8, 8), 100.0 + d, dtype=np.float32), "bias", instrument=instrument, detector=d, run=f"{instrument}/calib/bias/run1")
print(f"   put {len(detectors)} bias arrays in run {instrument}/calib/bias/run1")
butler.registry.db.dispose()
PY

step "Certifying the biases into the CALIBRATION collection $INSTRUMENT/calib from 2024-03-15 on"
quanta certify "$REPO" "$INSTRUMENT/calib/bias/run1" "$INSTRUMENT/calib" bias --begin 2024-03-15T00:00:00

step "Chaining raws and calibrations into one search path, $INSTRUMENT/defaults"
quanta collection-chain "$REPO" "$INSTRUMENT/defaults" "$INSTRUMENT/raw/all" "$INSTRUMENT/calib"

step "Collections (a chain lists its children)"
quanta query-collections "$REPO"

step "Dataset types"
quanta query-dataset-types "$REPO"

step "Raws of detector 1 with exposures longer than 20 s, found through the chain"
quanta query-datasets "$REPO" raw --collections "$INSTRUMENT/defaults" \
    --where "detector = 1 AND exposure.exposure_time > :min" --bind min=20

step "Exposures taken in the r filter that have raws, as CSV"
quanta query-data-ids "$REPO" exposure --datasets raw --where "physical_filter = 'r_01'" --format csv

step "Dimension records of the first five exposures (timespans in TAI)"
quanta query-dimension-records "$REPO" exposure --where "exposure.seq_num <= 5"

step "Reading back with Butler.get: a raw by data ID, and the bias valid at that exposure"
python - "$REPO" "$INSTRUMENT" <<'PY'
import sys

from quanta.butler import Butler

repo, instrument = sys.argv[1:]
butler = Butler(repo, collections=[f"{instrument}/defaults"])
data_id = {"instrument": instrument, "exposure": 2024031500007, "detector": 2}
raw = butler.get("raw", data_id)
print(f"   raw {data_id}: shape {raw.shape}, mean {raw.mean():.1f}")
exposure = butler.registry.expand_data_id(data_id).records["exposure"]
print(f"   exposure {exposure.obs_id} was taken over {exposure.timespan} (TAI)")
bias_ref = butler.find_dataset("bias", data_id)
bias = butler.get(bias_ref)
print(f"   bias valid then: {bias_ref.id} from run {bias_ref.run}, level {bias.mean():.1f}")
print(f"   bias-subtracted raw mean: {(raw - bias).mean():.1f}")
butler.registry.db.dispose()
PY

step "Done: explore $REPO/ further with 'quanta --help'"
