"""Reference metrics on a held-out render run (ground-truth targets and instance masks).

All images are compared on [0, 1] RGB at the target's size (an edit made at another size is
resized bicubically first). Per pair:

    L1           = mean |out - target|            over all pixels and channels
    L2           = mean (out - target)^2          (mean squared error, as in the MagicBrush/AURORA tables)
    edited L1    = mean |out - target| inside  M  (M = edit mask dilated by `dilate` pixels)
    unedited L1  = mean |out - target| outside M

and the report averages each over pairs (edited/unedited only over pairs that have masks and a
non-empty region). The edit mask is `RenderRun`'s (`sources.change_mask`): the edited objects'
pixels in source and target plus every pixel the renders show changed (shadows included). Global L1/L2 reward copying the source (most pixels do not change); the
edited-region L1 is where the copy baseline fails and a real edit must succeed, and the
unedited-region L1 catches editors that repaint what should stay.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from PIL import Image
from scipy import ndimage
from tqdm.auto import tqdm

from simedit.train.data.sources import RenderRun, Unreadable

METRICS = ("l1", "l2", "edited_l1", "unedited_l1")


def to_array(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


def dilate_mask(mask: np.ndarray, pixels: int) -> np.ndarray:
    if pixels <= 0:
        return mask.astype(bool)
    return ndimage.binary_dilation(mask.astype(bool), structure=np.ones((3, 3), bool), iterations=pixels)


def pair_metrics(output: Image.Image, target: Image.Image, mask: Image.Image | None, dilate: int = 2) -> dict:
    """The metrics of one edit against its ground truth (see the module docstring)."""
    if output.size != target.size:
        output = output.convert("RGB").resize(target.size, Image.BICUBIC)
    o, t = to_array(output), to_array(target)
    d = np.abs(o - t)
    r: dict[str, float | None] = {"l1": float(d.mean()), "l2": float((d ** 2).mean()), "edited_l1": None, "unedited_l1": None}
    if mask is not None:
        m = np.asarray(mask.convert("L").resize(target.size, Image.NEAREST)) > 127
        m = dilate_mask(m, dilate)
        if m.any():
            r["edited_l1"] = float(d[m].mean())
        if (~m).any():
            r["unedited_l1"] = float(d[~m].mean())
    return r


def _mean(values: Sequence[float | None]) -> float | None:
    v = [x for x in values if x is not None]
    return float(np.mean(v)) if v else None


def summarize(per_pair: list[dict]) -> dict:
    out = {k: _mean([p[k] for p in per_pair]) for k in METRICS}
    out["n"] = len(per_pair)
    out["n_masked"] = sum(p["edited_l1"] is not None for p in per_pair)
    return out


def reference_metrics(run: RenderRun, editors: dict, seed: int = 0, dilate: int = 2, limit: int | None = None,
                      grid_rows: list | None = None, max_grid_rows: int = 8) -> dict:
    """`editors`: name -> editor (source, instruction, seed) -> image. Returns
    {"run", "dilate", "seed", "methods": {name: {l1, l2, edited_l1, unedited_l1, n, n_masked,
    by_kind: {kind: {...}}}}, "skipped"}. `grid_rows`, when a list, receives
    [source, target, edit mask, each method's output] rows."""
    per: dict[str, list[dict]] = defaultdict(list)
    kinds: list[str] = []
    skipped = 0
    n = len(run) if limit is None else min(limit, len(run))
    for i in tqdm(range(n), desc="reference metrics", unit="pair"):
        try:
            ex = run.load(i)
        except Unreadable:
            skipped += 1
            continue
        kinds.append(str(run.rows[i].get("kind") or "all"))
        outs = []
        for name, editor in editors.items():
            out = editor(ex.source, ex.instruction, seed)
            outs.append(out)
            per[name].append(pair_metrics(out, ex.target, ex.mask, dilate))
        if grid_rows is not None and len(grid_rows) < max_grid_rows:
            mask = ex.mask.convert("RGB") if ex.mask is not None else Image.new("RGB", ex.source.size, "black")
            grid_rows.append([ex.source, ex.target, mask] + outs)
    methods = {}
    for name in editors:
        rows = per[name]
        s = summarize(rows)
        by_kind: dict[str, list[dict]] = defaultdict(list)
        for k, r in zip(kinds, rows):
            by_kind[k].append(r)
        s["by_kind"] = {k: summarize(v) for k, v in sorted(by_kind.items())}
        methods[name] = s
    return {"run": str(run.root), "dilate": dilate, "seed": seed, "methods": methods, "skipped": skipped,
            "definitions": {"l1": "mean |out - target| on [0,1] RGB", "l2": "mean (out - target)^2",
                            "edited_l1": f"L1 inside the edit mask dilated by {dilate} px",
                            "unedited_l1": "L1 outside the dilated edit mask"}}


def markdown(report: dict) -> str:
    def f(v):
        return "n/a" if v is None else f"{v:.4f}"

    lines = [f"# Reference metrics: {report['run']}", "",
             "| method | n | L1 ↓ | L2 ↓ | edited-region L1 ↓ | unedited-region L1 ↓ |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, m in report["methods"].items():
        lines.append(f"| {name} | {m['n']} | {f(m['l1'])} | {f(m['l2'])} | {f(m['edited_l1'])} | {f(m['unedited_l1'])} |")
    lines += ["", (f"L1 = mean |out - target|, L2 = mean squared error, on [0, 1] RGB at the target size; "
                   f"edited region = edit mask dilated by {report['dilate']} px. The copy baseline outputs the source."), ""]
    return "\n".join(lines)
