#!/usr/bin/env python3
"""Interoperability and failure tests of the floe command against h5py.

  - reading: files written by h5py with gzip, shuffle+gzip, fletcher32,
    scaleoffset, contiguous and chunked layouts, big-endian >f8 and >i4,
    int8/int16/uint16 (read as int32), uint32 (as int64), bool, a 0-d
    dataset, a dataset inside groups, chunks larger than the data and chunks
    never written (the fill value): `floe eval "x" -o ...` gives the same
    values and the documented dtype, `floe eval "sum(x)"` prints NumPy's sum;
  - writing: floe's zstd output (shuffle + filter 32015, cd_values[0] = the
    level) read by h5py through HDF5_PLUGIN_PATH, zstd written by h5py through
    the same plugin read by floe, the policy on existing files (refused
    without --overwrite; --overwrite replaces one dataset and keeps the rest);
  - failures: a missing file, a missing dataset, a file that is not HDF5,
    string, compound and uint64 datasets, corrupted chunks (gzip, fletcher32,
    zstd), a syntax error and an unknown name in the expression, usage
    errors, and a full disk (RLIMIT_FSIZE): exit 1 (2 for usage), a message
    on stderr that starts with "floe: " and names what failed, and no output
    file nor temporary file left behind;
  - robustness: --chunks that straddle compressed file chunks, outputs that
    cannot be created (and a job whose second output fails leaves no first
    file), writing into the input's own file, --profile, --dot, --version,
    and Ctrl-C (exit 130, nothing left behind).

    interop.py --floe build/floe --plugins build/plugins [--keep DIR] [-v]

Exits 0 when every check passed, 1 otherwise (each failure is printed with
its command, exit status and stderr).
"""

import argparse
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

import numpy as np

h5py = None  # imported in main(), after HDF5_PLUGIN_PATH is set

ZSTD_ID = 32015
SHUFFLE_ID = 2


class Checks:
    def __init__(self, floe, work, verbose):
        self.floe = floe
        self.work = work
        self.verbose = verbose
        self.failed = []
        self.passed = 0

    def path(self, name):
        return os.path.join(self.work, name)

    def run(self, args, **kw):
        cmd = [self.floe] + args
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=120, **kw)
        p.cmd = cmd
        return p

    def check(self, name, ok, proc=None, detail=""):
        if ok:
            self.passed += 1
            if self.verbose:
                print(f"ok    {name}")
            return True
        lines = [f"FAIL  {name}"]
        if detail:
            lines += ["      " + d for d in detail.splitlines()]
        if proc is not None:
            lines.append(f"      command: {shlex.join(proc.cmd)}")
            lines.append(f"      exit {proc.returncode}")
            if proc.stdout.strip():
                lines.append("      stdout: " + proc.stdout.strip()[:800].replace("\n", "\n      "))
            if proc.stderr.strip():
                lines.append("      stderr: " + proc.stderr.strip()[:1500].replace("\n", "\n      "))
        print("\n".join(lines))
        self.failed.append(name)
        return False

    def expect_failure(self, name, proc, status=1, words=(), out=None, listing=None):
        """Exit `status`, a first stderr line starting 'floe: ' that contains
        every one of `words` (case-insensitive), no file `out`, and the work
        directory listed as `listing` (no temporary files)."""
        problems = []
        if proc.returncode != status:
            problems.append(f"expected exit {status}")
        first = proc.stderr.lstrip("\n").split("\n", 1)[0]
        if not first.startswith("floe: "):
            problems.append("stderr does not start with 'floe: '")
        low = proc.stderr.lower()
        for w in words:
            if w.lower() not in low:
                problems.append(f"the message does not mention {w!r}")
        if out is not None and os.path.exists(out):
            problems.append(f"{out} exists after the failure")
        if listing is not None:
            now = sorted(os.listdir(self.work))
            extra = sorted(set(now) - set(listing))
            if extra:
                problems.append(f"left behind: {extra}")
        if self.verbose and not problems:
            print(f"      ({first.strip()})")
        return self.check(name, not problems, proc, "; ".join(problems))


def parse_printed(text):
    """The numbers of floe's printed result (NumPy style or a scalar)."""
    toks = re.findall(r"-?(?:inf|nan|\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|True"
                      r"|False", text)
    vals = []
    for t in toks:
        vals.append(1.0 if t == "True" else 0.0 if t == "False" else float(t))
    return np.array(vals)


