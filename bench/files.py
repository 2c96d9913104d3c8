#!/usr/bin/env python3
"""floe's file workloads beside dask.array over h5py (W5 and W6 of
shared/ANCHORS.md, and W7: anomalies under a memory limit), cold and warm,
with time and peak RSS.

    W5  column means and the total sum of a float64 HDF5 dataset in one pass:
          floe eval "mean(x, axis=0); sum(x)" -o ... -o ...
          dask: da.compute(x.mean(axis=0), x.sum()) over da.from_array(h5py)
        on the plain file, on the plain file again with floe under
        --memory-limit (1GB; dask has no limit, and that row shows dask's
        plain-file cells of the same run), and on the shuffle+zstd copy
    W6  x*2+1 written to a new dataset, uncompressed and shuffle+zstd level 1:
          floe eval "x*2+1" -o ... [--compress zstd:1]
          dask: da.to_hdf5 (with hdf5plugin.Zstd(clevel=1) and shuffle)
    W7  anomalies, x - mean(x, axis=0), written to a new uncompressed dataset:
          floe eval "x - mean(x, axis=0)" -o ... --memory-limit 1GB
          dask: da.to_hdf5 of x - x.mean(axis=0), no memory limit (the
          threaded scheduler has none)

The input, made once when missing: DATA/w5-RxC.h5 holds x, float64 uniform in
[0, 1) (numpy default_rng(5)), shape 32768 x 32768 (8 GiB; --small: 8192 x
8192, 512 MiB), chunks 2048 x 2048 (32 MiB); DATA/w5-RxC-zstd.h5 is its copy
with shuffle + zstd level 1 (hdf5plugin).  DATA is --data, else
$FLOE_BENCH_DATA, else bench/data.  W6 and W7 read the plain file.

Each measurement runs in a child process of its own, so its peak RSS is its
own: floe's as GNU time (/usr/bin/time) reports it, the Python process's that
runs dask as its VmHWM (imports and interpreter included).  Both sides get 2
threads (--threads), dask chunks are the file's chunks.  Times are wall
seconds from before opening the input to the result in hand; for W6 and W7
they include an fsync of the output file, so that data still in the page
cache do not count as written.  "cold": the page cache is dropped before
every run (`sync; echo 3 > /proc/sys/vm/drop_caches` where writable, else
posix_fadvise(DONTNEED) on the input); "warm": the input is read once
beforehand.  Each cell is the median of --reps runs, floe and dask taking
turns.  floe runs with --stats, and a second table gives its own figures
(bytes read, inputs re-read, spilled, peak memory of chunk data), blank
where floe did not print one.

The memory limit is --memory-limit, else 1GB at full size and 64MB with
--small (the same share of the input: the limit bites at both sizes); rows
without it run under floe's default (half the machine's memory).

Results are checked: floe's and dask's W5 totals must agree, floe's W5 under
the limit must equal its W5 without it bit for bit (column means and total),
and the first and last chunk rows of every W6 and W7 output are compared with
2*x+1 and with x minus the column means numpy computes from the input.

    files.py --floe build/floe [--small] [--reps 3] [--workloads W5,W6,W7]
             [--cache cold,warm] [--impls floe,dask] [--threads 2]
             [--memory-limit 1GB] [--json]
    files.py --make [--small]      make the inputs only
    files.py --side 4096 ...       another size (a multiple of 2048), to try the script

Prints the Markdown tables on stdout (with --json, also one JSON line per
cell), progress on stderr; exits 1 when a run failed or a check did not hold.
"""

import argparse
import hashlib
import json
import os
import re
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


