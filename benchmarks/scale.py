"""Pairs per hour on 1 and 2 local render slots, and the Ray executor's overhead on the same work.

    python benchmarks/scale.py [--n 8] [--size 128] [--samples 16] [--spec mixed] [--device CPU] [--skip-ray]

Runs the real `render` command (plan, settle, render, verify, write) into temporary directories:
with the threads executor on 1 and on 2 render slots, then with `--executor ray` on 2 slots (a
local Ray cluster started by the command, as a user would). Prints each run's pairs/hour, the
Ray run's wall-time overhead against the local 2-slot run, with and without starting and stopping
the cluster, and whether both runs wrote the same pairs (they must). With `--device GPU` the slots
are per GPU.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(args: argparse.Namespace, out: str, *extra: str) -> tuple[float, float, float]:
    """(pairs/hour from the summary, the pipeline's own seconds, wall seconds of the command)."""
    cmd = [sys.executable, "-m", "simedit.render.cli", "--spec", args.spec, "--n", str(args.n), "--out", out,
           "--size", str(args.size), "--samples", str(args.samples), "--device", args.device, *extra]
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode:
        sys.exit(result.stderr[-3000:])
    m = re.search(r"in ([\d.]+) s: (\d+) pairs/hour", result.stdout)
    return float(m.group(2)), float(m.group(1)), wall


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=8, help="accepted pairs")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--samples", type=int, default=16)
    p.add_argument("--spec", default="mixed")
    p.add_argument("--device", default="CPU", choices=["CPU", "GPU"])
    p.add_argument("--skip-ray", action="store_true")
    args = p.parse_args()
    load = os.getloadavg()[0]
    print(f"{args.spec} at {args.size}x{args.size}, {args.samples} samples, {args.device}, {args.n} pairs; "
          f"{os.cpu_count()} cores, load average {load:.1f} at the start")
    with tempfile.TemporaryDirectory() as tmp:
        one = run(args, f"{tmp}/one", "--workers", "1")
        print(f"  threads, 1 slot:  {one[0]:6.0f} pairs/hour  (wall {one[2]:.1f} s)", flush=True)
        two = run(args, f"{tmp}/two", "--workers", "2")
        print(f"  threads, 2 slots: {two[0]:6.0f} pairs/hour  (wall {two[2]:.1f} s)", flush=True)
        if args.skip_ray:
            return
        ray = run(args, f"{tmp}/ray", "--workers", "2", "--executor", "ray")
        start_stop = ray[2] - ray[1] - (two[2] - two[1])
        print(f"  ray, 2 slots:     {ray[0]:6.0f} pairs/hour  (wall {ray[2]:.1f} s, of which about {start_stop:.1f} s "
              "starting and stopping the local Ray cluster)")
        same = all((Path(tmp, "ray", f).read_bytes() == Path(tmp, "two", f).read_bytes())
                   for f in ("manifest.jsonl", "rejects.jsonl"))
        print(f"Ray overhead against the local 2-slot run on the same work: {ray[2] / two[2] - 1:+.0%} wall time, "
              f"{ray[1] / two[1] - 1:+.0%} without starting and stopping the cluster; same pairs: {'yes' if same else 'NO'}")
    if args.device == "CPU":
        print("GPU figures: pending (no GPU on this machine): python benchmarks/scale.py --device GPU on a GPU host")


if __name__ == "__main__":
    main()
