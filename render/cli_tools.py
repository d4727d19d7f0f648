"""`render preview DIR` and `render export DIR`: the subcommands that read a finished run."""
from __future__ import annotations

import argparse
from pathlib import Path


def preview_main(argv: list[str]) -> int:
    from simedit.render.rundir.preview import contact_sheet

    p = argparse.ArgumentParser(prog="render preview", description="Contact sheet of a run: source | target, instruction.")
    p.add_argument("run_dir")
    p.add_argument("--out", default=None, help="PNG path (default: DIR/preview.png)")
    p.add_argument("--limit", type=int, default=24, help="pairs shown")
    p.add_argument("--columns", type=int, default=2)
    args = p.parse_args(argv)
    out = Path(args.out) if args.out else Path(args.run_dir) / "preview.png"
    path = contact_sheet(args.run_dir, out, limit=args.limit, columns=args.columns)
    print(f"wrote {path}")
    return 0


def export_main(argv: list[str]) -> int:
    from simedit.render.rundir.export import export_run

    p = argparse.ArgumentParser(prog="render export", description="Convert a run for other tools.")
    p.add_argument("run_dir")
    p.add_argument("--format", choices=["diffusers", "aurora"], required=True,
                   help="diffusers: HF dataset (input_image, edit_prompt, edited_image); aurora: {input, output, instruction} JSON")
    p.add_argument("--out", required=True)
    p.add_argument("--both-directions", action="store_true", help="also target -> source with the inverse instruction")
    args = p.parse_args(argv)
    n = export_run(args.run_dir, args.out, args.format, both_directions=args.both_directions)
    print(f"exported {n} pairs to {args.out} ({args.format})")
    return 0
