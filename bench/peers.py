#!/usr/bin/env python3
"""The peers of bench_arrays (NumPy, numexpr, dask.array) on the same workloads.

    W1        sum(sqrt(x*x + y*y) * 0.5 + sin(x)), x and y float64 in memory
    W2-mean0  mean over axis 0 of a ROWS x COLS float64 array
    W2-std1   std (ddof 0) over axis 1 of the same array
    W3        the W1 expression where x and y come from the peer's generator

Every case (workload, implementation, variant) runs by default in a fresh
subprocess of its own, so that its peak RSS (ru_maxrss, inputs included) is its
own and no case's garbage slows the next.  Each case builds its inputs, runs
once to warm up, then REPS times; it prints one JSON line with the median and
every run.  Times cover everything a user would wait for after the inputs
exist: for dask, making the dask array over the buffer, building the graph
and computing it.  The dask array comes two ways: from_array with name=False,
which skips hashing the buffer but (dask >= 2025) copies it first, and
"views", the same graph built from views of the buffer, as from_array did
before it copied; the table takes the better.

Inputs: x = default_rng(1).random(n), y = default_rng(2).random(n), the W2
array default_rng(3).random((rows, cols)).  bench_arrays makes its own inputs
(uniform in [0, 1) as well); the values do not change the speed, and for
uniform x, y the W1 and W3 results divided by n come near
0.5 * (sqrt(2) + asinh(1)) / 3 + 1 - cos(1) = 0.84230, which both sides print.

Threads: NumPy runs single-threaded (and BLAS pools are pinned to one thread
everywhere); numexpr and dask get THREADS (default 2) threads.

    peers.py                      every case at full size, one process each
    peers.py --quick              W1 and W3 at 2e7 elements, W2 at 5000 x 10000
    peers.py --workloads W1 --impls numexpr,dask --n 1e7
    peers.py --list               the cases that would run
    peers.py --in-process         all cases in this process (peaks then mix)
    peers.py --table < lines      the table of run_arrays.sh from JSON lines
"""

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

W1_MEAN = 0.5 * (math.sqrt(2.0) + math.asinh(1.0)) / 3.0 + 1.0 - math.cos(1.0)

# Fixed before numpy is imported anywhere in this process or its children.
SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "BLIS_NUM_THREADS": "1",
}


