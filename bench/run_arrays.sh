#!/usr/bin/env bash
# floe's array workloads (bench_arrays) beside their peers (bench/peers.py:
# NumPy, numexpr, dask.array), workload by workload on the same sizes, and
# one table: the best variant of each implementation per workload, its median
# seconds and peak RSS, and floe's time over the peer's (below 1: floe wins).
#
#   bench/run_arrays.sh                   full size: W1 2x2e8, W2 20000x10000, W3 2x2e8
#   QUICK=1 bench/run_arrays.sh           or --quick: W1/W3 2e7, W2 5000x10000
#   bench/run_arrays.sh --n 5e7 --workloads W1,W3 --reps 5
#
# Options given here (--quick, --n, --w3-n, --rows, --cols, --reps,
# --workloads) go to both sides.  BENCH_FLOE_ARGS adds options for
# bench_arrays only (--chunk-bytes 8MiB,32MiB, --threads 1,2, ...), and
# BENCH_PEER_ARGS for peers.py only (--dask-chunks 2e6,1e7, --impls dask, ...).
# BUILD_DIR (default build) is where CMake builds.
#
# Prints the table on stdout and progress on stderr; writes nothing but the
# build directory and the .venv that scripts/install-bench-deps.sh keeps.
# Exits non-zero when either side failed or a check of bench_arrays failed
# (the table still shows what ran).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${BUILD_DIR:-build}"

args=()
if [ "${QUICK:-0}" != "0" ] && [ -n "${QUICK:-}" ]; then
  args+=(--quick)
fi
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) args+=("$1"); shift ;;
    --n | --w3-n | --rows | --cols | --reps | --workloads)
      [ $# -ge 2 ] || { echo "run_arrays: $1 needs a value" >&2; exit 2; }
      args+=("$1" "$2"); shift 2 ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run_arrays: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
read -r -a floe_extra <<<"${BENCH_FLOE_ARGS:-}"
read -r -a peer_extra <<<"${BENCH_PEER_ARGS:-}"

log() { echo "run_arrays: $*" >&2; }
status=0

workloads="W1,W2,W3"
for ((i = 0; i < ${#args[@]}; i++)); do
  if [ "${args[$i]}" = "--workloads" ]; then
    workloads="${args[$((i + 1))]}"
  fi
done

log "building bench_arrays in $build"
built=0
if scripts/install-deps.sh && cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
  cmake --build "$build" --target bench_arrays -j "$(nproc 2>/dev/null || echo 2)" >/dev/null; then
  built=1
else
  log "bench_arrays did not build; the table shows the peers only"
  status=1
fi
log "installing the peers where missing"
vpy="$(scripts/install-bench-deps.sh --print-python | tail -n 1)"

# One workload at a time, floe then its peers, so that both see much the
# same machine (it is shared and noisy: compare ratios, not seconds).
c_out=""
p_out=""
for w in ${workloads//,/ }; do
  if [ "$built" = 1 ]; then
    log "$w: bench_arrays ${args[*]} ${floe_extra[*]}"
    c_out+="$("$build/bench/bench_arrays" --json "${args[@]}" "${floe_extra[@]}" --workloads "$w")"$'\n' || {
      log "$w: bench_arrays failed"
      status=1
    }
  fi
  log "$w: peers.py ${args[*]} ${peer_extra[*]}"
  p_out+="$("$vpy" bench/peers.py "${args[@]}" "${peer_extra[@]}" --workloads "$w")"$'\n' || {
    log "$w: peers.py failed"
    status=1
  }
done

printf '%s\n%s\n' "$c_out" "$p_out" | "$vpy" bench/peers.py --table || status=1
exit "$status"
