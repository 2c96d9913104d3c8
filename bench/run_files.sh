#!/usr/bin/env bash
# floe's file workloads (W5: column means and the total of a float64 HDF5
# dataset in one pass, plain, plain with floe under --memory-limit, and
# shuffle+zstd; W6: x*2+1 into a new dataset, uncompressed and zstd level 1;
# W7: anomalies x - mean(x, axis=0) into a new uncompressed dataset, floe
# under --memory-limit) beside dask.array over h5py, cold and warm, with time
# and peak RSS in a Markdown table; a second table gives floe's --stats
# figures (bytes read, inputs re-read, spilled, peak memory).  See
# bench/files.py.
#
#   bench/run_files.sh                    full size: 32768 x 32768 float64, 8 GiB
#   bench/run_files.sh --small            8192 x 8192, 512 MiB: a smoke test
#   bench/run_files.sh --reps 5 --workloads W5 --cache warm
#   bench/run_files.sh --workloads W7 --memory-limit 2GB
#   FLOE_BENCH_DATA=/big/disk bench/run_files.sh
#
# The inputs are made once in $FLOE_BENCH_DATA (default bench/data; about
# 15 GiB at full size, with room for an 8 GiB output beside them).  Cold runs
# drop the page cache of the whole machine where /proc/sys/vm/drop_caches is
# writable: run the full size only on a machine nobody else is timing on.
# floe's memory limit in W7 and the limited W5 is 1GB at full size, 64MB with
# --small (the same share of the input); dask has none.  Options go to
# bench/files.py (--small, --side, --reps, --workloads, --impls, --cache,
# --threads, --memory-limit, --json, --data, --make).  BUILD_DIR (default
# build) is where CMake builds.
#
# Prints the tables on stdout and progress on stderr; exits non-zero when a
# run failed, floe's and dask's results disagree, floe's W5 under the limit
# differs from its W5 without it, or a W6/W7 output is wrong.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${BUILD_DIR:-build}"

args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --small | --json | --make) args+=("$1"); shift ;;
    --reps | --workloads | --impls | --cache | --threads | --data | --side \
      | --memory-limit)
      [ $# -ge 2 ] || { echo "run_files: $1 needs a value" >&2; exit 2; }
      args+=("$1" "$2"); shift 2 ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "run_files: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

log() { echo "run_files: $*" >&2; }

log "building the floe command in $build"
scripts/install-deps.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target floe_cli -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
log "installing the peers where missing"
vpy="$(scripts/install-bench-deps.sh --print-python | tail -n 1)"

exec "$vpy" bench/files.py --floe "$build/floe" "${args[@]}"
