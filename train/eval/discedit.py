"""DiscEdit (AURORA, section 5.2 and appendix H): does the editor change the image when asked to,
and leave it alone when the instruction asks for nothing that applies?

Input: triples `{"source": image path, "change": prompt, "no_change": prompt, "task": name}`
(paths relative to the triples file). For each triple and each noise seed s in S, the editor
makes i_change,s from the change prompt and i_nochange,s from the no-change prompt, and

    score(triple) = (1/|S|) * sum_s 1[ ||z(src) - z(i_nochange,s)||_2 < ||z(src) - z(i_change,s)||_2 ]

where z(.) is the editor's VAE latent (`vae.encode(x).latent_dist.mean`, x in [-1, 1]) and ties
count as 0 (the comparison is strict, as in the paper). As AURORA reports it (appendix H.1: the
four noise samples of a triple are "separate examples"; its eval_disc_edit.py), every (triple,
seed) is one example:

    accuracy = p = mean of the indicator over the task's n triples x |S| seeds
    SE       = sqrt(p (1 - p) / (n |S|))

(AURORA's table 5: Kubric 0.592 +- 0.045 is 30 triples x 4 seeds.) Chance is 0.5; the default
seeds are 0..3. The balanced score averages the tasks' accuracies.

Triples come from `evaluate triples` (this project's format) or from AURORA's released DiscEdit
files (`disc_edit_data/<task>/valid.json`: `{"input" or "image", "prompt", "pos", "neg"}`):
AURORA's no-change prompt is `pos` (true of the image already: "Move the bowl under the table"
when it is under the table), its change prompt `neg` or else `prompt`, and items without `pos`
are left out, as AURORA's EditITMDataset does.

An *editor* is any callable (source PIL image, prompt, seed) -> PIL image. `DiffusersEditor` wraps
a saved InstructPix2Pix pipeline folder (local path only) and edits with `simedit.train.trainer.validate.edit`,
the sampler used for validation grids.
"""
from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from simedit.render.common.text import read_text
from simedit.train.errors import TrainError
from simedit.train.trainer.base_model import read_base_folder

log = logging.getLogger(__name__)

FORMULA = ("example (triple, seed s) = 1[ ||z(src) - z(edit(no_change, s))||_2 < ||z(src) - z(edit(change, s))||_2 ], "
           "z = VAE latent mean; accuracy(task) = p = mean over the task's triples x seeds")
SE_FORMULA = "SE = sqrt(p (1 - p) / (n_triples x n_seeds)), each (triple, seed) an example, as AURORA reports it"


class Editor(Protocol):
    def __call__(self, source: Image.Image, prompt: str, seed: int) -> Image.Image: ...


Encoder = Callable[[Image.Image], np.ndarray]


def copy_editor(source: Image.Image, prompt: str, seed: int) -> Image.Image:
    """The copy-the-source baseline."""
    return source.copy()


def pixel_encoder(img: Image.Image) -> np.ndarray:
    """A model-free stand-in for z(.): the RGB pixels in [0, 1]."""
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