def rss_mb():
    """Peak resident set of this process so far, in MB (ru_maxrss is KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def cpu_sample():
    """(CPU seconds the machine was busy, CPU seconds of this process, wall)."""
    busy = -1.0
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]
        user, nice, system, idle, iowait, irq, softirq, steal = fields
        busy = (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        pass
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return busy, ru.ru_utime + ru.ru_stime, time.perf_counter()


def others_pct(a, b):
    """Percent of all CPUs busy outside this process between samples a and b
    (other programs, or the hypervisor as steal): the noise of a timing."""
    if a[0] < 0 or b[0] < 0 or b[2] - a[2] < 0.2:  # /proc/stat ticks are 10 ms
        return None
    others = (b[0] - a[0]) - (b[1] - a[1])
    pct = others * 100 / ((b[2] - a[2]) * (os.cpu_count() or 1))
    return round(min(max(pct, 0.0), 100.0), 1)


def count(text):
    """'2e8', '200000000', '2_000_000' -> int."""
    value = float(text.replace("_", ""))
    if value <= 0 or value != int(value):
        raise argparse.ArgumentTypeError(f"not a positive whole count: {text!r}")
    return int(value)


def count_list(text):
    return [count(t) for t in text.split(",") if t]


def short(n):
    """200000000 -> '2e8', 20000000 -> '2e7', 1000000 -> '1e6', 2500 -> '2500'."""
    if n >= 100000:
        mant, exp = f"{n:e}".split("e")
        mant = mant.rstrip("0").rstrip(".")
        return f"{mant}e{int(exp)}"
    return str(n)


# ------------------------------------------------------------------ inputs


def make_xy(n):
    import numpy as np

    return np.random.default_rng(1).random(n), np.random.default_rng(2).random(n)


def make_matrix(rows, cols):
    import numpy as np

    return np.random.default_rng(3).random((rows, cols))


def parse_chunks2(text, rows, cols):
    """'auto', '2500x-1' (-1: the whole axis) or '2500x2500'."""
    if text == "auto":
        return "auto"
    r, c = text.split("x")
    r, c = int(float(r)), int(float(c))
    return (rows if r < 0 else min(r, rows), cols if c < 0 else min(c, cols))


# ------------------------------------------------------------------- cases
#
# A case's setup(args) builds its inputs and returns run(), which does the
# timed work and returns the result (a float, or an array that the report
# sums).


def w1_numpy(args, _):
    import numpy as np

    x, y = make_xy(args.n)
    return lambda: float(np.sum(np.sqrt(x * x + y * y) * 0.5 + np.sin(x)))


def w1_numexpr_ewise(args, _):
    import numexpr as ne

    ne.set_num_threads(args.threads)
    x, y = make_xy(args.n)
    env = {"x": x, "y": y}
    return lambda: float(ne.evaluate("sqrt(x*x + y*y) * 0.5 + sin(x)", local_dict=env).sum())


def w1_numexpr_sum(args, _):
    import numexpr as ne

    ne.set_num_threads(args.threads)
    x, y = make_xy(args.n)
    env = {"x": x, "y": y}
    return lambda: float(ne.evaluate("sum(sqrt(x*x + y*y) * 0.5 + sin(x))", local_dict=env))


def dask_input(x, chunks, how):
    """A dask array over the NumPy buffer x.  'from_array' is what users write
    (name=False skips hashing the buffer; dask >= 2025 copies the buffer
    first, which costs a pass over it and its size in RSS); 'views' builds the
    same graph from views of x, as from_array did before it copied."""
    import dask.array as da

    if how == "from_array":
        return da.from_array(x, chunks=chunks, name=False)
    import itertools
    import uuid

    from dask.array.core import normalize_chunks, slices_from_chunks

    chunks = normalize_chunks(chunks, x.shape, dtype=x.dtype)
    name = f"view-{uuid.uuid4().hex}"
    keys = itertools.product([name], *(range(len(c)) for c in chunks))
    dsk = {k: x[slc] for k, slc in zip(keys, slices_from_chunks(chunks))}
    return da.Array(dsk, name, chunks, dtype=x.dtype)


def w1_dask(args, param):
    import dask.array as da

    how, chunk = param
    x, y = make_xy(args.n)

    def run():
        dx = dask_input(x, chunk, how)
        dy = dask_input(y, chunk, how)
        expr = (da.sqrt(dx * dx + dy * dy) * 0.5 + da.sin(dx)).sum()
        return float(expr.compute(scheduler="threads", num_workers=args.threads))

    return run


def w2_numpy(op):
    def setup(args, _):
        a = make_matrix(args.rows, args.cols)
        if op == "mean0":
            return lambda: a.mean(axis=0)
        return lambda: a.std(axis=1)

    return setup


def w2_dask(op):
    def setup(args, param):
        how, chunks = param
        a = make_matrix(args.rows, args.cols)
        chunks = parse_chunks2(chunks, args.rows, args.cols)

        def run():
            d = dask_input(a, chunks, how)
            r = d.mean(axis=0) if op == "mean0" else d.std(axis=1)
            return r.compute(scheduler="threads", num_workers=args.threads)

        return run

    return setup


def w3_numpy_full(args, _):
    import numpy as np

    def run():
        x = np.random.default_rng(1).random(args.w3_n)
        y = np.random.default_rng(2).random(args.w3_n)
        return float(np.sum(np.sqrt(x * x + y * y) * 0.5 + np.sin(x)))

    return run


def w3_numpy_blocks(args, block):
    import numpy as np

    def run():
        gx, gy = np.random.default_rng(1), np.random.default_rng(2)
        total = 0.0
        for start in range(0, args.w3_n, block):
            m = min(block, args.w3_n - start)
            x, y = gx.random(m), gy.random(m)
            total += float(np.sum(np.sqrt(x * x + y * y) * 0.5 + np.sin(x)))
        return total

    return run


def w3_dask(generator):
    def setup(args, chunk):
        import dask.array as da

        def run():
            if generator == "uniform":
                da.random.seed(1)
                x = da.random.uniform(0.0, 1.0, size=args.w3_n, chunks=chunk)
                y = da.random.uniform(0.0, 1.0, size=args.w3_n, chunks=chunk)
            else:
                x = da.random.default_rng(1).random(args.w3_n, chunks=chunk)
                y = da.random.default_rng(2).random(args.w3_n, chunks=chunk)
            expr = (da.sqrt(x * x + y * y) * 0.5 + da.sin(x)).sum()
            return float(expr.compute(scheduler="threads", num_workers=args.threads))

        return run

    return setup


def cases(args):
    """[(workload, impl, variant, threads, setup, param)] selected by args."""
    out = []
    t = args.threads
    out.append(("W1", "numpy", "expression", 1, w1_numpy, None))
    out.append(("W1", "numexpr elementwise-then-sum", f"{t} threads", t, w1_numexpr_ewise, None))
    out.append(("W1", "numexpr sum-inside", f"{t} threads", t, w1_numexpr_sum, None))
    hows = ("from_array", "views")
    for how in hows:
        for c in args.dask_chunks:
            out.append(("W1", "dask", f"{how} chunks={short(c)}", t, w1_dask, (how, c)))
    for op in ("mean0", "std1"):
        w = f"W2-{op}"
        out.append((w, "numpy", "", 1, w2_numpy(op), None))
        for how in hows:
            for c in args.dask_chunks2:
                out.append((w, "dask", f"{how} chunks={c}", t, w2_dask(op), (how, c)))
    out.append(("W3", "numpy", "full arrays", 1, w3_numpy_full, None))
    out.append(("W3", "numpy", f"blocks={short(args.w3_block)}", 1, w3_numpy_blocks, args.w3_block))
    for gen in ("uniform", "default_rng"):
        for c in args.dask_chunks:
            out.append(("W3", "dask", f"{gen} chunks={short(c)}", t, w3_dask(gen), c))
    wanted_w = set(args.workloads)
    wanted_i = set(args.impls)
    return [
        c for c in out if c[0].split("-")[0] in wanted_w and c[1].split(" ")[0] in wanted_i
    ]


def case_id(case):
    return f"{case[0]}|{case[1]}|{case[2]}"


def size_of(args, workload):
    if workload == "W1":
        return {"n": args.n}
    if workload == "W3":
        return {"n": args.w3_n}
    return {"rows": args.rows, "cols": args.cols}


def run_case(args, case):
    """Runs one case here and returns its report."""
    import numpy as np

    workload, impl, variant, threads, setup, param = case
    t0 = time.perf_counter()
    run = setup(args, param)
    setup_s = time.perf_counter() - t0
    input_rss = rss_mb()
    run()  # warm-up
    times, cpus, result = [], [], None
    before = cpu_sample()
    for _ in range(args.reps):
        t0, c0 = time.perf_counter(), cpu_sample()[1]
        result = run()
        times.append(time.perf_counter() - t0)
        cpus.append(cpu_sample()[1] - c0)
    others = others_pct(before, cpu_sample())
    report = {
        "workload": workload,
        "impl": impl,
        "variant": variant,
        "threads": threads,
        **size_of(args, workload),
        "seconds": statistics.median(times),
        "runs": [round(s, 6) for s in times],
        "cpu_seconds": round(statistics.median(cpus), 6),
        "setup_seconds": round(setup_s, 3),
        "input_rss_mb": round(input_rss, 1),
        "peak_rss_mb": round(rss_mb(), 1),
        "others_cpu_pct": others,
    }
    if isinstance(result, float):
        report["result"] = result
        report["result_per_element"] = result / size_of(args, workload)["n"]
        report["plausible"] = abs(report["result_per_element"] - W1_MEAN) < 0.01
    else:
        result = np.asarray(result)
        report["result_sum"] = float(result.sum())
        report["result_first"] = float(result.flat[0])
    return report


# ------------------------------------------------------------------- table


def table(lines):
    """The table of run_arrays.sh: for each workload the best variant of each
    implementation, its seconds and peak RSS, and floe's time over it."""
    rows = []
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    best = {}
    failed = []
    checks = [r for r in rows if "check" in r]
    for r in rows:
        if "check" in r:
            continue
        if "error" in r:
            failed.append(r)
            continue
        if "seconds" not in r:
            continue
        key = (r["workload"], r["impl"])
        if key not in best or r["seconds"] < best[key]["seconds"]:
            best[key] = r
    order = ["W1", "W2-mean0", "W2-std1", "W3"]
    workloads = sorted({k[0] for k in best}, key=lambda w: (order.index(w) if w in order else 99, w))

    def floe_time(w, threads):
        r = best.get((w, f"floe {threads} thread" + ("s" if threads > 1 else "")))
        return r["seconds"] if r else None

    header = ("workload", "implementation", "best variant", "seconds", "min s", "cpu s",
              "peak MB", "others %", "floe1t/this", "floe2t/this")
    out = [header]
    for w in workloads:
        f1, f2 = floe_time(w, 1), floe_time(w, 2)
        impls = sorted((k[1] for k in best if k[0] == w),
                       key=lambda i: (not i.startswith("floe"), i.startswith("c "), i))
        for i in impls:
            r = best[(w, i)]
            s = r["seconds"]
            ratio = lambda f: "" if f is None or i.startswith("floe") else f"{f / s:.3f}"
            peak, others = r.get("peak_rss_mb"), r.get("others_cpu_pct")
            fmt = lambda v: f"{v:.4f}" if v >= 0.01 else f"{v:.3g}"
            cpu = r.get("cpu_seconds")
            out.append((w, i, r.get("variant", ""), fmt(s), fmt(min(r.get("runs") or [s])),
                        "" if cpu is None else fmt(cpu),
                        "" if peak is None else f"{peak:.0f}",
                        "" if others is None else f"{others:.0f}", ratio(f1), ratio(f2)))
    widths = [max(len(str(row[c])) for row in out) for c in range(len(header))]
    text = []
    for k, row in enumerate(out):
        text.append("  ".join(str(v).ljust(widths[c]) if c < 3 else str(v).rjust(widths[c])
                              for c, v in enumerate(row)).rstrip())
        if k == 0:
            text.append("  ".join("-" * wd for wd in widths))
    for r in failed:
        text.append(f"FAILED: {r.get('workload')} {r.get('impl')} {r.get('variant')}: {r['error']}")
    if checks:
        bad = [c for c in checks if not c.get("ok")]
        for c in bad:
            text.append(f"FAILED check: {c['workload']} {c['check']} {c.get('detail', '')}")
        text.append(f"bench_arrays checks (bit-identical across threads, vs a C loop, "
                    f"plausible): {len(checks) - len(bad)} passed, {len(bad)} failed")
    text.append("seconds: median of the timed runs after a warm-up (min s: the fastest; cpu s: "
                "the median CPU time, all threads); ratios of medians,\nbelow 1 when floe is "
                "faster; peak MB includes the inputs "
                "(ru_maxrss of a process of its own); others %: the CPU that other programs "
                "took while it ran (a noisy timing)")
    return "\n".join(text), bool(failed) or any(not c.get("ok") for c in checks)