def memory_limit(args):
    """floe's --memory-limit for W7 and the limited W5: 1GB for the 8 GiB input,
    the same share of a smaller one (64MB for --small)."""
    if args.memory_limit:
        return args.memory_limit
    n = side(args)
    if n == 32768:
        return "1GB"
    return f"{max(1, round(1024 * (n / 32768) ** 2))}MB"


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
    elif c["workload"] == "W6":
        expr = "x*2+1"
        outs = ["-o", f"{c['out']}:y"]
    else:
        expr = "x - mean(x, axis=0)"
        outs = ["-o", f"{c['out']}:y"]
    cmd = [c["floe"], "eval", expr, "-i", f"x={c['input']}:x", *outs, "--threads",
           str(c["threads"]), "--no-progress", "--overwrite", "--stats"]
    if c["workload"] == "W6" and c["compress"] == "zstd":
        cmd += ["--compress", "zstd:1"]
    if c.get("limit"):
        cmd += ["--memory-limit", c["limit"]]
    # GNU time reports floe's own peak; without it, ru_maxrss of the child
    # also counts this process's resident set at the fork (Linux carries the
    # high-water mark across exec), a few tens of MB too many
    rss_file = c["out"] + ".rss"
    timed = os.access("/usr/bin/time", os.X_OK)
    if timed:
        cmd = ["/usr/bin/time", "-f", "%M", "-o", rss_file] + cmd
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode == 0 and c["workload"] in ("W6", "W7"):
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
    r = {"seconds": seconds, "peak_rss_mb": rss, "stats": parse_stats(p.stderr)}
    if c["workload"] == "W5":
        import h5py
        import numpy as np

        with h5py.File(c["out"], "r") as f:
            m = np.ascontiguousarray(f["colmean"][()])
            r["total"] = float(f["total"][()])
            r["colmean_sum"] = float(m.sum())
            # the limited run must match the unlimited one bit for bit; a
            # JSON float round-trips exactly, the column means go as a digest
            r["colmean_sha256"] = hashlib.sha256(m.tobytes()).hexdigest()
    return r


# What `floe eval --stats` prints on stderr (src/cli/print.c, cli_print_stats):
#   floe: statistics of the run
#     read            8.00 GiB
#     spilled         0 B (reloaded 1.00 GiB, inputs re-read 2.00 GiB)
#     peak memory     812 MiB
# A figure missing from the text stays missing here.
SIZE = r"([0-9]+(?:\.[0-9]+)?)\s*(B|KiB|MiB|GiB|TiB|PiB|EiB)\b"
UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "PiB": 2**50,
         "EiB": 2**60}
STATS = {"read": r"^\s*read\s+" + SIZE, "written": r"^\s*written\s+" + SIZE,
         "spilled": r"^\s*spilled\s+" + SIZE, "reloaded": r"reloaded\s+" + SIZE,
         "reread": r"re-read\s+" + SIZE, "peak_memory": r"^\s*peak memory\s+" + SIZE}


def parse_stats(text):
    """floe's --stats figures in bytes, by name (read, written, spilled,
    reloaded, reread, peak_memory); {} when it printed none."""
    at = text.find("statistics of the run")
    if at < 0:
        return {}
    block = text[at:]
    out = {}
    for name, pattern in STATS.items():
        m = re.search(pattern, block, re.MULTILINE)
        if m:
            out[name] = float(m.group(1)) * UNITS[m.group(2)]
    # the spilled line names what was reloaded and re-read only when either is
    # not zero
    m = re.search(r"^\s*spilled\s+(.*)$", block, re.MULTILINE)
    if m and "(" not in m.group(1):
        out.setdefault("reloaded", 0.0)
        out.setdefault("reread", 0.0)
    return out


def fmt_bytes(n):
    """As floe prints a size (cli_bytes)."""
    if n < 1024:
        return f"{n:.0f} B"
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    u = 0
    while n >= 1024 and u < 6:
        n /= 1024
        u += 1
    digits = "%.2f" if n < 9.995 else "%.1f" if n < 99.95 else "%.0f"
    return f"{digits % n} {units[u]}"