# --------------------------------------------------------------------- reading

def read_cases(rng):
    """(name, data as written, create_dataset keywords, dtype floe gives)."""
    f8 = rng.normal(0, 100, (37, 23))
    cases = [
        ("gzip", f8, dict(chunks=(8, 5), compression="gzip", compression_opts=4), "f8"),
        ("shuffle_gzip", rng.normal(0, 1, (50, 7)).astype("f4"),
         dict(chunks=(16, 7), shuffle=True, compression="gzip"), "f4"),
        ("fletcher32", rng.integers(-2**40, 2**40, (100,)), dict(chunks=(30,), fletcher32=True),
         "i8"),
        ("fletcher32_gzip", rng.normal(0, 1, (9, 10, 11)),
         dict(chunks=(4, 5, 6), fletcher32=True, shuffle=True, compression="gzip"), "f8"),
        ("scaleoffset", rng.integers(-1000, 1000, (64, 3)).astype("i4"),
         dict(chunks=(16, 3), scaleoffset=0), "i4"),
        ("contiguous", rng.normal(0, 1, (13, 11, 5)), dict(), "f8"),
        ("be_f8", rng.normal(0, 1, (40, 9)), dict(chunks=(7, 4), dtype=">f8"), "f8"),
        ("be_f8_contiguous", rng.normal(0, 1, (21,)), dict(dtype=">f8"), "f8"),
        ("be_i4", rng.integers(-2**31, 2**31, (33,)), dict(dtype=">i4"), "i4"),
        ("be_i4_gzip", rng.integers(-2**31, 2**31, (6, 40)),
         dict(dtype=">i4", chunks=(4, 16), shuffle=True, compression="gzip"), "i4"),
        ("be_f4", rng.normal(0, 1, (17, 5)), dict(dtype=">f4", chunks=(5, 5)), "f4"),
        ("int8", rng.integers(-128, 128, (20, 6)).astype("i1"), dict(chunks=(7, 6)), "i4"),
        ("int16", rng.integers(-2**15, 2**15, (25, 4)).astype("i2"),
         dict(chunks=(10, 4), compression="gzip"), "i4"),
        ("be_i2", rng.integers(-2**15, 2**15, (30,)), dict(dtype=">i2"), "i4"),
        ("uint16", rng.integers(0, 2**16, (19, 3)).astype("u2"), dict(chunks=(5, 3)), "i4"),
        ("uint32", rng.integers(0, 2**32, (44,)).astype("u4"), dict(chunks=(10,)), "i8"),
        ("uint8", rng.integers(0, 256, (8, 8, 8)).astype("u1"), dict(chunks=(3, 3, 3)), "u1"),
        ("bool", rng.random((31, 7)) < 0.3, dict(chunks=(8, 7)), "bool"),
        ("bool_contiguous", rng.random((12,)) < 0.5, dict(), "bool"),
        ("float32_contiguous", rng.normal(0, 1, (6, 6)).astype("f4"), dict(), "f4"),
        ("scalar", np.array(2.5), dict(), "f8"),
        ("grp/sub/nested", rng.normal(0, 1, (5, 4)), dict(chunks=(2, 2)), "f8"),
        ("big_chunks", rng.normal(0, 1, (10, 10)),
         dict(chunks=(64, 64), maxshape=(None, None)), "f8"),
    ]
    return cases


