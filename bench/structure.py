"""floe's structure workloads beside their peers, in one run.

    W3-matmul  C = A @ B, 4096 x 4096 float64, 2 threads: floe (OpenBLAS
               single-threaded per task, bench_structure) beside NumPy
               (its OpenBLAS with 2 threads) and dask.array (chunks 2048,
               threaded scheduler, 2 workers); A and B hold the same fixed
               pattern everywhere, and the sums of C must agree.
    W8         floe only: a 2 GiB array from (1, N) row chunks to (N, 1)
               column chunks written to HDF5 under a 256 MiB memory limit,
               checked element by element; time and peak RSS.
    W9         the median along axis 0 of a 20000 x 10000 float64 array
               holding the same fixed pattern everywhere: floe (a caller
               buffer, FLOE_AUTO chunks, 2 threads) beside NumPy (np.median,
               single-threaded) and dask.array (ten row blocks of rows / 10
               x cols, which da.median rechunks so that axis 0 is whole;
               threaded scheduler, 2 workers).  A median picks (or averages
               two) elements, so the sums of the medians, taken in index
               order, must agree bit for bit.

    structure.py --floe build/bench/bench_structure [--n 4096] [--reps 3]
                 [--workloads W3-matmul,W8,W9] [--w8-n 16384] [--dir /tmp]
                 [--w9-rows 20000] [--w9-cols 10000]

Each measure runs in a process of its own (peak RSS per process) and times
the operation only, not the making of its inputs.  Prints a Markdown table on
stdout and progress on stderr; exits non-zero when a run failed or the
checksums disagree.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

PEER = r"""
import os, sys, time, json
n, reps, impl, threads = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
import numpy as np
i = np.arange(n, dtype=np.int64)[:, None]
j = np.arange(n, dtype=np.int64)[None, :]
a = ((i * 7 + j * 3) % 17) / 17.0 - 0.5
b = ((i * 5 + j * 11) % 13) / 13.0 - 0.5
times = []
if impl == "numpy":
    for r in range(reps + 1):
        t0 = time.perf_counter(); c = a @ b; times.append(time.perf_counter() - t0)
else:
    import dask, dask.array as da
    A = da.from_array(a, chunks=(2048, 2048)); B = da.from_array(b, chunks=(2048, 2048))
    with dask.config.set(scheduler="threads", num_workers=threads):
        for r in range(reps + 1):
            t0 = time.perf_counter(); c = (A @ B).compute(); times.append(time.perf_counter() - t0)
