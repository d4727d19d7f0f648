"""Planned samples per second per edit kind (scene sampling + physics + edit + instruction).

    python benchmarks/plan.py [--n 100]

Planning should cost far less than rendering: the target is well under 50 ms a sample.
"""
from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from simedit.render.catalog.model import load_catalog
from simedit.render.plan.planner import Planner
from simedit.render.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="samples per kind")
    args = parser.parse_args()
    catalog = load_catalog()
    print(f"{'kind':<10} {'samples/s':>10} {'ms/sample':>10} {'attempts/sample':>16}  rejects")
    for kind in ("rotation", "location", "count", "attribute", "stack", "mixed"):
        planner = Planner(load_spec(ROOT / "scenes" / f"{kind}.yaml"), catalog)
        planner.plan(10_000)  # warm caches: mesh geometry, symmetry tests
        rejects: Counter[str] = Counter()
        start = time.perf_counter()
        for i in range(args.n):
            rejects.update(planner.plan(i).rejects)
        elapsed = time.perf_counter() - start
        attempts = (args.n + sum(rejects.values())) / args.n
        top = ", ".join(f"{r} {c}" for r, c in rejects.most_common(3))
        print(f"{kind:<10} {args.n / elapsed:>10.1f} {elapsed / args.n * 1000:>10.1f} {attempts:>16.2f}  {top}")


if __name__ == "__main__":
    main()