class DiffusersEditor:
    """An InstructPix2Pix pipeline folder (as written by `train`: `OUTPUT_DIR/final`, or any local
    diffusers InstructPix2Pix pipeline). Edits at `resolution` x `resolution` when given, else at
    the source size rounded down to a multiple of 8; returns the edit at that size."""

    def __init__(self, model_dir: str | Path, steps: int = 20, guidance_scale: float = 7.5,
                 image_guidance_scale: float = 1.5, resolution: int | None = None, device: str | None = None):
        folder = read_base_folder(model_dir, field="--model")  # its JSON files, before torch: a wrong path is one line
        import diffusers
        import torch

        from simedit.train.trainer.model import load_components

        path = folder.path
        if folder.kind != "instruct_pix2pix":
            raise TrainError(f"UNet has {folder.unet_in} input channels; an InstructPix2Pix editor has "
                             f"{2 * folder.latent} (or {2 * folder.latent + 1} with a mask channel)",
                             file=str(path / "unet" / "config.json"), field="in_channels")
        c = load_components(path, mask_channel=folder.mask_channel)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.unet = c.unet.to(self.device).eval()
        self.vae = c.vae.to(self.device).eval()
        self.text_encoder = c.text_encoder.to(self.device).eval()
        self.tokenizer = c.tokenizer
        cls = getattr(diffusers, c.scheduler_config.get("_class_name", "DDIMScheduler"), diffusers.DDIMScheduler)
        self.scheduler = cls.from_config(c.scheduler_config)
        self.steps, self.guidance_scale, self.image_guidance_scale = steps, guidance_scale, image_guidance_scale
        self.resolution = resolution
        self.name = str(path)
        self._torch = torch

    def prepare(self, img: Image.Image) -> Image.Image:
        """The source as the editor sees it (RGB, edit size)."""
        img = img.convert("RGB")
        if self.resolution:
            size = (self.resolution, self.resolution)
        else:
            size = (max(8, img.size[0] // 8 * 8), max(8, img.size[1] // 8 * 8))
        return img if img.size == size else img.resize(size, Image.BICUBIC)

    def __call__(self, source: Image.Image, prompt: str, seed: int) -> Image.Image:
        from simedit.train.data.batches import to_tensor
        from simedit.train.trainer.validate import edit, to_pil

        src = to_tensor(self.prepare(source))[None].to(self.device)
        gen = self._torch.Generator().manual_seed(int(seed))
        out = edit(self.unet, self.vae, self.text_encoder, self.tokenizer, self.scheduler, src, [prompt], None,
                   self.steps, self.guidance_scale, self.image_guidance_scale, gen)
        return to_pil(out[0])

    def encode(self, img: Image.Image) -> np.ndarray:
        """z(img): the VAE latent mean (unscaled) of the image at edit size."""
        from simedit.train.data.batches import to_tensor

        with self._torch.no_grad():
            x = to_tensor(self.prepare(img))[None].to(self.device)
            return self.vae.encode(x).latent_dist.mean[0].float().cpu().numpy()


@dataclass
class Triple:
    source: Path
    change: str
    no_change: str
    task: str


def is_aurora_format(rows: list) -> bool:
    return bool(rows) and all(isinstance(r, dict) and "source" not in r and ("input" in r or "image" in r)
                              for r in rows)


def aurora_triples(rows: list[dict], root: Path, task: str, file: str = "") -> list[Triple]:
    """AURORA's DiscEdit items: no-change = `pos`, change = `neg` or else `prompt`; items
    without `pos` are left out (EditITMDataset)."""
    out = []
    for n, r in enumerate(rows):
        no_change = str(r.get("pos") or "").strip()
        if not no_change:
            continue
        change = str(r.get("neg") or r.get("prompt") or "").strip()
        image = r.get("input") or r.get("image")
        if not change or not isinstance(image, str):
            raise TrainError("expected an image (`input` or `image`) and a change prompt (`neg` or `prompt`)",
                             file=file, field=f"[{n}]")
        out.append(Triple(root / image, change, no_change, task))
    return out


def load_triples(path: str | Path, root: str | Path | None = None, task: str | None = None) -> list[Triple]:
    """This project's triples file, or one of AURORA's DiscEdit files (paths relative to `root`,
    default the file's folder; task default: the file's folder name, e.g. "ag")."""
    path = Path(path)
    try:
        rows = json.loads(read_text(path, "triples file", TrainError))
    except json.JSONDecodeError as e:
        raise TrainError(f"not valid JSON ({e})", file=str(path)) from None
    except RecursionError:
        raise TrainError("not valid JSON (nested too deeply)", file=str(path)) from None
    if not isinstance(rows, list):
        raise TrainError("expected a JSON list of {source, change, no_change, task}", file=str(path))
    if is_aurora_format(rows):
        return aurora_triples(rows, Path(root) if root else path.parent, task or path.parent.name, str(path))
    out = []
    for n, r in enumerate(rows):
        if not isinstance(r, dict):
            raise TrainError("expected an object", file=str(path), field=f"[{n}]")
        for k in ("source", "change", "no_change"):
            if not isinstance(r.get(k), str) or not r[k].strip():
                raise TrainError(f"missing or empty {k!r}", file=str(path), field=f"[{n}].{k}")
        out.append(Triple((Path(root) if root else path.parent) / r["source"], r["change"], r["no_change"],
                          str(task or r.get("task") or "all")))
    return out


@dataclass
class DiscEditResult:
    seeds: list[int]
    triples: list[dict] = field(default_factory=list)  # per triple: distances per seed and score
    skipped: Counter = field(default_factory=Counter)

    def tasks(self) -> dict[str, dict]:
        by: dict[str, list[dict]] = defaultdict(list)
        for t in self.triples:
            by[t["task"]].append(t)
        return {task: summarize(rows) for task, rows in sorted(by.items())}

    def as_dict(self, model: str = "") -> dict:
        tasks = self.tasks()
        return {
            "metric": "DiscEdit", "model": model, "formula": FORMULA, "standard_error": SE_FORMULA,
            "seeds": self.seeds, "tasks": tasks,
            "overall": summarize(self.triples),
            "balanced": float(np.mean([v["accuracy"] for v in tasks.values()])) if tasks else None,
            "skipped": dict(self.skipped), "triples": self.triples,
        }


def examples(d_change: Sequence[float], d_no_change: Sequence[float]) -> list[int]:
    """One 0/1 example per seed: 1 when the no-change edit is strictly closer to the source."""
    return [int(n < c) for c, n in zip(d_change, d_no_change)]


def summarize(triples: Sequence[dict]) -> dict:
    """n triples, accuracy p over their (triple, seed) examples and SE = sqrt(p(1-p)/examples)."""
    ex = np.asarray([e for t in triples for e in examples(t["d_change"], t["d_no_change"])], dtype=np.float64)
    if ex.size == 0:
        return {"n": len(triples), "examples": 0, "accuracy": None, "se": None}
    p = float(ex.mean())
    return {"n": len(triples), "examples": int(ex.size), "accuracy": p, "se": float(np.sqrt(p * (1 - p) / ex.size))}


def triple_score(d_change: Sequence[float], d_no_change: Sequence[float]) -> float:
    """Fraction of seeds where the no-change edit is strictly closer to the source."""
    return float(np.mean(examples(d_change, d_no_change)))


def run_discedit(triples: list[Triple], editor: Editor, encoder: Encoder, seeds: Sequence[int] = (0, 1, 2, 3),
                 grid_rows: list | None = None, max_grid_rows: int = 8) -> DiscEditResult:
    """Score every triple; `grid_rows`, when a list, receives [source, no-change edit, change edit]
    rows (first seed) for a person to look at."""
    from simedit.train.data.sources import Unreadable, _open_image

    res = DiscEditResult(seeds=list(seeds))
    prepare = getattr(editor, "prepare", lambda im: im.convert("RGB"))
    for t in tqdm(triples, desc="DiscEdit", unit="triple"):
        try:
            src = prepare(_open_image(t.source))
        except Unreadable as e:
            res.skipped["unreadable_source"] += 1
            log.warning("skipping triple: %s", e)
            continue
        z = encoder(src)
        d_c, d_n = [], []
        for k, s in enumerate(seeds):
            out_c, out_n = editor(src, t.change, s), editor(src, t.no_change, s)
            out_c, out_n = (o if o.size == src.size else o.resize(src.size, Image.BICUBIC) for o in (out_c, out_n))
            d_c.append(float(np.linalg.norm(z - encoder(out_c))))
            d_n.append(float(np.linalg.norm(z - encoder(out_n))))
            if k == 0 and grid_rows is not None and len(grid_rows) < max_grid_rows:
                grid_rows.append([src, out_n, out_c])
        res.triples.append({"source": str(t.source), "task": t.task, "change": t.change, "no_change": t.no_change,
                            "d_change": d_c, "d_no_change": d_n, "score": triple_score(d_c, d_n)})
    return res


def markdown(report: dict) -> str:
    lines = [f"# DiscEdit: {report.get('model') or 'editor'}", "",
             f"Seeds: {', '.join(map(str, report['seeds']))}. Chance = 0.5.", "",
             "| task | n | accuracy | SE |", "|---|---:|---:|---:|"]
    rows = list(report["tasks"].items()) + [("**all**", report["overall"])]
    for task, v in rows:
        acc = "n/a" if v["accuracy"] is None else f"{v['accuracy']:.3f}"
        se = "n/a" if v["se"] is None else f"{v['se']:.3f}"
        lines.append(f"| {task} | {v['n']} | {acc} | {se} |")
    lines += ["", f"Formula: {report['formula']}.", f"{report['standard_error']}.", ""]
    if report.get("skipped"):
        lines.append("Skipped: " + ", ".join(f"{k}: {v}" for k, v in report["skipped"].items()) + "\n")
    return "\n".join(lines)
