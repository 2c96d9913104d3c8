#!/usr/bin/env python3
"""Runs the code of the walkthroughs (notebooks-data/walkthrough-*.md).

Every fenced block is taken in order:
  ```sh   runs with bash -euo pipefail in the walkthrough's working directory
          (a temporary copy of notebooks-data/), with the build directory first
          on PATH, so `floe` and `floe-sample` are the ones just built;
  ```c    is a complete program: compiled with
          cc -std=c11 -Wall -Wextra -Werror -I include prog.c -L build -lfloe
          and run in the same directory;
other blocks (```text for output, and any block whose info string has the
word `norun`) are shown, not run.  A block that fails (non-zero exit, or a
compiler warning) fails the walkthrough, with the file, the line and the
output.

    walkthroughs.py --source . --build build [--cc cc] [--cflags "..."]
                    [--only NAME] [--keep DIR] [-v]
"""

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

FENCE = re.compile(r"^```(\S*)(.*)$")


def blocks(path):
    """[(line number, language, info words, code)] of a Markdown file."""
    out = []
    lang = None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = FENCE.match(line.rstrip("\n"))
            if lang is None and m:
                lang, words, start, code = m.group(1), m.group(2).split(), n, []
            elif lang is not None and line.rstrip() == "```":
                out.append((start, lang, words, "".join(code)))
                lang = None
            elif lang is not None:
                code.append(line)
    if lang is not None:
        raise SystemExit(f"{path}:{start}: a code block is never closed")
    return out


def run_walkthrough(path, args, work):
    name = os.path.basename(path)
    env = dict(os.environ)
    env["PATH"] = os.path.abspath(args.build) + os.pathsep + env.get("PATH", "")
    env.setdefault("FLOE_THREADS", "2")
    include = os.path.join(os.path.abspath(args.source), "include")
    build = os.path.abspath(args.build)
    nrun = 0
    for line, lang, words, code in blocks(path):
        where = f"{name}:{line}"
        if "norun" in words or lang not in ("sh", "c"):
            continue
        nrun += 1
        t0 = time.monotonic()
        if lang == "sh":
            p = subprocess.run(["bash", "-euo", "pipefail", "-c", code], cwd=work, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=args.timeout)
            what = "the shell block"
        else:
            src = os.path.join(work, f"prog-{line}.c")
            exe = os.path.join(work, f"prog-{line}")
            with open(src, "w") as f:
                f.write(code)
            cc = [args.cc, "-std=c11", "-Wall", "-Wextra", "-Werror", *shlex.split(args.cflags),
                  "-I", include, src, "-o", exe, "-L", build, "-lfloe", f"-Wl,-rpath,{build}",
                  "-lm"]
            p = subprocess.run(cc, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
            what = "compiling the C block"
            if p.returncode == 0:
                p = subprocess.run([exe], cwd=work, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, timeout=args.timeout)
                what = "the C program"
        took = time.monotonic() - t0
        if p.returncode != 0:
            print(f"FAIL {where}: {what} exited {p.returncode} after {took:.1f} s")
            print("---- block ----\n" + code.rstrip())
            print("---- output ----\n" + p.stdout.rstrip()[-4000:])
            return False, nrun
        if args.verbose:
            print(f"ok   {where} ({lang}, {took:.1f} s)")
            if p.stdout.strip():
                print("     " + p.stdout.rstrip().replace("\n", "\n     "))
    return True, nrun


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", default=".", help="the repository (include/, notebooks-data/)")
    ap.add_argument("--build", default="build", help="the build directory (libfloe, floe)")
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"))
    ap.add_argument("--cflags", default="", help="more compiler flags (-fsanitize=...)")
    ap.add_argument("--only", help="run only walkthrough-NAME.md")
    ap.add_argument("--keep", help="work under this directory and keep it")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per block")
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args()

    data = os.path.join(args.source, "notebooks-data")
    files = sorted(f for f in os.listdir(data) if re.match(r"walkthrough-.*\.md$", f))
    if args.only:
        files = [f for f in files if f in (args.only, f"walkthrough-{args.only}.md")]
    if not files:
        print(f"walkthroughs: none found in {data}")
        return 1
    failed = 0
    for f in files:
        top = args.keep or tempfile.mkdtemp(prefix="floe-walkthrough-")
        work = os.path.join(top, f[:-3])
        if os.path.exists(work):
            shutil.rmtree(work)
        # a copy of the data directory: the generator's sources and any small
        # files; the walkthrough makes its large files itself
        shutil.copytree(data, work, ignore=shutil.ignore_patterns("*.h5", "*.partial"))
        t0 = time.monotonic()
        try:
            ok, n = run_walkthrough(os.path.join(data, f), args, work)
        except subprocess.TimeoutExpired as e:
            print(f"FAIL {f}: a block ran over {e.timeout} s")
            ok, n = False, 0
        finally:
            if not args.keep:
                shutil.rmtree(top, ignore_errors=True)
        print(f"{'ok  ' if ok else 'FAIL'} {f}: {n} blocks, {time.monotonic() - t0:.1f} s")
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
