"""Hundreds of mutated inputs, the way a new user breaks them (tests/fuzz_inputs.py), run the way
a user runs them; prints how many were refused or accepted and every case that showed a
traceback, hung, printed more than one line or wrote outside its folder.

    python benchmarks/fuzz.py [--n 500] [--seed 0]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import fuzz_inputs as F  # noqa: E402
from simedit.render.cli import main as render_main  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=500, help="mutated specs")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        outcomes = [F.run_case(case, root / f"c{i}", F.render_dry_run, render_main, root)
                    for i, case in enumerate(F.spec_cases(args.n, args.seed))]
    s = F.summary(outcomes)
    print(f"specs: {s['cases']} mutated cases: {s['refused']} refused with one line, {s['accepted']} ran, "
          f"{len(s['problems'])} problems; slowest {s['slowest_s']} s, mean {s['mean_s']} s")
    for name, found in s["problems"]:
        print(f"  {name}: {'; '.join(found)}")


if __name__ == "__main__":
    main()
