"""Pairs per hour of the full `render` job, with region rendering on and off, in one run.

    python benchmarks/render.py [--n 6] [--size 256] [--samples 32] [--spec mixed] [--device CPU]

Runs the real pipeline (plan, settle, render source and target, verify, write) twice on the same
samples into temporary directories: with `--region-target` (the target rendered only where the
edit can show, render/region.py; the default on the CPU) and with `--full-target` (the default on
a GPU). Prints each run's own summary (pairs/hour, share of wall time outside the renderer) and
the ratio. A one-pair run before them, untimed, loads the renderer's kernels (on a GPU the first
render builds them).
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(args: argparse.Namespace, out: str, *extra: str, n: int | None = None, size: int | None = None) -> tuple[float, str]:
    cmd = [sys.executable, "-m", "simedit.render.cli", "--spec", args.spec, "--n", str(n or args.n), "--out", out,
           "--size", str(size or args.size), "--samples", str(args.samples), "--device", args.device, *extra]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if result.returncode:
        sys.exit(result.stderr)
    rate = float(re.search(r"([\d.]+) pairs/hour", result.stdout).group(1))
    return rate, result.stdout.strip().splitlines()[0]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=6, help="accepted pairs")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--samples", type=int, default=32)
    p.add_argument("--spec", default="mixed")
    p.add_argument("--device", default="CPU", choices=["CPU", "GPU"])
    p.add_argument("--workers", type=int, default=None)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # untimed: whichever run came first paid for loading (on a GPU, building) the kernels
        run(args, f"{tmp}/warm", n=1, size=64)
        region, region_line = run(args, f"{tmp}/region", "--region-target")
        full, full_line = run(args, f"{tmp}/full", "--full-target")
    print(f"{args.spec} at {args.size}x{args.size}, {args.samples} samples, {args.device}, {args.n} pairs:")
    print(f"  region rendering: {region_line}")
    print(f"  full targets:     {full_line}")
    print(f"region / full: {region / full:.2f}x pairs per hour")


if __name__ == "__main__":
    main()
