#!/usr/bin/env bash
# Run every quanta benchmark: JSON lines on stdout, progress and profiles on stderr.
#
#   bash benchmarks/run_all.sh > bench.jsonl     (make bench puts .venv/bin on PATH)
#
# BENCH_REPEAT (default 3) sets --repeat for every script. A failing script is reported
# as a {"bench": "run_all", "failed": ...} line; the others still run and the exit status
# is then 1.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python}"
repeat="${BENCH_REPEAT:-3}"
status=0

run() {
    local started=$SECONDS
    echo "run_all: $*" >&2
    if ! "$python" "$here/$@" --repeat "$repeat"; then
        printf '{"bench": "run_all", "failed": "%s"}\n' "$*"
        status=1
    fi
    echo "run_all: $1 took $((SECONDS - started)) s" >&2
}

run bench_import.py
run bench_registry.py
run bench_registry.py --db postgresql
for n in 100 500 2000; do
    run bench_w1.py --n "$n"
done
run bench_w1.py --n 500 --db postgresql
# W1 as a user's script: N x 4 single puts and 200 gets by data ID, create and import.
run bench_w1.py --n 500 --single --no-pipeline
# W1 qgraph at N = 2000, W2 at 1/100 and 1/10 of its size (about a minute); the full
# sizes (1M and 2M quanta, several minutes) need --full: see README.md.
run bench_graph.py
# W4: 10,004 trivial quanta on the process pool and on a local Parsl site, one quantum per
# job and clustered by detector (about 2 min a repeat).
run bench_parsl.py
run bench_ingest.py --n 1000 --jobs 2
# quanta scan of 1,000 DECam raws read by astro-metadata-translator (about 30 s).
run bench_scan.py --n 1000 --jobs 2
# Export and import of 100,000 small datasets (a few minutes a repeat), ingest-files of 10,000.
run bench_bundle.py
run bench_ingest_files.py
run bench_groups.py
run bench_progress.py
run bench_pairs_graph.py
# ISR of one full detector and a 20-frame bias combine (writes ~4 GB of temporary files).
run bench_isr.py
# The PTC core on one full detector's flat pair, pinned to one core (a few seconds).
run bench_ptc.py
# The full covariance fit of 16 amplifiers x 30 pairs on one core.
run bench_ptc_cov.py
# quanta convert of a legacy repository of 10,000 raws and 1,000 calibrations (writing it
# takes a few minutes; converting it about half a minute with 2 processes).
run bench_convert.py --n 10000 --calibs 1000 --jobs 2
# quanta compare of two runs of 20 full images against reading them (writes ~8.6 GB).
run bench_compare.py
echo "run_all: total $SECONDS s" >&2
exit "$status"