def check_reading(c, rng):
    path = c.path("in.h5")
    with h5py.File(path, "w") as f:
        for name, data, kw, _ in read_cases(rng):
            f.create_dataset(name, data=data, **kw)
        # chunks never written read as the fill value
        d = f.create_dataset("sparse", shape=(40, 6), chunks=(10, 3), dtype="f8", fillvalue=7.5)
        d[12:18, 0:3] = np.arange(18.0).reshape(6, 3)
        d = f.create_dataset("sparse_int", shape=(25,), chunks=(5,), dtype="i4", fillvalue=-3)
        d[0:5] = np.arange(5)

    with h5py.File(path, "r") as f:
        expected = {name: np.asarray(f[name][()]) for name in f_names(f)}
    dtypes = {name: dt for name, _, _, dt in read_cases(rng)}
    dtypes["sparse"], dtypes["sparse_int"] = "f8", "i4"

    for name, want in expected.items():
        out = c.path("out.h5")
        if os.path.exists(out):
            os.remove(out)
        dset = "/" + name if name.startswith("grp") else name
        p = c.run(["eval", "x", "-i", f"x={path}:{dset}", "-o", f"{out}:r", "--no-progress"])
        ok = p.returncode == 0 and os.path.exists(out)
        detail = ""
        if ok:
            with h5py.File(out, "r") as f:
                got = np.asarray(f["r"][()])
            want_dt = np.dtype(dtypes[name])
            if got.dtype != want_dt:
                ok, detail = False, f"dtype {got.dtype}, expected {want_dt}"
            elif got.shape != want.shape:
                ok, detail = False, f"shape {got.shape}, expected {want.shape}"
            elif not np.array_equal(got, want.astype(want_dt)):
                bad = np.argwhere(got != want.astype(want_dt))[:5]
                ok = False
                detail = "values differ at " + ", ".join(
                    f"{tuple(b)}: {got[tuple(b)]!r} != {want[tuple(b)]!r}" for b in bad)
        c.check(f"read {name}: floe eval x -o", ok, p, detail)

        p = c.run(["eval", "sum(x)", "-i", f"x={path}:{dset}", "--no-progress"])
        vals = parse_printed(p.stdout)
        if want.dtype.kind in "biu":
            ref = np.sum(want.astype(np.int64))
            ok = p.returncode == 0 and p.stdout.strip() == str(int(ref))
        else:
            # floe sums float32 in float64 and rounds once: compare with the
            # float64 sum, within float32's rounding for float32 data
            ref = np.sum(want.astype(np.float64))
            rtol = 1e-12 if want.dtype == np.float64 else 1e-6
            ok = p.returncode == 0 and len(vals) == 1 and abs(vals[0] - ref) <= rtol * max(
                1.0, np.sum(np.abs(want.astype(np.float64))))
        c.check(f"read {name}: floe eval sum(x) prints {ref!r}", ok, p)

    p = c.run(["info", path])
    missing = [n for n in expected if n.split("/")[-1] not in p.stdout]
    c.check("floe info lists every dataset", p.returncode == 0 and not missing, p,
            f"missing: {missing}" if missing else "")
    p = c.run(["info", f"{path}:gzip"])
    c.check("floe info FILE:DATASET", p.returncode == 0 and "deflate" in p.stdout
            and "(37, 23)" in p.stdout and "shuffle_gzip" not in p.stdout, p)


def f_names(f):
    names = []
    f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
    return names


# --------------------------------------------------------------------- writing

def filters_of(ds):
    """[(filter id, cd_values)] of a dataset's pipeline."""
    plist = ds.id.get_create_plist()
    out = []
    for j in range(plist.get_nfilters()):
        fid, _flags, cd, _name = plist.get_filter(j)
        out.append((fid, tuple(cd)))
    return out