import resource
rest = sorted(times[1:])
print(json.dumps({"seconds": rest[len(rest) // 2], "checksum": float(c.sum()),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PEER_W9 = r"""
import sys, time, json
rows, cols, reps, impl, threads = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                   sys.argv[4], int(sys.argv[5]))
import numpy as np
i = np.arange(rows, dtype=np.int64)[:, None]
j = np.arange(cols, dtype=np.int64)[None, :]
x = ((i * 7919 + j * 104729) % 1000003) / 1000003.0
times = []
if impl == "numpy":
    for r in range(reps + 1):
        t0 = time.perf_counter(); m = np.median(x, axis=0); times.append(time.perf_counter() - t0)
else:
    import dask, dask.array as da
    X = da.from_array(x, chunks=(max(1, rows // 10), cols))
    with dask.config.set(scheduler="threads", num_workers=threads):
        for r in range(reps + 1):
            t0 = time.perf_counter(); m = da.median(X, axis=0).compute()
            times.append(time.perf_counter() - t0)
# in index order, as bench_structure sums floe's (np.sum adds pairwise)
checksum = 0.0
for v in m.tolist():
    checksum += v
import resource
rest = sorted(times[1:])
print(json.dumps({"seconds": rest[len(rest) // 2], "checksum": checksum,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def log(msg):
    print(f"structure: {msg}", file=sys.stderr, flush=True)


def run_floe(args, extra):
    cmd = [args.floe] + extra
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        log(f"{' '.join(cmd)} failed: {p.stderr.strip()}")
        return None
    words = p.stdout.split()
    out = {}
    for k in range(2, len(words) - 1, 2):
        try:
            out[words[k]] = float(words[k + 1])
        except ValueError:
            out[words[k]] = words[k + 1]
    return out


def run_peer(impl, script, argv, blas_threads):
    env = dict(os.environ)
    for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[v] = str(blas_threads)
    p = subprocess.run([sys.executable, "-c", script] + argv, capture_output=True, text=True,
                       env=env)
    if p.returncode != 0:
        log(f"{impl} failed: {p.stderr.strip()[-400:]}")
        return None
    return json.loads(p.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--floe", default="build/bench/bench_structure")
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workloads", default="W3-matmul,W8,W9")
    ap.add_argument("--w8-n", type=int, default=16384)
    ap.add_argument("--w8-limit", default="160MiB")
    ap.add_argument("--dir", default="/tmp")
    ap.add_argument("--w9-rows", type=int, default=20000)
    ap.add_argument("--w9-cols", type=int, default=10000)
    args = ap.parse_args()
    status = 0
    rows = []
    if "W3-matmul" in args.workloads:
        log(f"W3-matmul: n={args.n}, {args.threads} threads, median of {args.reps}")
        f = run_floe(args, ["--workload", "W3-matmul", "--n", str(args.n), "--threads",
                            str(args.threads), "--reps", str(args.reps)])
        peers = {impl: run_peer(impl, PEER, [str(args.n), str(args.reps), impl, str(args.threads)],
                                args.threads if impl == "numpy" else 1)
                 for impl in ("numpy", "dask")}
        if f is None or any(v is None for v in peers.values()):
            status = 1
        for impl, r in peers.items():
            if f is None or r is None:
                continue
            agree = abs(f["checksum"] - r["checksum"]) <= 1e-9 * max(1.0, abs(r["checksum"]))
            if not agree:
                log(f"W3-matmul: checksums differ: floe {f['checksum']!r}, {impl} {r['checksum']!r}")
                status = 1
            rows.append(("W3-matmul", impl, f["seconds"], r["seconds"], f["peak_rss_mb"],
                         r["peak_rss_mb"]))
    if "W8" in args.workloads:
        log(f"W8: N={args.w8_n}, limit {args.w8_limit}")
        f = run_floe(args, ["--workload", "W8", "--n", str(args.w8_n), "--memory-limit",
                            args.w8_limit, "--dir", args.dir, "--threads", str(args.threads)])
        if f is None or f.get("ok") != 1:
            status = 1
        else:
            log(f"W8: {f}")
            rows.append(("W8", "-", f["seconds"], None, f["peak_rss_mb"], None))
    if "W9" in args.workloads:
        log(f"W9: {args.w9_rows} x {args.w9_cols}, {args.threads} threads, median of {args.reps}")
        f = run_floe(args, ["--workload", "W9", "--rows", str(args.w9_rows), "--cols",
                            str(args.w9_cols), "--threads", str(args.threads), "--reps",
                            str(args.reps)])
        argv = [str(args.w9_rows), str(args.w9_cols), str(args.reps)]
        peers = {impl: run_peer(impl, PEER_W9, argv + [impl, str(args.threads)], 1)
                 for impl in ("numpy", "dask")}
        if f is None or any(v is None for v in peers.values()):
            status = 1
        for impl, r in peers.items():
            if f is None or r is None:
                continue
            if f["checksum"] != r["checksum"]:
                log(f"W9: checksums differ: floe {f['checksum']!r}, {impl} {r['checksum']!r}")
                status = 1
            rows.append(("W9", impl, f["seconds"], r["seconds"], f["peak_rss_mb"],
                         r["peak_rss_mb"]))
    print(f"{args.threads} threads (NumPy's median: one); median of {args.reps} after a warm-up "
          f"(W3, W9); W8 one run\n")
    print("| workload | peer | floe s | peer s | floe/peer | floe peak MB | peer peak MB |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for w, impl, fs, ps, fr, pr in rows:
        ratio = f"{fs / ps:.2f}" if ps else "-"
        print(f"| {w} | {impl} | {fs:.3f} | {'-' if ps is None else f'{ps:.3f}'} | {ratio} | "
              f"{fr:.0f} | {'-' if pr is None else f'{pr:.0f}'} |")
    return status


if __name__ == "__main__":
    sys.exit(main())
