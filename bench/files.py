#!/usr/bin/env python3
"""floe's file workloads beside dask.array over h5py (W5 and W6 of
shared/ANCHORS.md), cold and warm, with time and peak RSS.

    W5  column means and the total sum of a float64 HDF5 dataset in one pass:
          floe eval "mean(x, axis=0); sum(x)" -o ... -o ...
          dask: da.compute(x.mean(axis=0), x.sum()) over da.from_array(h5py)
        on the plain file and on its shuffle+zstd copy
    W6  x*2+1 written to a new dataset, uncompressed and shuffle+zstd level 1:
          floe eval "x*2+1" -o ... [--compress zstd:1]
          dask: da.to_hdf5 (with hdf5plugin.Zstd(clevel=1) and shuffle)

The input, made once when missing: DATA/w5-RxC.h5 holds x, float64 uniform in
[0, 1) (numpy default_rng(5)), shape 32768 x 32768 (8 GiB; --small: 8192 x
8192, 512 MiB), chunks 2048 x 2048 (32 MiB); DATA/w5-RxC-zstd.h5 is its copy
with shuffle + zstd level 1 (hdf5plugin).  DATA is --data, else
$FLOE_BENCH_DATA, else bench/data.

Each measurement runs in a child process of its own, so its peak RSS is its
own: floe's as GNU time (/usr/bin/time) reports it, the Python process's that
runs dask as its VmHWM (imports and interpreter included).  Both sides get 2 threads (--threads), dask chunks are the file's
chunks.  Times are wall seconds from before opening the input to the result
in hand; for W6 they include an fsync of the output file, so that data still
in the page cache do not count as written.  "cold": the page cache is dropped
before every run (`sync; echo 3 > /proc/sys/vm/drop_caches` where writable,
else posix_fadvise(DONTNEED) on the input); "warm": the input is read once
beforehand.  Each cell is the median of --reps runs, floe and dask taking
turns.  Results are checked: floe's and dask's totals must agree, and part of
every W6 output is compared with 2*x+1.

    files.py --floe build/floe [--small] [--reps 3] [--workloads W5,W6]
             [--cache cold,warm] [--impls floe,dask] [--threads 2] [--json]
    files.py --make [--small]      make the inputs only
    files.py --side 4096 ...       another size (a multiple of 2048), to try the script

Prints a Markdown table on stdout (with --json, also one JSON line per cell),
progress on stderr; exits 1 when a run failed or a check did not hold.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHUNK = 2048


def log(msg):
    print(f"files: {msg}", file=sys.stderr, flush=True)


def data_dir(args):
    return args.data or os.environ.get("FLOE_BENCH_DATA") or os.path.join(ROOT, "bench", "data")


def side(args):
    if args.side:
        return args.side
    return 8192 if args.small else 32768


def input_paths(args):
    n = side(args)
    base = os.path.join(data_dir(args), f"w5-{n}x{n}")
    return base + ".h5", base + "-zstd.h5"


# ------------------------------------------------------------------- inputs


def make_inputs(args):
    import h5py
    import hdf5plugin
    import numpy as np

    plain, packed = input_paths(args)
    os.makedirs(os.path.dirname(plain), exist_ok=True)
    n = side(args)
    if not os.path.exists(plain):
        log(f"making {plain} ({n} x {n} float64, {n * n * 8 / 2**30:.1f} GiB)")
        rng = np.random.default_rng(5)
        tmp = plain + ".partial"
        with h5py.File(tmp, "w") as f:
            d = f.create_dataset("x", shape=(n, n), dtype="f8", chunks=(CHUNK, CHUNK))
            for r in range(0, n, CHUNK):
                d[r:r + CHUNK, :] = rng.random((CHUNK, n))
        os.replace(tmp, plain)
    if not os.path.exists(packed):
        log(f"making {packed} (shuffle + zstd level 1)")
        tmp = packed + ".partial"
        with h5py.File(plain, "r") as src, h5py.File(tmp, "w") as f:
            d = f.create_dataset("x", shape=(n, n), dtype="f8", chunks=(CHUNK, CHUNK),
                                 shuffle=True, **hdf5plugin.Zstd(clevel=1))
            for r in range(0, n, CHUNK):
                d[r:r + CHUNK, :] = src["x"][r:r + CHUNK, :]
        os.replace(tmp, packed)
    return plain, packed


# -------------------------------------------------------------------- cases
#
# A case runs in a child process (files.py --case JSON) and prints one JSON
# line: seconds, peak RSS and what the checks need.


def fsync_path(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def case_floe(c):
    if c["workload"] == "W5":
        expr = "mean(x, axis=0); sum(x)"
        outs = ["-o", f"{c['out']}:colmean", "-o", f"{c['out']}:total"]
    else:
        expr = "x*2+1"
        outs = ["-o", f"{c['out']}:y"]
    cmd = [c["floe"], "eval", expr, "-i", f"x={c['input']}:x", *outs, "--threads",
           str(c["threads"]), "--no-progress", "--overwrite"]
    if c["workload"] == "W6" and c["compress"] == "zstd":
        cmd += ["--compress", "zstd:1"]
    # GNU time reports floe's own peak; without it, ru_maxrss of the child
    # also counts this process's resident set at the fork (Linux carries the
    # high-water mark across exec), a few tens of MB too many
    rss_file = c["out"] + ".rss"
    timed = os.access("/usr/bin/time", os.X_OK)
    if timed:
        cmd = ["/usr/bin/time", "-f", "%M", "-o", rss_file] + cmd
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode == 0 and c["workload"] == "W6":
        fsync_path(c["out"])
    seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / 1e6
    if timed:
        try:
            with open(rss_file) as f:
                rss = int(f.read().split()[-1]) * 1024 / 1e6
        except (OSError, ValueError, IndexError):
            pass
        if os.path.exists(rss_file):
            os.remove(rss_file)
    if p.returncode != 0:
        return {"error": f"exit {p.returncode}: {p.stderr.strip()}", "command": " ".join(cmd)}
    r = {"seconds": seconds, "peak_rss_mb": rss}
    if c["workload"] == "W5":
        import h5py

        with h5py.File(c["out"], "r") as f:
            r["total"] = float(f["total"][()])
            r["colmean_sum"] = float(f["colmean"][()].sum())
    return r


def case_dask(c):
    import dask
    import dask.array as da
    import h5py
    import hdf5plugin

    t0 = time.perf_counter()
    f = h5py.File(c["input"], "r")
    d = f["x"]
    x = da.from_array(d, chunks=d.chunks)
    r = {}
    with dask.config.set(scheduler="threads", num_workers=c["threads"]):
        if c["workload"] == "W5":
            m, s = da.compute(x.mean(axis=0), x.sum())
            r["total"] = float(s)
            r["colmean_sum"] = float(m.sum())
        else:
            kw = {}
            if c["compress"] == "zstd":
                kw = dict(shuffle=True, **hdf5plugin.Zstd(clevel=1))
            da.to_hdf5(c["out"], "/y", x * 2 + 1, chunks=d.chunks, **kw)
            fsync_path(c["out"])
    f.close()
    r["seconds"] = time.perf_counter() - t0
    r["peak_rss_mb"] = peak_rss_self_mb()
    return r


def peak_rss_self_mb():
    """This process's own peak resident set (VmHWM): unlike ru_maxrss it does
    not count the parent's resident set at the fork."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def run_case_here(c):
    try:
        r = case_floe(c) if c["impl"] == "floe" else case_dask(c)
    except Exception as e:  # reported, not raised: the parent keeps going
        r = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps(r), flush=True)
    return 0 if "error" not in r else 1


