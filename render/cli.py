"""The `render` command.

    render --spec rotation --n 100 --out data/rotation         render verified pairs (a built-in spec by name,
                                                               or a spec file)
    render --spec scenes/mine.yaml --n 20 --dry-run --out p/   plan only (JSON lines)
    render preview DIR                                         contact sheet PNG
    render export DIR --format diffusers --out DIR2            convert a run
    render ... --shard k/N --out part_k                        one of N parts of a run (any scheduler)
    render merge OUT PART_DIRS...                              the parts as one run, identical to a whole run
    render ... --executor ray [--address ADDR]                 the same samples on a Ray cluster
    render doctor                                              GPUs, Cycles kernels, versions, JIT cache
    render gpu-setup                                           compile the GPU kernels bpy lacks, ahead

The CLI turns arguments into `RunOptions`; nothing past this module sees argparse.
User errors print one line (`error: <file>: <field>: <what>`) and exit 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from simedit.render.backends.base import BACKENDS, DEFAULT_BACKEND
from simedit.render.common.command import run_command
from simedit.render.common.errors import SimEditError
from simedit.render.common.paths import SCENES_DIR
from simedit.render.plan.seeds import check_split
from simedit.render.run.executors import DEFAULT_EXECUTOR, EXECUTORS
from simedit.render.run.options import RunOptions
from simedit.render.run.shard import Shard


def builtin_specs() -> list[str]:
    return sorted(p.stem for p in SCENES_DIR.glob("*.yaml"))


def resolve_spec(value: str) -> Path:
    """A spec file, else a built-in spec by name (`rotation` or `rotation.yaml`)."""
    path = Path(value).expanduser()
    if path.is_file():
        return path
    name = Path(value).name.removesuffix(".yaml")
    builtin = SCENES_DIR / f"{name}.yaml"
    if builtin.is_file() and Path(value).parent == Path("."):
        return builtin
    raise SimEditError(f"no such spec file, and not a built-in spec name (built-in: {', '.join(builtin_specs())})",
                       file=value, field="--spec")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="render",
        description="Generate (source image, instruction, target image) pairs from 3D scenes.",
    )
    p.add_argument("--spec", help="scene spec: a YAML file, or a built-in spec name "
                   f"({', '.join(builtin_specs())})")
    p.add_argument("--n", type=int, help="accepted pairs (or planned samples with --dry-run)")
    p.add_argument("--out", help="output directory; rerunning continues where it stopped")
    p.add_argument("--catalog", default=None, help="object catalog YAML (default: the built-in catalog)")
    p.add_argument("--seed", type=int, default=None, help="override the spec's seed")
    p.add_argument("--split", default=None, metavar="NAME",
                   help="draw from the split NAME's own seed stream (e.g. train, heldout): runs of different "
                   "splits share no scene; recorded in run.json and in every pair (default: no split)")
    p.add_argument("--dry-run", action="store_true", help="plan only: write plans.jsonl, render nothing")
    p.add_argument("--workers", type=int, default=None,
                   help="render slots; with --device GPU, per GPU (default: one per 4 cores; one per GPU)")
    p.add_argument("--device", choices=["CPU", "GPU"], default="CPU",
                   help="render device (GPU: OptiX, then CUDA, on every GPU; else the CPU, with a warning)")
    p.add_argument("--backend", choices=sorted(BACKENDS), default=None,
                   help=f"rendering backend (default: the spec's render.backend, {DEFAULT_BACKEND} unless set)")
    p.add_argument("--executor", choices=sorted(EXECUTORS), default=DEFAULT_EXECUTOR,
                   help="how render slots run: threads on this machine, or ray (a Ray cluster)")
    p.add_argument("--address", default=None,
                   help="with --executor ray: the cluster to join (host:port or auto; default: start one here)")
    p.add_argument("--shard", default=None, metavar="k/N",
                   help="render part k of N of the run into --out (indices i with i %% N == k); "
                   "then `render merge OUT PARTS...`")
    p.add_argument("--depth", action="store_true", help="also store depth maps")
    p.add_argument("--size", type=int, default=None, metavar="PX", help="override image width and height")
    p.add_argument("--samples", type=int, default=None, help="override samples per pixel")
    p.add_argument("--force", action="store_true", help="write into a directory made by a different spec")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--full-target", dest="target_region", action="store_const", const=False, default=None,
                        help="render every target in full (the default with --device GPU)")
    target.add_argument("--region-target", dest="target_region", action="store_const", const=True,
                        help="render only the part of the target the edit can change, composited onto the source "
                        "(the default on the CPU; a resumed run keeps what it began with)")

    sub = p.add_subparsers(dest="command", metavar="{preview,export,stats,merge,doctor,gpu-setup}",
                           title="other commands")
    pre = sub.add_parser("preview", help="contact sheet of a run: source | target, instruction")
    pre.add_argument("run_dir")
    pre.add_argument("--out", default=None, help="PNG path (default: DIR/preview.png)")
    pre.add_argument("--limit", type=int, default=24, help="pairs shown")
    pre.add_argument("--columns", type=int, default=2)
    exp = sub.add_parser("export", help="convert a run for other tools")
    exp.add_argument("run_dir")
    exp.add_argument("--format", choices=["diffusers", "aurora"], required=True,
                     help="diffusers: HF dataset (input_image, edit_prompt, edited_image); "
                     "aurora: {input, output, instruction} JSON")
    exp.add_argument("--out", required=True)
    exp.add_argument("--both-directions", action="store_true", help="also target -> source with the inverse instruction")
    mer = sub.add_parser("merge", help="the shards of a run (--shard k/N) as one run directory")
    mer.add_argument("merge_out", metavar="OUT")
    mer.add_argument("shard_dirs", nargs="+", metavar="SHARD_DIR")
    mer.add_argument("--n", dest="merge_n", type=int, default=None,
                     help="pairs of the whole run (default: the --n the shards were started with)")
    sta = sub.add_parser("stats", help="a report of a run: pairs per kind, sizes, contrast, templates, rejects, speed")
    sta.add_argument("run_dir")
    sta.add_argument("--out", default=None, help="folder for stats.md and its plots (default: DIR/stats)")
    sta.add_argument("--catalog", default=None, help="the run's catalog, for categories (default: the one in run.json)")
    doc = sub.add_parser("doctor", help="GPUs, Cycles kernels and devices, versions, the JIT cache")
    doc.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the engine's probe")
    from simedit.render.gpu.setup import add_arguments

    add_arguments(sub.add_parser("gpu-setup", help="compile the Cycles GPU kernels bpy lacks (sm_80, sm_90), "
                                 "or fill the JIT cache"))
    return p


def options_from(args: argparse.Namespace, parser: argparse.ArgumentParser, argv: list[str]) -> RunOptions:
    missing = [f"--{name}" for name in ("spec", "n", "out") if getattr(args, name) is None]
    if missing:
        parser.error(f"the following arguments are required: {', '.join(missing)}")
    if args.n < 1:
        raise SimEditError("--n must be at least 1")
    if args.workers is not None and args.workers < 1:
        raise SimEditError(f"must be at least 1 (got {args.workers})", field="--workers")
    shard = Shard.parse(args.shard) if args.shard is not None else None
    split = check_split(args.split) if args.split is not None else None
    if shard is not None and args.dry_run:
        raise SimEditError("a dry run plans the whole run; leave out --shard", field="--shard")
    if args.address is not None and args.executor != "ray":
        raise SimEditError("only with --executor ray", field="--address")
    return RunOptions(
        spec=resolve_spec(args.spec), n=args.n, out=Path(args.out),
        catalog=Path(args.catalog) if args.catalog else None, seed=args.seed, split=split, dry_run=args.dry_run,
        workers=args.workers, device=args.device, depth=args.depth, size=args.size, samples=args.samples,
        force=args.force, backend=args.backend, executor=args.executor, command=["render", *argv],
        target_region=args.target_region, address=args.address, shard=shard,
    )


def preview(args: argparse.Namespace) -> int:
    from simedit.render.rundir.preview import contact_sheet

    out = Path(args.out) if args.out else Path(args.run_dir) / "preview.png"
    print(f"wrote {contact_sheet(args.run_dir, out, limit=args.limit, columns=args.columns)}")
    return 0


def stats(args: argparse.Namespace) -> int:
    from simedit.render.catalog.model import load_catalog
    from simedit.render.rundir.contract import read_record
    from simedit.render.rundir.stats import report

    catalog_path = args.catalog or (read_record(args.run_dir) or {}).get("catalog_path")
    catalog = load_catalog(catalog_path if catalog_path and Path(catalog_path).is_file() else None, missing_files="skip")
    print(f"wrote {report(args.run_dir, args.out, catalog)}")
    return 0


def export(args: argparse.Namespace) -> int:
    from simedit.render.rundir.export import export_run

    n = export_run(args.run_dir, args.out, args.format, both_directions=args.both_directions)
    print(f"exported {n} pairs to {args.out} ({args.format})")
    return 0


def merge(args: argparse.Namespace) -> int:
    from simedit.render.rundir.merge import merge_runs

    r = merge_runs(args.merge_out, args.shard_dirs, n=args.merge_n)
    if r.complete:
        print(f"merged {r.shards} shards into {r.out}: {r.pairs} pairs, the same as one run of --n {r.n}")
        return 0
    short = ", ".join(f"{k}/{r.shards}" for k in r.short)
    print(f"merged {r.shards} shards into {r.out}: {r.pairs} of {r.n} pairs (every index below {r.covered} is done; "
          f"shard {short} stopped there). Finish with: {r.finish}")
    return 0


def _run(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "preview":
        return preview(args)
    if args.command == "export":
        return export(args)
    if args.command == "merge":
        return merge(args)
    if args.command == "stats":
        return stats(args)
    if args.command == "doctor":
        from simedit.render.gpu.doctor import doctor

        return doctor(timeout=args.timeout)
    if args.command == "gpu-setup":
        from simedit.render.gpu.setup import setup

        return setup(args)
    options = options_from(args, parser, argv)
    if options.dry_run:
        from simedit.render.run.dry_run import dry_run

        return dry_run(options)
    from simedit.render.run.pipeline import run

    return run(options)


def main(argv: list[str] | None = None) -> int:
    return run_command(
        _run, argv, interrupted="interrupted: finished pairs are kept; run the same command again to continue"
    )


if __name__ == "__main__":
    sys.exit(main())