def stats_text(st):
    names = [("read", "read"), ("reread", "re-read"), ("spilled", "spilled"),
             ("peak_memory", "peak memory")]
    return ", ".join(f"{label} {fmt_bytes(st[k])}" for k, label in names if k in st)


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
        elif c["workload"] == "W6":
            kw = {}
            if c["compress"] == "zstd":
                kw = dict(shuffle=True, **hdf5plugin.Zstd(clevel=1))
            da.to_hdf5(c["out"], "/y", x * 2 + 1, chunks=d.chunks, **kw)
            fsync_path(c["out"])
        else:
            da.to_hdf5(c["out"], "/y", x - x.mean(axis=0), chunks=d.chunks)
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
    """The first and last chunk rows of a W6 output against 2*x+1, of a W7
    output against x minus numpy's column means."""
    import h5py
    import hdf5plugin  # noqa: F401  (zstd outputs)
    import numpy as np

    n = side_of(x_path)
    mean = column_means(x_path) if c["workload"] == "W7" else None
    with h5py.File(x_path, "r") as fx, h5py.File(c["out"], "r") as fy:
        y = fy["y"]
        if y.shape != (n, n) or y.dtype != np.float64:
            return f"output {y.shape} {y.dtype}, expected ({n}, {n}) float64"
        for r0 in (0, n - CHUNK):
            cols = np.s_[n - 3 * CHUNK // 2:]
            sel = np.s_[r0:r0 + CHUNK, cols]
            if mean is None:
                if not np.array_equal(y[sel], fx["x"][sel] * 2 + 1):
                    return f"output rows {r0}..{r0 + CHUNK} differ from 2*x+1"
                continue
            # floe sums in another order than numpy: equal to rounding
            err = float(np.max(np.abs(y[sel] - (fx["x"][sel] - mean[cols]))))
            if not err <= 1e-12:
                return f"output rows {r0}..{r0 + CHUNK} differ from x - mean(x, axis=0) by {err:g}"
        if c["compress"] == "zstd":
            filters = [y.id.get_create_plist().get_filter(j)[0]
                       for j in range(y.id.get_create_plist().get_nfilters())]
            if 32015 not in filters:
                return f"compressed output without zstd: filters {filters}"
    return ""


_column_means = {}


def column_means(x_path):
    """numpy's mean(x, axis=0), summed over one chunk row at a time so that
    memory stays at one row of chunks; computed once per input."""
    import h5py
    import numpy as np

    if x_path not in _column_means:
        with h5py.File(x_path, "r") as f:
            x = f["x"]
            total = np.zeros(x.shape[1])
            for r in range(0, x.shape[0], CHUNK):
                total += x[r:r + CHUNK, :].sum(axis=0)
            _column_means[x_path] = total / x.shape[0]
    return _column_means[x_path]


def side_of(path):
    import h5py

    with h5py.File(path, "r") as f:
        return f["x"].shape[0]


# --------------------------------------------------------------------- main


def variants(args):
    """The cases to run, in order; a variant with dask_from runs floe only and
    shows dask's cells of that variant (run before it)."""
    plain, packed = input_paths(args)
    limit = memory_limit(args)
    out = []

    def add(workload, variant, path, compress="none", limit=None, dask_from=None):
        out.append({"workload": workload, "variant": variant, "input": path,
                    "compress": compress, "limit": limit, "dask_from": dask_from})

    if "W5" in args.workloads:
        add("W5", "plain file", plain)
        add("W5", f"plain file, --memory-limit {limit}", plain, limit=limit,
            dask_from="plain file")
        add("W5", "shuffle+zstd file", packed)
    if "W6" in args.workloads:
        add("W6", "uncompressed output", plain)
        add("W6", "shuffle+zstd:1 output", plain, compress="zstd")
    if "W7" in args.workloads:
        add("W7", f"uncompressed output, --memory-limit {limit}", plain, limit=limit)
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
    ap.add_argument("--workloads", default="W5,W6,W7")
    ap.add_argument("--impls", default="floe,dask")
    ap.add_argument("--cache", default="cold,warm")
    ap.add_argument("--memory-limit",
                    help="floe's limit in W7 and the limited W5 (default 1GB; --small 64MB)")
    ap.add_argument("--json", action="store_true", help="also print one JSON line per cell")
    ap.add_argument("--make", action="store_true", help="make the inputs and stop")
    ap.add_argument("--case", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        return run_case_here(json.loads(args.case))
    args.workloads = args.workloads.split(",")
    unknown = [w for w in args.workloads if w not in ("W5", "W6", "W7")]
    if unknown:
        log(f"unknown workload {','.join(unknown)} (W5, W6 or W7)")
        return 2
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
    cells = []  # dicts: workload, variant, cache, impl, seconds, peak_rss_mb, runs, ...
    w5_floe = None  # (total, digest of the column means) of floe's first unlimited W5
    for v in variants(args):
        workload, variant, path = v["workload"], v["variant"], v["input"]
        run_impls = [i for i in impls if not (i == "dask" and v["dask_from"])]
        for cache in caches:
            reports = {i: [] for i in run_impls}
            for rep in range(args.reps):
                for impl in run_impls:
                    if cache == "cold":
                        how = drop_cache([path])
                    else:
                        warm_cache(path)
                        how = "warm"
                    base = {"impl": impl, "workload": workload, "input": path, "out": out,
                            "compress": v["compress"], "limit": v["limit"],
                            "threads": args.threads, "floe": floe}
                    r = measure(args, base)
                    if "error" not in r and workload in ("W6", "W7"):
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
                        st = stats_text(r.get("stats", {}))
                        log(f"{tag}: {r['seconds']:.2f} s, {r['peak_rss_mb']:.0f} MB"
                            + (f"; floe's stats: {st}" if st else ""))
                    reports[impl].append(r)
            # floe's and dask's results must agree (W5)
            totals = [r["total"] for i in run_impls for r in reports[i] if "total" in r]
            if totals and max(totals) - min(totals) > 1e-9 * abs(max(totals)):
                log(f"{workload} {variant}: totals disagree: {totals}")
                status = 1
            # floe under its memory limit computes what it computes without it
            if workload == "W5" and "floe" in run_impls:
                for r in reports["floe"]:
                    if "error" in r or path != plain:
                        continue
                    got = (r["total"], r["colmean_sha256"])
                    if not v["limit"]:
                        w5_floe = w5_floe or got
                    elif w5_floe is None:
                        log(f"W5 {variant}: no unlimited floe run to compare with")
                        status = 1
                    elif got != w5_floe:
                        log(f"W5 {variant}: differs from floe's plain-file W5 (total "
                            f"{r['total']!r} against {w5_floe[0]!r}, column means "
                            f"{'differ' if got[1] != w5_floe[1] else 'equal'})")
                        status = 1
                    else:
                        log(f"W5 {variant} {cache}: identical to floe's plain-file W5")
            for impl in impls:
                cell = {"workload": workload, "variant": variant, "cache": cache,
                        "impl": impl, "shape": [n, n], "chunks": [CHUNK, CHUNK],
                        "threads": args.threads}
                if v["dask_from"]:
                    cell["dask_from"] = v["dask_from"]
                if impl not in run_impls:
                    # dask has no memory limit: its cells of the unlimited variant
                    src = [c for c in cells if (c["workload"], c["variant"], c["cache"],
                                                c["impl"]) == (workload, v["dask_from"],
                                                               cache, impl)]
                    cell.update({k: x for k, x in (src[0] if src else {"error": "not run"})
                                 .items() if k not in cell})
                    cells.append(cell)
                    if args.json:
                        print(json.dumps(cell), flush=True)
                    continue
                if impl == "floe" and v["limit"]:
                    cell["memory_limit"] = v["limit"]
                ok = [r for r in reports[impl] if "error" not in r]
                if ok:
                    cell["seconds"] = statistics.median(r["seconds"] for r in ok)
                    cell["peak_rss_mb"] = max(r["peak_rss_mb"] for r in ok)
                    cell["runs"] = [round(r["seconds"], 3) for r in ok]
                    stats = {}
                    for r in ok:
                        for k, x in r.get("stats", {}).items():
                            stats[k] = max(stats.get(k, x), x)
                    if stats:
                        cell["stats"] = stats
                else:
                    cell["error"] = reports[impl][0]["error"] if reports[impl] else "not run"
                cells.append(cell)
                if args.json:
                    print(json.dumps(cell), flush=True)

    print(table(cells, n, ratio, args))
    return status


def table(cells, n, ratio, args):
    def get(key, impl):
        for cell in cells:
            if (cell["workload"], cell["variant"], cell["cache"], cell["impl"]) == (*key, impl):
                return cell
        return None

    # rows in the order run, but a limited variant beside its unlimited one,
    # cache by cache
    keys, group_of = [], {}
    for cell in cells:
        key = (cell["workload"], cell["variant"], cell["cache"])
        if key not in group_of:
            keys.append(key)
            group_of[key] = (cell["workload"], cell.get("dask_from") or cell["variant"])
    groups = list(dict.fromkeys(group_of[k] for k in keys))
    caches = list(dict.fromkeys(k[2] for k in keys))
    keys.sort(key=lambda k: (groups.index(group_of[k]), caches.index(k[2])))

    size = f"{n} x {n} float64 ({n * n * 8 / 2**30:g} GiB), chunks {CHUNK} x {CHUNK}"
    notes = [f"Files: {size}; zstd copy ratio {ratio:.2f}; {args.threads} threads; "
             f"median of {args.reps}"]
    written = [w for w in ("W6", "W7") if any(k[0] == w for k in keys)]
    if written:
        notes.append(f"{' and '.join(written)} include{'s' if len(written) == 1 else ''} "
                     "an fsync of the output")
    if any(c.get("dask_from") and c["impl"] == "dask" for c in cells):
        notes.append("dask has no memory limit: a --memory-limit row of W5 shows dask's "
                     "cells of the plain-file row")
    lines = ["; ".join(notes) + ".", "",
             "| workload | variant | cache | floe s | dask s | floe/dask | floe peak MB "
             "| dask peak MB |",
             "|---|---|---|---:|---:|---:|---:|---:|"]

    def secs(c):
        if c is None:
            return "—"
        return "failed" if "error" in c else f"{c['seconds']:.2f}"

    def rss(c):
        return "—" if c is None or "error" in c else f"{c['peak_rss_mb']:.0f}"

    for key in keys:
        f, d = get(key, "floe"), get(key, "dask")
        ratio_s = "—"
        if f and d and "seconds" in f and "seconds" in d and d["seconds"] > 0:
            ratio_s = f"{f['seconds'] / d['seconds']:.2f}"
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {secs(f)} | {secs(d)} | {ratio_s} "
                     f"| {rss(f)} | {rss(d)} |")

    # floe's own figures, a blank where it printed none
    rows = [(key, get(key, "floe")) for key in keys]
    rows = [(key, f["stats"]) for key, f in rows if f and f.get("stats")]
    if rows:
        lines += ["", "floe's --stats (the largest of its runs; peak memory is the chunk data "
                  "floe counts, not its RSS):", "",
                  "| workload | variant | cache | read | inputs re-read | spilled | peak memory |",
                  "|---|---|---|---:|---:|---:|---:|"]
        for key, st in rows:
            figs = [fmt_bytes(st[k]) if k in st else ""
                    for k in ("read", "reread", "spilled", "peak_memory")]
            lines.append(f"| {key[0]} | {key[1]} | {key[2]} | " + " | ".join(figs) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
