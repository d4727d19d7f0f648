"""The `render` command.

    render --spec rotation --n 100 --out data/rotation         render verified pairs (a built-in spec by name,
                                                               or a spec file)
    render --spec scenes/mine.yaml --n 20 --dry-run --out p/   plan only (JSON lines)
    render preview DIR                                         contact sheet PNG
    render export DIR --format diffusers --out DIR2            convert a run

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
from simedit.render.run.executors import DEFAULT_EXECUTOR, EXECUTORS
from simedit.render.run.options import RunOptions


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
    p.add_argument("--dry-run", action="store_true", help="plan only: write plans.jsonl, render nothing")
    p.add_argument("--workers", type=int, default=None, help="render slots (default: fits this machine)")
    p.add_argument("--device", choices=["CPU", "GPU"], default="CPU", help="render device (GPU: OptiX, then CUDA)")
    p.add_argument("--backend", choices=sorted(BACKENDS), default=DEFAULT_BACKEND, help="rendering backend")
    p.add_argument("--executor", choices=sorted(EXECUTORS), default=DEFAULT_EXECUTOR, help="how render slots run")
    p.add_argument("--depth", action="store_true", help="also store depth maps")
    p.add_argument("--size", type=int, default=None, metavar="PX", help="override image width and height")
    p.add_argument("--samples", type=int, default=None, help="override samples per pixel")
    p.add_argument("--force", action="store_true", help="write into a directory made by a different spec")
    p.add_argument("--full-target", action="store_true",
                   help="render every target in full (default: only the region the edit can change, composited "
                   "onto the source)")

    sub = p.add_subparsers(dest="command", metavar="{preview,export}", title="commands on a finished run")
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
    return p


def options_from(args: argparse.Namespace, parser: argparse.ArgumentParser, argv: list[str]) -> RunOptions:
    missing = [f"--{name}" for name in ("spec", "n", "out") if getattr(args, name) is None]
    if missing:
        parser.error(f"the following arguments are required: {', '.join(missing)}")
    if args.n < 1:
        raise SimEditError("--n must be at least 1")
    return RunOptions(
        spec=resolve_spec(args.spec), n=args.n, out=Path(args.out),
        catalog=Path(args.catalog) if args.catalog else None, seed=args.seed, dry_run=args.dry_run,
        workers=args.workers, device=args.device, depth=args.depth, size=args.size, samples=args.samples,
        force=args.force, backend=args.backend, executor=args.executor, command=["render", *argv],
        target_region=not args.full_target,
    )


def preview(args: argparse.Namespace) -> int:
    from simedit.render.rundir.preview import contact_sheet

    out = Path(args.out) if args.out else Path(args.run_dir) / "preview.png"
    print(f"wrote {contact_sheet(args.run_dir, out, limit=args.limit, columns=args.columns)}")
    return 0


def export(args: argparse.Namespace) -> int:
    from simedit.render.rundir.export import export_run

    n = export_run(args.run_dir, args.out, args.format, both_directions=args.both_directions)
    print(f"exported {n} pairs to {args.out} ({args.format})")
    return 0


def _run(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "preview":
        return preview(args)
    if args.command == "export":
        return export(args)
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
