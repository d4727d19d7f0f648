"""The `catalog` command: import, list, validate and preview object catalogs.

    catalog import ~/datasets/GSO --out assets_catalog/gso.yaml     propose entries for every model found
    catalog list --catalog assets_catalog/gso.yaml --tag can-fall    ids, names, categories, tags
    catalog validate assets_catalog/gso.yaml                         every problem, per entry; exit 1 on errors
    catalog preview assets_catalog/gso.yaml --out gso.png            contact sheet: each object rendered

User errors print one line (`error: <file>: <field>: <what>`) and exit 2.
"""
from __future__ import annotations

import argparse
import sys

from simedit.render.common.command import run_command
from simedit.render.common.errors import SimEditError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="catalog", description="Import, list, validate and preview object catalogs.")
    sub = p.add_subparsers(dest="command", required=True, metavar="{import,list,validate,preview}")

    imp = sub.add_parser("import", help="propose catalog entries for local models (GSO, Kubric manifest, mesh folder)")
    imp.add_argument("source", help="Google Scanned Objects folders, Fuel .zip downloads or a Fuel cache; a Kubric "
                                     "manifest .json (or its folder); or a folder of meshes")
    imp.add_argument("--out", required=True, help="catalog YAML to write; an existing one is extended (the models it holds are skipped) and keeps "
                          "your edits")
    imp.add_argument("--layout", choices=["auto", "gso", "kubric", "mesh_folder"], default="auto")
    imp.add_argument("--no-collision", action="store_true", help="skip VHACD collision meshes (physics then uses the render mesh's hull)")
    imp.add_argument("--limit", type=int, default=None,
                     help="propose at most this many models not yet in the catalog (a re-run goes on with the next)")
    imp.add_argument("--jobs", type=int, default=None, help="worker processes (default: one per CPU)")
    imp.add_argument("--refresh", action="store_true",
                     help="propose models the catalog already holds again (your edits are kept); by default a re-run "
                          "skips them and goes on with the rest")
    imp.add_argument("--no-report", action="store_true", help="skip the Markdown import report and its picture grids")

    ls = sub.add_parser("list", help="list a catalog's objects")
    ls.add_argument("--catalog", default=None, help="catalog YAML (default: the built-in catalog)")
    ls.add_argument("--tag", action="append", default=[], help="only objects with this tag (repeatable: all of them)")
    ls.add_argument("--category", action="append", default=[], help="only these categories")

    val = sub.add_parser("validate", help="check every entry; exit 1 if any error")
    val.add_argument("catalog")
    val.add_argument("--quiet", action="store_true", help="errors only, no warnings")

    pre = sub.add_parser("preview", help="contact sheet PNG: each object rendered with its name and tags")
    pre.add_argument("catalog")
    pre.add_argument("--out", required=True, help="PNG path")
    pre.add_argument("--size", type=int, default=128, help="pixels per object image")
    pre.add_argument("--samples", type=int, default=16, help="Cycles samples")
    pre.add_argument("--limit", type=int, default=None, help="first N objects")
    pre.add_argument("--columns", type=int, default=6)
    pre.add_argument("--device", choices=["CPU", "GPU"], default="CPU")
    return p


def cmd_import(args: argparse.Namespace) -> int:
    """One screen whatever the size of the import: the full lists are in the report."""
    from tqdm import tqdm

    from simedit.render.catalog.importers import run_import

    if args.jobs is not None and args.jobs < 1:
        raise SimEditError("expected at least 1", field="--jobs")
    if args.limit is not None and args.limit < 1:
        raise SimEditError("expected at least 1", field="--limit")
    try:
        result = run_import(args.source, args.out, layout=args.layout, collision=not args.no_collision, limit=args.limit,
                            jobs=args.jobs, refresh=args.refresh, report=not args.no_report,
                            progress=lambda total: tqdm(total=total, desc="importing", unit="model"),
                            warn=lambda line: print(f"warning: {line}", file=sys.stderr, flush=True))
    except KeyboardInterrupt:
        print(f"interrupted: {args.out} keeps the models imported so far; the same command goes on from there",
              file=sys.stderr)
        return 130
    rate = f", {len(result.imported) / result.seconds * 60:.0f} models/min" if result.imported and result.seconds > 0 else ""
    resumed = f"; {len(result.resumed)} already in the catalog (--refresh proposes them again)" if result.resumed else ""
    print(f"imported {len(result.imported)} models ({result.layout} layout) in {result.seconds:.1f} s{rate}, "
          f"skipped {len(result.skipped):,}{resumed}")
    for line in result.skipped_lines():
        print(f"  {line}")
    if result.notes:
        print(f"  {len(result.notes)} name(s) numbered: the models' words and colors do not tell them apart")
    if result.kept_fields:
        print(f"kept {result.kept_fields} field(s) you edited")
    report = f"; report: {result.report}" if result.report else ""
    print(f"catalog: {result.out} ({result.total_entries} entries{report})")
    print(f"next: catalog validate {args.out}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from simedit.render.catalog.model import TAGS, load_catalog

    for tag in args.tag:
        if tag not in TAGS:
            raise SimEditError(f"unknown tag {tag!r}; expected some of {', '.join(TAGS)}", field="--tag")
    catalog = load_catalog(args.catalog)
    assets = catalog.select(categories=args.category, tags=args.tag)
    width = max([len(a.id) for a in assets] + [2])
    for a in assets:
        look = a.color if not a.colorable else "(any color)"
        print(f"{a.id:<{width}}  {a.name:<24} {a.category:<10} {','.join(sorted(a.tags)) or '-':<20} {look}")
    print(f"{len(assets)} of {len(catalog.assets)} objects")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from simedit.render.catalog.validate import validate_catalog

    report = validate_catalog(args.catalog)
    for line in report.lines(warnings=not args.quiet):
        print(line)
    print(report.summary())
    return 1 if report.errors else 0


def cmd_preview(args: argparse.Namespace) -> int:
    from simedit.render.catalog.preview import catalog_sheet

    path, n = catalog_sheet(args.catalog, args.out, size=args.size, samples=args.samples, limit=args.limit,
                            columns=args.columns, device=args.device)
    print(f"wrote {path} ({n} objects)")
    return 0


COMMANDS = {"import": cmd_import, "list": cmd_list, "validate": cmd_validate, "preview": cmd_preview}


def _run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    return COMMANDS[args.command](args)


def main(argv: list[str] | None = None) -> int:
    return run_command(_run, argv)


if __name__ == "__main__":
    sys.exit(main())