def check_writing(c, rng, have_plugin):
    src = c.path("w.h5")
    x = rng.normal(0, 1, (300, 70))
    with h5py.File(src, "w") as f:
        f.create_dataset("x", data=x, chunks=(64, 32))
    for level, flag in ((1, "zstd"), (7, "zstd:7")):
        out = c.path(f"z{level}.h5")
        p = c.run(["eval", "x * 2 + 1", "-i", f"x={src}:x", "-o", f"{out}:r", "--compress", flag,
                   "--no-progress"])
        if not c.check(f"write --compress {flag}", p.returncode == 0 and os.path.exists(out), p):
            continue
        with h5py.File(out, "r") as f:
            ds = f["r"]
            flt = filters_of(ds)
            ids = [q[0] for q in flt]
            ok = ids == [SHUFFLE_ID, ZSTD_ID] and flt[1][1][:1] == (level,)
            c.check(f"--compress {flag}: shuffle then zstd level {level} in the file", ok,
                    detail=f"filters {flt}")
            ok = ds.chunks is not None and ds.dtype == np.float64
            c.check(f"--compress {flag}: a chunked float64 dataset", ok,
                    detail=f"chunks {ds.chunks}, dtype {ds.dtype}")
            if have_plugin:
                try:
                    got = ds[()]
                    ok, detail = np.array_equal(got, x * 2 + 1), ""
                except OSError as e:
                    ok, detail = False, f"h5py cannot read it: {e}"
                c.check(f"--compress {flag}: h5py reads it through HDF5_PLUGIN_PATH", ok,
                        detail=detail)
        p = c.run(["eval", "sum(r)", "-i", f"r={out}:r", "--no-progress"])
        vals = parse_printed(p.stdout)
        ref = np.sum(x * 2 + 1)
        c.check(f"--compress {flag}: floe reads its own output",
                p.returncode == 0 and len(vals) == 1 and abs(vals[0] - ref) <= 1e-10 * np.sum(
                    np.abs(x * 2 + 1)), p)
        p = c.run(["info", out])
        c.check(f"--compress {flag}: floe info names zstd", p.returncode == 0 and
                "zstd" in p.stdout, p)

    if have_plugin:
        # zstd written by another program (h5py through the plugin)
        zin = c.path("zin.h5")
        y = rng.normal(0, 1, (90, 33)).astype("f4")
        with h5py.File(zin, "w") as f:
            f.create_dataset("y", data=y, chunks=(20, 11), shuffle=True, compression=ZSTD_ID,
                             compression_opts=(5,))
            f.create_dataset("yn", data=y, chunks=(20, 11), compression=ZSTD_ID,
                             compression_opts=(3,))
        for d in ("y", "yn"):
            out = c.path("zout.h5")
            if os.path.exists(out):
                os.remove(out)
            p = c.run(["eval", "y", "-i", f"y={zin}:{d}", "-o", f"{out}:r", "--no-progress"])
            ok = p.returncode == 0
            if ok:
                with h5py.File(out, "r") as f:
                    ok = np.array_equal(f["r"][()], y)
            c.check(f"floe reads zstd written by h5py ({d})", ok, p)

    # existing files: refused without --overwrite; with it one dataset is
    # replaced and the others kept
    out = c.path("exist.h5")
    with h5py.File(out, "w") as f:
        f.create_dataset("keep", data=np.arange(10))
        f.create_dataset("r", data=np.zeros(3))
    before = open(out, "rb").read()
    p = c.run(["eval", "x + 1", "-i", f"x={src}:x", "-o", f"{out}:r", "--no-progress"])
    c.expect_failure("an existing output file is refused without --overwrite", p, 1,
                     words=("exist.h5",))
    c.check("the refused file is unchanged", open(out, "rb").read() == before)
    p = c.run(["eval", "x + 1", "-i", f"x={src}:x", "-o", f"{out}:r", "--overwrite",
               "--no-progress"])
    ok = p.returncode == 0
    if ok:
        with h5py.File(out, "r") as f:
            ok = (sorted(f.keys()) == ["keep", "r"] and np.array_equal(f["keep"][()],
                                                                        np.arange(10))
                  and np.array_equal(f["r"][()], x + 1))
    c.check("--overwrite replaces one dataset and keeps the others", ok, p)
    p = c.run(["eval", "x + 1; x - 1", "-i", f"x={src}:x", "-o", f"{out}:a", "-o",
               f"{out}:grp/b", "--overwrite", "--no-progress"])
    ok = p.returncode == 0
    if ok:
        with h5py.File(out, "r") as f:
            ok = (np.array_equal(f["a"][()], x + 1) and np.array_equal(f["grp/b"][()], x - 1)
                  and "keep" in f)
    c.check("two outputs into one existing file, one inside a group", ok, p)

    # printing without -o
    p = c.run(["eval", "2**10"])
    c.check("floe eval 2**10 prints 1024", p.returncode == 0 and p.stdout.strip() == "1024", p)
    p = c.run(["eval", "1/3"])
    c.check("a scalar prints with 17 significant digits",
            p.returncode == 0 and p.stdout.strip() == "%.17g" % (1 / 3), p)
    small = c.path("small.h5")
    s = np.arange(12.0).reshape(3, 4) / 4
    with h5py.File(small, "w") as f:
        f.create_dataset("s", data=s)
        f.create_dataset("big", data=np.zeros((50, 50)))
    p = c.run(["eval", "s * 2", "-i", f"s={small}:s"])
    vals = parse_printed(p.stdout)
    c.check("a small array prints NumPy-style", p.returncode == 0 and p.stdout.lstrip()
            .startswith("[[") and np.array_equal(vals, (s * 2).ravel()), p)
    p = c.run(["eval", "big + 1", "-i", f"big={small}:big"])
    c.expect_failure("a large result without -o is refused", p, 2 if p.returncode == 2 else 1)


# -------------------------------------------------------------------- failures

def flip(path, offset, count):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = bytearray(f.read(count))
        for j in range(len(b)):
            b[j] ^= 0x5A
        f.seek(offset)
        f.write(bytes(b))