# -------------------------------------------------------------------- main


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workloads", default="W1,W2,W3", type=lambda s: s.split(","),
                   help="W1,W2,W3 (default all)")
    p.add_argument("--impls", default="numpy,numexpr,dask", type=lambda s: s.split(","),
                   help="numpy,numexpr,dask (default all)")
    p.add_argument("--quick", action="store_true",
                   help="smaller sizes: n and w3-n 2e7, rows 5000 (explicit sizes win)")
    p.add_argument("--n", type=count, help="W1 elements per input (default 2e8)")
    p.add_argument("--w3-n", type=count, help="W3 elements per input (default: W1's n)")
    p.add_argument("--rows", type=count, help="W2 rows (default 20000)")
    p.add_argument("--cols", type=count, help="W2 columns (default 10000)")
    p.add_argument("--reps", type=int, default=3, help="timed runs after the warm-up")
    p.add_argument("--threads", type=int, default=2, help="threads for numexpr and dask")
    p.add_argument("--dask-chunks", type=count_list, default=count_list("2e6,1e7,5e7"),
                   help="1-d dask chunk lengths for W1 and W3 (default 2e6,1e7,5e7)")
    p.add_argument("--dask-chunks2", default="auto,1000x-1,2500x-1,2500x2500",
                   type=lambda s: s.split(","),
                   help="W2 dask chunkings, RxC with -1 for a whole axis, or auto")
    p.add_argument("--w3-block", type=count, default=count("1e6"),
                   help="block length of the blocked NumPy W3")
    p.add_argument("--list", action="store_true", help="print the selected cases and stop")
    p.add_argument("--in-process", action="store_true",
                   help="run every case in this process instead of one subprocess each")
    p.add_argument("--case", help=argparse.SUPPRESS)
    p.add_argument("--table", action="store_true",
                   help="read JSON lines (bench_arrays's and ours) on stdin, print the table")
    args = p.parse_args(argv)
    args.n = args.n or (count("2e7") if args.quick else count("2e8"))
    args.w3_n = args.w3_n or args.n
    args.rows = args.rows or (5000 if args.quick else 20000)
    args.cols = args.cols or 10000
    return args


