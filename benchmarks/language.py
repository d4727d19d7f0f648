"""Template variety per edit kind: distinct instruction templates among N planned samples, with
object names, colour words and numbers replaced by placeholders (how issue #11 counted them
against AURORA's Kubric-Edit generator: rotation 9, location ~53, count 6, attribute 15).

    python benchmarks/language.py [--n 1000]
"""
from __future__ import annotations

import argparse
import re

from simedit.render.catalog.model import load_catalog
from simedit.render.common.paths import SCENES_DIR
from simedit.render.plan.planner import Planner
from simedit.render.spec import load_spec

NUMBERS = r"\b(one|two|three|four|five|six|seven|eight|nine|ten)\b"


def template(text: str, names: list[str], colors: list[str]) -> str:
    for name in sorted(names, key=len, reverse=True):  # longest first: "red coffee mug" before "mug"
        text = re.sub(rf"\b{re.escape(name)}(e?s)?\b", "<obj>", text)
    text = re.sub(NUMBERS, "<n>", text)
    return re.sub(r"\b(" + "|".join(map(re.escape, colors)) + r")\b", "<color>", text)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000)
    args = p.parse_args()
    catalog = load_catalog()
    colors = list(catalog.palette)
    print(f"{'kind':<10} {'templates':>9} {'samples':>8}")
    for kind in ("rotation", "location", "count", "attribute", "stack"):
        planner = Planner(load_spec(SCENES_DIR / f"{kind}.yaml"), catalog)
        seen: set[str] = set()
        n = 0
        for i in range(args.n):
            s = planner.plan(i).sample
            if s is None:
                continue
            n += 1
            names = {o.name for scene in (s.source, s.target) for o in scene.objects}
            names |= {a.name for a in catalog.assets.values()}
            seen.add(template(s.instruction, list(names), colors))
        print(f"{kind:<10} {len(seen):>9} {n:>8}")


if __name__ == "__main__":
    main()