def check_failures(c, rng, have_plugin):
    good = c.path("good.h5")
    with h5py.File(good, "w") as f:
        f.create_dataset("x", data=rng.normal(0, 1, (20, 20)), chunks=(10, 10))
        f.create_dataset("text", data=np.array([b"ab", b"cd"]))
        f.create_dataset("vlen", data=["a", "bb"], dtype=h5py.string_dtype())
        comp = np.zeros(4, dtype=[("a", "f8"), ("b", "i4")])
        f.create_dataset("compound", data=comp)
        f.create_dataset("u64", data=np.arange(5, dtype=np.uint64))
    out = c.path("fail-out.h5")
    listing = sorted(os.listdir(c.work))

    def ev(expr, *inputs, extra=()):
        args = ["eval", expr]
        for i in inputs:
            args += ["-i", i]
        return c.run(args + ["-o", f"{out}:r", "--no-progress"] + list(extra))

    missing = c.path("no-such-file.h5")
    c.expect_failure("a missing input file", ev("x", f"x={missing}:x"), 1,
                     words=("no-such-file.h5",), out=out, listing=listing)
    c.expect_failure("a missing dataset", ev("x", f"x={good}:nope"), 1, words=("nope",),
                     out=out, listing=listing)
    notes = c.path("notes.h5")
    with open(notes, "w") as f:
        f.write("not an HDF5 file\n" * 100)
    listing = sorted(os.listdir(c.work))
    c.expect_failure("a file that is not HDF5", ev("x", f"x={notes}:x"), 1,
                     words=("notes.h5",), out=out, listing=listing)
    for d in ("text", "vlen", "compound", "u64"):
        p = ev("x", f"x={good}:{d}")
        c.expect_failure(f"a {d} dataset (FLOE_ERR_DTYPE)", p, 1, words=(d,), out=out,
                         listing=listing)
        c.check(f"the {d} message speaks of the type",
                re.search(r"dtype|type|string|compound|uint64|unsigned|integer", p.stderr, re.I) is not None, p)

    # the expression
    p = ev("sqrt(x +", f"x={good}:x")
    c.expect_failure("a syntax error", p, p.returncode if p.returncode in (1, 2) else 1,
                     out=out, listing=listing)
    c.check("a syntax error shows a caret", "^" in p.stderr, p)
    p = ev("sqrt(x + zz)", f"x={good}:x")
    c.expect_failure("an unknown name", p, p.returncode if p.returncode in (1, 2) else 1,
                     words=("zz",), out=out, listing=listing)
    c.check("an unknown name shows a caret under it", re.search(r"\n *\^", p.stderr)
            is not None and "column 9" in p.stderr, p)
    p = ev("x + y", f"x={good}:x", f"y={good}:x", extra=["--threads", "0"])
    c.check("two inputs from one file (control)", p.returncode == 0, p)
    if os.path.exists(out):
        os.remove(out)

    # usage errors: exit 2
    c.expect_failure("eval without an expression", c.run(["eval"]), 2)
    c.expect_failure("an unknown flag", c.run(["eval", "x", "--bogus"]), 2, words=("bogus",))
    c.expect_failure("an unknown command", c.run(["frobnicate"]), 2)
    c.expect_failure("more expressions than outputs", c.run(
        ["eval", "x; x", "-i", f"x={good}:x", "-o", f"{out}:r"]), 2, out=out)
    c.expect_failure("a bad -i", c.run(["eval", "x", "-i", "x"]), 2)

    # corrupted chunks
    # damage in the middle of a chunk: deflate has its Adler-32, fletcher32
    # its checksum, and floe's zstd frames (the plugin's too) a checksum
    cases = [("gzip", dict(compression="gzip", shuffle=True)),
             ("fletcher32", dict(fletcher32=True))]
    if have_plugin:
        cases.append(("zstd", dict(compression=ZSTD_ID, compression_opts=(1,), shuffle=True)))
    for tag, kw in cases:
        bad = c.path(f"corrupt-{tag}.h5")
        with h5py.File(bad, "w") as f:
            f.create_dataset("x", data=rng.normal(0, 1, (64, 64)), chunks=(16, 16), **kw)
        with h5py.File(bad, "r") as f:
            info = f["x"].id.get_chunk_info(5)  # chunk (1, 1): rows 16-31, columns 16-31
        flip(bad, info.byte_offset + info.size // 2, 16)
        listing = sorted(os.listdir(c.work))
        p = ev("x + 1", f"x={bad}:x")
        c.expect_failure(f"a corrupted {tag} chunk", p, 1, words=("chunk",), out=out,
                         listing=listing)
        c.check(f"the corrupted {tag} chunk is named", re.search(
            r"\(1, ?1\)|\[1, ?1\]|\(16, ?16\)|\[16, ?16\]|chunk 5\b", p.stderr) is not None,
            p, "the message names neither the chunk's grid position (1, 1) nor its start "
               "(16, 16)")
        p = c.run(["eval", "sum(x)", "-i", f"x={bad}:x", "--no-progress"])
        c.expect_failure(f"a corrupted {tag} chunk (printing)", p, 1, words=("chunk",))

    # a full disk: the output exceeds RLIMIT_FSIZE
    big = c.path("big.h5")
    with h5py.File(big, "w") as f:
        f.create_dataset("x", data=rng.normal(0, 1, (512, 512)), chunks=(64, 512))
    listing = sorted(os.listdir(c.work))

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 10, 256 << 10))

    p = c.run(["eval", "x * 2", "-i", f"x={big}:x", "-o", f"{out}:r", "--no-progress"],
              preexec_fn=small_files)
    c.expect_failure("a full disk (RLIMIT_FSIZE) on a new file", p, 1, out=out,
                     listing=listing)
    keep = c.path("keep.h5")
    with h5py.File(keep, "w") as f:
        f.create_dataset("old", data=np.arange(100))
    listing = sorted(os.listdir(c.work))
    p = c.run(["eval", "x * 2", "-i", f"x={big}:x", "-o", f"{keep}:r", "--overwrite",
               "--no-progress"], preexec_fn=small_files)
    c.expect_failure("a full disk (RLIMIT_FSIZE) in an existing file", p, 1, listing=listing)
    try:
        with h5py.File(keep, "r") as f:
            ok = sorted(f.keys()) == ["old"] and np.array_equal(f["old"][()], np.arange(100))
            detail = f"datasets now {sorted(f.keys())}"
    except OSError as e:
        ok, detail = False, f"h5py cannot open it: {e}"
    c.check("the existing file keeps its datasets and gains none", ok, detail=detail)