def child_argv(args, case):
    return [sys.executable, os.path.abspath(__file__), "--case", case_id(case),
            "--n", str(args.n), "--w3-n", str(args.w3_n), "--rows", str(args.rows),
            "--cols", str(args.cols), "--reps", str(args.reps), "--threads", str(args.threads),
            "--dask-chunks", ",".join(map(str, args.dask_chunks)),
            "--dask-chunks2", ",".join(args.dask_chunks2), "--w3-block", str(args.w3_block)]


def main(argv):
    args = parse(argv)
    if args.table:
        text, bad = table(sys.stdin.readlines())
        print(text)
        return 1 if bad else 0
    for k, v in SINGLE_THREAD_ENV.items():
        os.environ.setdefault(k, v)
    os.environ["NUMEXPR_MAX_THREADS"] = str(max(args.threads, 1))
    os.environ["NUMEXPR_NUM_THREADS"] = str(max(args.threads, 1))
    if args.case:  # a child: all cases, the wanted one picked by id
        args.workloads, args.impls = ["W1", "W2", "W3"], ["numpy", "numexpr", "dask"]
        match = [c for c in cases(args) if case_id(c) == args.case]
        if not match:
            print(f"peers.py: unknown case {args.case!r}", file=sys.stderr)
            return 2
        print(json.dumps(run_case(args, match[0])), flush=True)
        return 0
    selected = cases(args)
    if args.list:
        for c in selected:
            print(case_id(c))
        return 0
    status = 0
    for c in selected:
        print(f"peers.py: {case_id(c)}", file=sys.stderr, flush=True)
        if args.in_process:
            print(json.dumps(run_case(args, c)), flush=True)
            continue
        proc = subprocess.run(child_argv(args, c), stdout=subprocess.PIPE, text=True)
        lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
        if proc.returncode != 0 or not lines:
            status = 1
            print(json.dumps({"workload": c[0], "impl": c[1], "variant": c[2],
                              "error": f"exit status {proc.returncode}"}), flush=True)
        else:
            print(lines[-1], flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
