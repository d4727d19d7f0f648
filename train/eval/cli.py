"""The `evaluate` command.

    evaluate triples RUN_DIR --out triples.json [--catalog CATALOG.yaml]
        DiscEdit triples (source, change, no-change, task) for a render run (no torch needed).
    evaluate discedit --model MODEL_DIR --triples triples.json [--out DIR] [--seeds 0 1 2 3]
                      [--root AURORA_REPO] [--task NAME]
        DiscEdit accuracy per task with standard error (AURORA section 5.2), on this project's
        triples or on AURORA's released DiscEdit files.
    evaluate reference (--model MODEL_DIR | --copy-baseline) --run RUN_DIR [--out DIR]
        L1, L2, edited-region and unedited-region L1 against ground truth, with the copy baseline.

MODEL_DIR is a local diffusers InstructPix2Pix pipeline folder (e.g. `OUTPUT_DIR/final` of `train`).
discedit and reference write DIR/report.json, DIR/report.md and DIR/grid.png.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from simedit.render.common.atomic import atomic_write
from simedit.render.common.command import run_command
from simedit.train.errors import TrainError
from simedit.train.options import check_options


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--steps", type=int, default=20, help="denoising steps (default 20)")
    p.add_argument("--guidance-scale", type=float, default=7.5, help="text guidance s_T (default 7.5)")
    p.add_argument("--image-guidance-scale", type=float, default=1.5, help="image guidance s_I (default 1.5)")
    p.add_argument("--resolution", type=int, help="edit at this square size (default: source size, multiple of 8)")
    p.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--limit", type=int, help="evaluate only the first N items")
    p.add_argument("--out", default="evaluation", help="output folder (default ./evaluation)")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="evaluate", description="Evaluate an editor: DiscEdit and reference metrics.")
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("triples", help="write DiscEdit triples for a render run")
    t.add_argument("run_dir")
    t.add_argument("--out", required=True, help="triples JSON to write")
    t.add_argument("--catalog", help="catalog YAML (default: the built-in catalog)")
    d = sub.add_parser("discedit", help="DiscEdit accuracy per task")
    d.add_argument("--model", required=True, help="local InstructPix2Pix pipeline folder")
    d.add_argument("--triples", required=True,
                   help="JSON list of {source, change, no_change, task}, or an AURORA DiscEdit file "
                        "(disc_edit_data/<task>/valid.json)")
    d.add_argument("--root", help="folder the image paths are relative to (default: the triples file's; "
                                  "for AURORA's files, the AURORA repository)")
    d.add_argument("--task", help="task name for every triple (default: theirs; AURORA files: the folder name)")
    d.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3], help="noise seeds (default 0 1 2 3)")
    _model_args(d)
    r = sub.add_parser("reference", help="L1/L2 and masked region errors against ground truth")
    g = r.add_mutually_exclusive_group(required=True)
    g.add_argument("--model", help="local InstructPix2Pix pipeline folder")
    g.add_argument("--copy-baseline", action="store_true", help="only the copy-the-source baseline")
    r.add_argument("--run", required=True, help="held-out render run directory (manifest.jsonl + masks)")
    r.add_argument("--dilate", type=int, default=2, help="edit-mask dilation in pixels (default 2)")
    r.add_argument("--seed", type=int, default=0)
    _model_args(r)
    return p


def _checked(a: argparse.Namespace) -> argparse.Namespace:
    """The numeric options checked (one line naming the flag), and the output not a file."""
    from simedit.train.eval.options import DiscEditOptions, ReferenceOptions

    model = DiscEditOptions if a.cmd == "discedit" else ReferenceOptions
    check_options(model, vars(a))
    if Path(a.out).exists() and not Path(a.out).is_dir():
        raise TrainError("the output is a file, not a folder", file=a.out, field="--out")
    return a


def _write(out: Path, report: dict, md: str, grid_rows: list) -> list[Path]:
    from simedit.train.trainer.validate import save_grid

    paths = [atomic_write(out / "report.json", json.dumps(report, indent=1), mkdir=True),
             atomic_write(out / "report.md", md)]
    if grid_rows:
        paths.append(save_grid(grid_rows, out / "grid.png"))
    return paths


def _editor(a: argparse.Namespace):
    from simedit.train.eval.discedit import DiffusersEditor

    return DiffusersEditor(a.model, steps=a.steps, guidance_scale=a.guidance_scale,
                           image_guidance_scale=a.image_guidance_scale, resolution=a.resolution, device=a.device)


def _run(argv: list[str]) -> int:
    a = _parser().parse_args(argv)
    if a.cmd != "triples":
        a = _checked(a)
    if a.cmd == "triples":  # render-side only: no torch
        if Path(a.out).is_dir():
            raise TrainError("the output is a folder; give the triples JSON file to write", file=a.out, field="--out")
        from simedit.render.catalog.model import load_catalog
        from simedit.train.eval.triples import triples_for_run, write_triples

        skipped: Counter = Counter()
        triples = triples_for_run(a.run_dir, load_catalog(a.catalog) if a.catalog else None, skipped)
        path = write_triples(triples, a.out)
        tasks = Counter(t["task"] for t in triples)
        print(f"{len(triples)} triples written to {path} ({', '.join(f'{k}: {v}' for k, v in sorted(tasks.items())) or 'none'}); "
              f"skipped: {', '.join(f'{k}: {v}' for k, v in sorted(skipped.items())) or 'none'}")
        return 0
    if a.cmd == "discedit":
        from simedit.train.eval import discedit

        triples = discedit.load_triples(a.triples, a.root, a.task)[: a.limit]
        editor = _editor(a)
        rows: list = []
        res = discedit.run_discedit(triples, editor, editor.encode, a.seeds, grid_rows=rows)
        report = res.as_dict(model=str(a.model))
        md = discedit.markdown(report)
        paths = _write(Path(a.out), report, md, rows)
        print(md)
        print("written: " + ", ".join(map(str, paths)) + "  (grid rows: source | no-change edit | change edit)")
        return 0
    from simedit.train.eval import metrics
    from simedit.train.data.sources import RenderRun
    from simedit.train.eval.discedit import copy_editor

    run = RenderRun(a.run)
    editors = {} if a.copy_baseline else {f"model ({Path(a.model).name})": _editor(a)}
    editors["copy baseline"] = copy_editor
    rows = []
    report = metrics.reference_metrics(run, editors, seed=a.seed, dilate=a.dilate, limit=a.limit, grid_rows=rows)
    if not a.copy_baseline:
        report["model"] = str(a.model)
    md = metrics.markdown(report)
    paths = _write(Path(a.out), report, md, rows)
    print(md)
    print("written: " + ", ".join(map(str, paths)) + "  (grid columns: source | target | edit mask | "
          + " | ".join(editors) + ")")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_command(_run, argv, prefix="evaluate: ")


if __name__ == "__main__":
    sys.exit(main())
