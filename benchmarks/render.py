"""Pairs per hour of the full `render` job, and the share of wall time outside Cycles.

    python benchmarks/render.py [--n 6] [--size 256] [--samples 32] [--spec scenes/mixed.yaml] [--device CPU]

Runs the real pipeline (plan, settle, render source and target, verify, write) into a
temporary directory and prints the run's own summary: pairs/hour, and the share of wall time
spent outside Cycles' render calls (scene building, I/O, verification, planning; target < 10%).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=6, help="accepted pairs")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--samples", type=int, default=32)
    p.add_argument("--spec", default="scenes/mixed.yaml")
    p.add_argument("--device", default="CPU", choices=["CPU", "GPU"])
    p.add_argument("--workers", type=int, default=None)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "simedit.render.cli", "--spec", args.spec, "--n", str(args.n), "--out", tmp,
               "--size", str(args.size), "--samples", str(args.samples), "--device", args.device]
        if args.workers:
            cmd += ["--workers", str(args.workers)]
        result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if result.returncode:
            sys.exit(result.stderr)
        print(f"{args.spec} at {args.size}x{args.size}, {args.samples} samples, {args.device}:")
        print(result.stdout.strip())


if __name__ == "__main__":
    main()