# ------------------------------------------------------------------ caching


def drop_cache(paths):
    """Drops the page cache (all of it where allowed, else these files')."""
    subprocess.run(["sync"], check=False)
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return "drop_caches"
    except OSError:
        for p in paths:
            fd = os.open(p, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
        return "fadvise"


def warm_cache(path):
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(16 << 20)
        while f.readinto(buf):
            pass


# -------------------------------------------------------------------- checks


def check_output(c, x_path):
    """A block of every W6 output against 2*x+1 (the first and last chunk rows)."""
    import h5py
    import hdf5plugin  # noqa: F401  (zstd outputs)
    import numpy as np

    n = side_of(x_path)
    with h5py.File(x_path, "r") as fx, h5py.File(c["out"], "r") as fy:
        y = fy["y"]
        if y.shape != (n, n) or y.dtype != np.float64:
            return f"output {y.shape} {y.dtype}, expected ({n}, {n}) float64"
        for r0 in (0, n - CHUNK):
            sel = np.s_[r0:r0 + CHUNK, n - 3 * CHUNK // 2:]
            if not np.array_equal(y[sel], fx["x"][sel] * 2 + 1):
                return f"output rows {r0}..{r0 + CHUNK} differ from 2*x+1"
        if c["compress"] == "zstd":
            filters = [y.id.get_create_plist().get_filter(j)[0]
                       for j in range(y.id.get_create_plist().get_nfilters())]
            if 32015 not in filters:
                return f"compressed output without zstd: filters {filters}"
    return ""


def side_of(path):
    import h5py

    with h5py.File(path, "r") as f:
        return f["x"].shape[0]


# --------------------------------------------------------------------- main


def variants(args):
    plain, packed = input_paths(args)
    out = []
    if "W5" in args.workloads:
        out.append(("W5", "plain file", plain, "none"))
        out.append(("W5", "shuffle+zstd file", packed, "none"))
    if "W6" in args.workloads:
        out.append(("W6", "uncompressed output", plain, "none"))
        out.append(("W6", "shuffle+zstd:1 output", plain, "zstd"))
    return out


def measure(args, base):
    """Runs one case in a child process; returns its report."""
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--case", json.dumps(base)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return {"error": f"exit {p.returncode}: {p.stderr.strip()[-2000:]}"}
    return json.loads(lines[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--floe", default=os.path.join(ROOT, "build", "floe"))
    ap.add_argument("--small", action="store_true", help="8192 x 8192 (512 MiB)")
    ap.add_argument("--side", type=int, help="another shape, SIDE x SIDE (a multiple of 2048)")
    ap.add_argument("--data", help="where the inputs live (default $FLOE_BENCH_DATA or bench/data)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workloads", default="W5,W6")
    ap.add_argument("--impls", default="floe,dask")
    ap.add_argument("--cache", default="cold,warm")
    ap.add_argument("--json", action="store_true", help="also print one JSON line per cell")
    ap.add_argument("--make", action="store_true", help="make the inputs and stop")
    ap.add_argument("--case", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        return run_case_here(json.loads(args.case))
    args.workloads = args.workloads.split(",")
    impls = args.impls.split(",")
    caches = args.cache.split(",")

    plain, packed = make_inputs(args)
    if args.make:
        return 0
    floe = os.path.abspath(args.floe)
    if "floe" in impls and not os.access(floe, os.X_OK):
        log(f"no floe command at {floe}")
        return 1
    n = side(args)
    ratio = os.path.getsize(plain) / os.path.getsize(packed)
    out = os.path.join(data_dir(args), "files-out.h5")

    status = 0
    cells = []  # dicts: workload, variant, cache, impl, seconds, peak_rss_mb, runs
    for workload, variant, path, compress in variants(args):
        for cache in caches:
            reports = {i: [] for i in impls}
            for rep in range(args.reps):
                for impl in impls:
                    if cache == "cold":
                        how = drop_cache([path])
                    else:
                        warm_cache(path)
                        how = "warm"
                    base = {"impl": impl, "workload": workload, "input": path, "out": out,
                            "compress": compress, "threads": args.threads, "floe": floe}
                    r = measure(args, base)
                    if "error" not in r and workload == "W6":
                        problem = check_output(base, plain)
                        if problem:
                            r = {"error": f"check: {problem}"}
                    if os.path.exists(out):
                        os.remove(out)
                    subprocess.run(["sync"], check=False)
                    tag = f"{workload} {variant} {cache} ({how}) {impl} run {rep + 1}"
                    if "error" in r:
                        log(f"{tag}: FAILED {r['error']}")
                        status = 1
                    else:
                        log(f"{tag}: {r['seconds']:.2f} s, {r['peak_rss_mb']:.0f} MB")
                    reports[impl].append(r)
            # floe's and dask's results must agree (W5)
            totals = [r["total"] for i in impls for r in reports[i] if "total" in r]
            if totals and max(totals) - min(totals) > 1e-9 * abs(max(totals)):
                log(f"{workload} {variant}: totals disagree: {totals}")
                status = 1
            for impl in impls:
                ok = [r for r in reports[impl] if "error" not in r]
                cell = {"workload": workload, "variant": variant, "cache": cache,
                        "impl": impl, "shape": [n, n], "chunks": [CHUNK, CHUNK],
                        "threads": args.threads}
                if ok:
                    cell["seconds"] = statistics.median(r["seconds"] for r in ok)
                    cell["peak_rss_mb"] = max(r["peak_rss_mb"] for r in ok)
                    cell["runs"] = [round(r["seconds"], 3) for r in ok]
                else:
                    cell["error"] = reports[impl][0]["error"] if reports[impl] else "not run"
                cells.append(cell)
                if args.json:
                    print(json.dumps(cell), flush=True)

    print(table(cells, n, ratio, args))
    return status


def table(cells, n, ratio, args):
    def get(w, v, c, i):
        for cell in cells:
            if (cell["workload"], cell["variant"], cell["cache"], cell["impl"]) == (w, v, c, i):
                return cell
        return None

    size = f"{n} x {n} float64 ({n * n * 8 / 2**30:g} GiB), chunks {CHUNK} x {CHUNK}"
    lines = [f"Files: {size}; zstd copy ratio {ratio:.2f}; {args.threads} threads; "
             f"median of {args.reps}; W6 includes an fsync of the output.", "",
             "| workload | variant | cache | floe s | dask s | floe/dask | floe peak MB "
             "| dask peak MB |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    seen = []
    for cell in cells:
        key = (cell["workload"], cell["variant"], cell["cache"])
        if key in seen:
            continue
        seen.append(key)
        f, d = get(*key, "floe"), get(*key, "dask")

        def secs(c):
            if c is None:
                return "—"
            return "failed" if "error" in c else f"{c['seconds']:.2f}"

        def rss(c):
            return "—" if c is None or "error" in c else f"{c['peak_rss_mb']:.0f}"

        ratio_s = "—"
        if f and d and "seconds" in f and "seconds" in d and d["seconds"] > 0:
            ratio_s = f"{f['seconds'] / d['seconds']:.2f}"
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {secs(f)} | {secs(d)} | {ratio_s} "
                     f"| {rss(f)} | {rss(d)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