# ---------------------------------------------------------------- robustness

def check_robustness(c, rng):
    src = c.path("rb.h5")
    x = rng.normal(0, 1, (120, 50))
    with h5py.File(src, "w") as f:
        f.create_dataset("x", data=x, chunks=(32, 16), compression="gzip", shuffle=True)
    out = c.path("rb-out.h5")

    # explicit chunks that straddle the compressed file chunks
    for chunks in ("7,9", "-1,5", "120,50", "50,-1"):
        if os.path.exists(out):
            os.remove(out)
        p = c.run(["eval", "x * 3", "-i", f"x={src}:x", "-o", f"{out}:r", "--chunks", chunks,
                   "--no-progress"])
        ok = p.returncode == 0
        if ok:
            with h5py.File(out, "r") as f:
                ok = np.array_equal(f["r"][()], x * 3)
        c.check(f"--chunks {chunks} over gzip chunks of (32, 16)", ok, p)

    # outputs that cannot be written
    listing = sorted(os.listdir(c.work))
    p = c.run(["eval", "x", "-i", f"x={src}:x", "-o", c.path("no/such/dir/o.h5") + ":r"])
    c.expect_failure("an output in a missing directory", p, 1, words=("o.h5",),
                     listing=listing)
    # two outputs in two files, the second impossible: neither appears
    first = c.path("first.h5")
    p = c.run(["eval", "x + 1; x + 2", "-i", f"x={src}:x", "-o", f"{first}:a", "-o",
               c.path("no/such/dir/second.h5") + ":b"])
    c.expect_failure("one of two output files cannot be made", p, 1, out=first,
                     listing=listing)

    # the input file as the output file: works (other datasets kept, the
    # input intact) or is refused with the file unchanged
    same = c.path("same.h5")
    with h5py.File(same, "w") as f:
        f.create_dataset("x", data=x, chunks=(32, 16))
    before = open(same, "rb").read()
    p = c.run(["eval", "x + 1", "-i", f"x={same}:x", "-o", f"{same}:y", "--overwrite",
               "--no-progress"])
    if p.returncode == 0:
        with h5py.File(same, "r") as f:
            ok = (np.array_equal(f["x"][()], x) and np.array_equal(f["y"][()], x + 1))
        c.check("writing a new dataset into the input's own file", ok, p)
    else:
        c.expect_failure("writing into the input's own file is refused", p, 1)
        c.check("the refused input file is unchanged", open(same, "rb").read() == before)
    p = c.run(["eval", "x * 2", "-i", f"x={same}:x", "-o", f"{same}:x", "--overwrite",
               "--no-progress"])
    if p.returncode == 0:
        with h5py.File(same, "r") as f:
            ok = np.array_equal(f["x"][()], x * 2)
        c.check("replacing the input dataset itself (x = x * 2)", ok, p,
                "" if ok else "x is not 2 * the old x")
    else:
        c.expect_failure("replacing the input dataset itself is refused", p,
                         2 if p.returncode == 2 else 1)
        with h5py.File(same, "r") as f:
            c.check("the refused dataset is unchanged", np.array_equal(f["x"][()], x))

    # --profile, --dot, --version
    trace = c.path("trace.json")
    dot = c.path("g.dot")
    p = c.run(["eval", "sum(x * x)", "-i", f"x={src}:x", "--profile", trace, "--dot", dot])
    try:
        import json
        with open(trace) as f:
            t = json.load(f)
        events = t["traceEvents"] if isinstance(t, dict) else t
        ok, detail = p.returncode == 0 and len(events) > 0, f"{len(events)} events"
    except (OSError, ValueError, KeyError, TypeError) as e:
        ok, detail = False, f"not a Chrome trace: {e}"
    c.check("--profile writes a Chrome trace (JSON)", ok, p, detail)
    ok = os.path.exists(dot) and open(dot).read().lstrip().startswith("digraph")
    c.check("--dot writes a Graphviz graph", ok, p)
    p = c.run(["--version"])
    c.check("floe --version", p.returncode == 0 and p.stdout.startswith("floe "), p)

    # Ctrl-C: exit 130, and neither the output nor a temporary file is left
    big = c.path("slow.h5")
    with h5py.File(big, "w") as f:
        f.create_dataset("x", data=rng.random(12_000_000), chunks=(250_000,))
    expr = "x"
    for j in range(12):
        expr = f"sin({expr}) + cos({expr} * {j + 2})" if j % 4 == 0 else f"exp(-{expr}) * 0.5"
    if os.path.exists(out):
        os.remove(out)
    listing = sorted(os.listdir(c.work))
    proc = subprocess.Popen([c.floe, "eval", expr, "-i", f"x={big}:x", "-o", f"{out}:r",
                             "--threads", "1", "--no-progress"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        proc.wait(timeout=0.4)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
    so, se = proc.communicate(timeout=120)
    proc.stdout, proc.stderr = so, se
    proc.cmd = proc.args
    if proc.returncode == 0:
        c.check("Ctrl-C (the job was over before the signal: make it slower)", False, proc)
    else:
        c.expect_failure("Ctrl-C stops the job", proc, 130, out=out, listing=listing)


def main():
    global h5py
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--floe", required=True, help="the floe command (build/floe)")
    ap.add_argument("--plugins", help="the HDF5 plugin directory (build/plugins)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", help="work in this directory and keep it")
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args()
    have_plugin = bool(args.plugins) and os.path.exists(
        os.path.join(args.plugins, "libh5zzstd.so"))
    if have_plugin:
        os.environ["HDF5_PLUGIN_PATH"] = os.path.abspath(args.plugins)
    import h5py as _h5py
    h5py = _h5py
    floe = os.path.abspath(args.floe)
    if not os.access(floe, os.X_OK):
        print(f"interop: no floe command at {floe}", file=sys.stderr)
        return 2
    if not have_plugin:
        print("interop: no zstd plugin (--plugins DIR with libh5zzstd.so): "
              "skipping the checks that need h5py to read or write zstd")
    work = args.keep or tempfile.mkdtemp(prefix="floe-interop-")
    os.makedirs(work, exist_ok=True)
    try:
        c = Checks(floe, work, args.verbose)
        rng = np.random.default_rng(args.seed)
        check_reading(c, np.random.default_rng(args.seed))
        check_writing(c, rng, have_plugin)
        check_failures(c, rng, have_plugin)
        check_robustness(c, rng)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"interop: {c.passed} checks passed, {len(c.failed)} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
