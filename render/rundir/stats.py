"""`render stats DIR`: what a run holds, as a Markdown report with PNG plots.

Pairs per kind and subtype; objects and categories used; the edited objects' size (share of the
frame) and contrast (`visibility.contrast`: the median Lab distance of its pixels to the ring of
pixels around it); instruction length and template variety; rejects by reason and the acceptance rate;
seconds per pair (from the run record's sessions); the contact sheet linked.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from simedit.render.common.atomic import atomic_write, make_dir
from simedit.render.common.errors import SimEditError
from simedit.render.rundir.contract import RunDir
from simedit.render.visibility import contrast

NUMBERS = re.compile(r"\b(one|two|three|four|five|six|seven|eight|nine|ten)\b")

def template_of(instruction: str, names: list[str], colors: list[str]) -> str:
    """The instruction with object names, colour words and number words as placeholders."""
    text = instruction
    for name in sorted(names, key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(name)}(e?s)?\b", "<obj>", text)
    text = NUMBERS.sub("<n>", text)
    if colors:
        text = re.sub(r"\b(" + "|".join(map(re.escape, colors)) + r")\b", "<color>", text)
    return text


@dataclass
class Stats:
    pairs: int = 0
    kinds: Counter = field(default_factory=Counter)
    subtypes: Counter = field(default_factory=Counter)
    assets: Counter = field(default_factory=Counter)
    categories: Counter = field(default_factory=Counter)
    sizes: list[float] = field(default_factory=list)  # edited objects' share of the frame
    contrasts: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)  # words per instruction
    templates: dict[str, set] = field(default_factory=dict)  # kind -> distinct templates
    rejects: Counter = field(default_factory=Counter)
    attempts: int = 0
    seconds: float | None = None
    new_pairs: int = 0


def collect(run: RunDir, categories: dict[str, str] | None = None, colors: list[str] | None = None) -> Stats:
    s = Stats()
    for row in run.pairs():
        s.pairs += 1
        s.kinds[row.get("kind", "?")] += 1
        s.subtypes[f"{row.get('kind', '?')}.{row.get('subtype', '?')}"] += 1
        objects = row.get("objects") or {}
        for o in objects.values():
            s.assets[o.get("asset_id", "?")] += 1
            if categories:
                s.categories[categories.get(o.get("asset_id", ""), "?")] += 1
        text = str(row["instruction"])
        s.lengths.append(len(text.split()))
        names = [o.get("name", "") for o in objects.values()] + [o.get("target", {}).get("name", "") for o in objects.values()]
        s.templates.setdefault(row.get("kind", "?"), set()).add(template_of(text, [n for n in names if n], colors or []))
        ids = row.get("mask_ids") or {}
        for side in ("source", "target"):
            mask = run.mask(row, side)
            path = run.path(row, side)
            if mask is None or path is None or not path.is_file():
                continue
            with Image.open(path) as im:
                rgb = np.asarray(im.convert("RGB"))
            for value, uid in ids.items():
                if uid not in (row.get("edited") or []):
                    continue
                m = mask == int(value)
                if m.any():
                    s.sizes.append(float(m.mean()))
                    s.contrasts.append(contrast(rgb, m))
    for r in run.rejects():
        if not r.get("exhausted"):
            s.rejects[r.get("reason", "?")] += 1
    s.attempts = s.pairs + sum(s.rejects.values())
    record = run.record() or {}
    sessions = record.get("sessions") or []
    if sessions:
        s.seconds = sum(float(x.get("seconds", 0)) for x in sessions)
        s.new_pairs = sum(int(x.get("new_pairs", 0)) for x in sessions)
    return s


def _plots(s: Stats, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    made = []

    def bar(counter: Counter, title: str, name: str, top: int = 30) -> None:
        items = counter.most_common(top)
        if not items:
            return
        fig, ax = plt.subplots(figsize=(8, max(2.5, 0.25 * len(items))))
        ax.barh([k for k, _ in reversed(items)], [v for _, v in reversed(items)], color="#4c72b0")
        ax.set_title(title)
        fig.tight_layout()
        fig.savefig(out / name, dpi=90)
        plt.close(fig)
        made.append(name)

    def hist(values: list[float], title: str, xlabel: str, name: str) -> None:
        if not values:
            return
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.hist(values, bins=30, color="#55a868")
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        fig.tight_layout()
        fig.savefig(out / name, dpi=90)
        plt.close(fig)
        made.append(name)

    bar(s.subtypes, "pairs per kind.subtype", "subtypes.png")
    bar(s.assets, "objects used (any role, per pair)", "objects.png")
    bar(s.rejects, "rejected attempts by reason", "rejects.png")
    hist([100 * v for v in s.sizes], "edited objects' size", "% of the frame", "sizes.png")
    hist(s.contrasts, "edited objects' contrast with their surroundings", "CIE Lab distance", "contrast.png")
    hist([float(n) for n in s.lengths], "instruction length", "words", "lengths.png")
    return made


def _table(counter: Counter, total: int, head: str, unit: str = "pairs") -> list[str]:
    lines = [f"| {head} | {unit} | share |", "|---|---:|---:|"]
    lines += [f"| {k} | {v} | {v / max(total, 1):.1%} |" for k, v in counter.most_common()]
    return lines


def report(run_dir: str | Path, out_dir: str | Path | None = None, catalog=None) -> Path:
    """Write `stats.md` and its plots into `out_dir` (default: RUN/stats); returns the report."""
    run = RunDir(run_dir)
    out = make_dir(Path(out_dir) if out_dir else run.root / "stats")
    categories = {a.id: a.category for a in catalog.assets.values()} if catalog is not None else None
    colors = list(catalog.palette) if catalog is not None else []
    s = collect(run, categories, colors)
    if s.pairs == 0:
        raise SimEditError("no pairs to report on", file=str(run.root))
    plots = _plots(s, out)
    pct = lambda v, q: np.percentile(v, q) if v else float("nan")  # noqa: E731
    lines = [f"# Run report: {run.root}", "",
             f"- pairs: **{s.pairs}**; attempts: {s.attempts}; acceptance: **{s.pairs / max(s.attempts, 1):.1%}**"]
    if s.seconds:
        lines.append(f"- seconds per pair: **{s.seconds / max(s.new_pairs, 1):.2f}** "
                     f"({s.new_pairs} pairs rendered in {s.seconds:.0f} s over the run's sessions)")
    lines += [f"- edited objects' size, % of the frame: median {100 * pct(s.sizes, 50):.2f}, "
              f"5th percentile {100 * pct(s.sizes, 5):.2f}, smallest {100 * min(s.sizes, default=float('nan')):.2f}",
              f"- edited objects' contrast (CIE Lab distance to their surroundings): median {pct(s.contrasts, 50):.1f}, "
              f"5th percentile {pct(s.contrasts, 5):.1f}",
              f"- instruction length: median {pct(s.lengths, 50):.0f} words (min {min(s.lengths)}, max {max(s.lengths)})",
              "- distinct templates (names, colours and numbers as placeholders): "
              + ", ".join(f"{k} {len(v)}" for k, v in sorted(s.templates.items())),
              "", "## Pairs per kind and subtype", ""]
    lines += _table(s.subtypes, s.pairs, "kind.subtype")
    lines += ["", "## Rejected attempts", ""]
    lines += _table(s.rejects, sum(s.rejects.values()), "reason", "attempts") if s.rejects else ["none"]
    if s.categories:
        lines += ["", "## Categories used", ""] + _table(s.categories, sum(s.categories.values()), "category", "objects")
    lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    sheet = run.root / "preview.png"
    lines += ["", f"Contact sheet: {'[preview.png](../preview.png)' if sheet.is_file() else '`render preview ' + str(run.root) + '`'}"]
    return atomic_write(out / "stats.md", "\n".join(lines) + "\n")
