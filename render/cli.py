"""The `render` command.

    render --spec scenes/rotation.yaml --n 100 --out data/rotation      render verified pairs
    render --spec scenes/rotation.yaml --n 20 --dry-run --out plans/     plan only (JSON lines)
    render preview DIR                                                   contact sheet PNG
    render export DIR --format diffusers --out DIR2                      convert a run

User errors print one line (`error: <file>: <field>: <what>`) and exit 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from simedit.render.common.command import run_command
from simedit.render.common.errors import SimEditError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="render",
        description="Generate (source image, instruction, target image) pairs from 3D scenes. "
        "Subcommands: 'render preview DIR', 'render export DIR'.",
    )
    p.add_argument("--spec", required=True, help="scene spec YAML (scenes/rotation.yaml, ...)")
    p.add_argument("--n", type=int, required=True, help="accepted pairs (or planned samples with --dry-run)")
    p.add_argument("--out", required=True, help="output directory; rerunning continues where it stopped")
    p.add_argument("--catalog", default=None, help="object catalog YAML (default: the built-in catalog)")
    p.add_argument("--seed", type=int, default=None, help="override the spec's seed")
    p.add_argument("--dry-run", action="store_true", help="plan only: write plans.jsonl, render nothing")
    p.add_argument("--workers", type=int, default=None, help="render slots (default: fits this machine)")
    p.add_argument("--device", choices=["CPU", "GPU"], default="CPU", help="Cycles device (GPU: OptiX, then CUDA)")
    p.add_argument("--depth", action="store_true", help="also store depth maps")
    p.add_argument("--size", type=int, default=None, metavar="PX", help="override image width and height")
    p.add_argument("--samples", type=int, default=None, help="override Cycles samples per pixel")
    p.add_argument("--force", action="store_true", help="write into a directory made by a different spec")
    return p


def load_inputs(args: argparse.Namespace):
    from simedit.render.catalog.model import load_catalog
    from simedit.render.plan.planner import Planner
    from simedit.render.spec import load_spec

    spec = load_spec(args.spec)
    updates: dict = {}
    if args.seed is not None:
        updates["seed"] = args.seed
    render = {}
    if args.size is not None:
        render.update(width=args.size, height=args.size)
    if args.samples is not None:
        render["samples"] = args.samples
    if render:
        updates["render"] = spec.render.model_copy(update=render)
    if updates:
        spec = spec.model_copy(update=updates)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        catalog = load_catalog(args.catalog, missing_files="skip")
    for w in caught:  # one line per object skipped for a missing mesh or texture
        print(f"warning: {w.message}", file=sys.stderr)
    return spec, catalog, Planner(spec, catalog, str(args.spec))


def dry_run(args: argparse.Namespace) -> int:
    spec, catalog, planner = load_inputs(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rejects: Counter[str] = Counter()
    skipped = 0
    start = time.perf_counter()
    plan_path, tmp = out / "plans.jsonl", out / "plans.jsonl.tmp"
    with open(tmp, "w") as f, tqdm(total=args.n, desc="planning", unit="sample") as bar:
        index = 0
        while bar.n < args.n:
            outcome = planner.plan(index)
            rejects.update(outcome.rejects)
            if outcome.sample is None:
                skipped += 1
            else:
                f.write(json.dumps(outcome.sample.to_dict()) + "\n")
                bar.update(1)
            bar.set_postfix(rejected=sum(rejects.values()), refresh=False)
            index += 1
    os.replace(tmp, plan_path)
    elapsed = time.perf_counter() - start
    print(f"planned {args.n} samples (indices 0-{index - 1}) in {elapsed:.1f} s, "
          f"{elapsed / max(args.n, 1) * 1000:.0f} ms each -> {plan_path}")
    print(summary_line("rejected attempts", rejects))
    if skipped:
        print(f"skipped {skipped} indices after {spec.max_attempts} rejected attempts each")
    return 0


def summary_line(title: str, counts: Counter[str]) -> str:
    if not counts:
        return f"{title}: none"
    parts = ", ".join(f"{reason} {n}" for reason, n in counts.most_common())
    return f"{title}: {sum(counts.values())} ({parts})"


def _run(argv: list[str]) -> int:
    if argv and argv[0] == "preview":
        from simedit.render.cli_tools import preview_main

        return preview_main(argv[1:])
    if argv and argv[0] == "export":
        from simedit.render.cli_tools import export_main

        return export_main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.n < 1:
        raise SimEditError("--n must be at least 1")
    if args.dry_run:
        return dry_run(args)
    from simedit.render.run.pipeline import run

    return run(args)


def main(argv: list[str] | None = None) -> int:
    return run_command(
        _run, argv, interrupted="interrupted: finished pairs are kept; run the same command again to continue"
    )


if __name__ == "__main__":
    sys.exit(main())
