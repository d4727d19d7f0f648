"""DiscEdit triples for a render run: (source image, change prompt, no-change prompt, task).

The change prompt is the pair's true instruction. The no-change prompt asks for something that
cannot change the image (AURORA appendix H builds these by hand), in the order of preference the
edit kind gives (`EditKind.no_change_prompts(subtype)`):

- **already true** (`already_true`): what AURORA's DiscEdit files mostly hold ("Move the bowl
  under the table" when it is under the table; "Make the bottle stand normally"): the inverse of
  the pair's edit (`EditKind.invert`), every name taken from the source scene, so it asks for
  the state the source already shows: "put the cup on the book" -> "take the cup off the book"
  (it stands beside the book). Used for subtypes whose inverse states a condition rather than a
  relative change; a kind opts in by listing "already_true".
- **absent object** (all kinds but `count add`): every edited object's name is replaced by the
  name of a catalog object that is not in the scene (a category absent from both source and
  target scene, with a palette color when the asset is colorable). "remove the red mug" ->
  "remove the green traffic cone"; "move the red mug to the left of the bowl" -> "move the green
  traffic cone to the left of the bowl". Plurals follow ("the red mugs" -> "the green traffic
  cones") and "a"/"an" are fixed.
- **invariant rotation** (rotation runs): when the source scene has an `invariant` object (a
  ball) with a unique name that is not edited, the edited object's name is replaced by it:
  "turn the red mug around" -> "turn the blue tennis ball around"; a rotated ball looks the same.

`count add` pairs get no triple: adding an absent object is itself a change ("add a squirrel" has
no no-change counterpart, appendix H). Pairs whose instruction does not contain the edited object's
name are skipped too. The choice is deterministic: a per-pair generator seeded from the pair's key
and instruction. No torch, no Blender.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from pathlib import Path

from simedit.render.common.inflection import inflect
import numpy as np

from simedit.render.catalog.model import Catalog, load_catalog
from simedit.render.common.errors import Reject
from simedit.render.plan import language
from simedit.render.plan.edits import KINDS, invert
from simedit.render.scene import Edit, Scene
from simedit.render.common.atomic import atomic_write
from simedit.render.rundir.contract import RunDir

_INFLECT = inflect.engine()


def _rng(*parts: str) -> np.random.Generator:
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _plural(name: str) -> str:
    return str(_INFLECT.plural_noun(name))


def _objects(scene: dict | None) -> list[dict]:
    return list((scene or {}).get("objects") or [])


def replace_names(text: str, mapping: dict[str, str]) -> tuple[str, set[str]]:
    """Replace each noun phrase `old` of `mapping` (and its plural) by `new` (and its plural), at
    word boundaries, in one pass (a new name is never replaced again); fix "a"/"an" before the new
    phrases. Returns (text, the olds that were found)."""
    forms: dict[str, tuple[str, str]] = {}
    for old, new in mapping.items():
        forms[_plural(old).lower()] = (_plural(new), old)
        forms.setdefault(old.lower(), (new, old))
    pattern = r"\b(" + "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)) + r")\b"
    found: set[str] = set()

    def sub(m: re.Match) -> str:
        new, old = forms[m.group(1).lower()]
        found.add(old)
        return new

    text = re.sub(pattern, sub, text, flags=re.IGNORECASE)
    for new in mapping.values():
        text = re.sub(r"\b(a|an) " + re.escape(new) + r"\b", str(_INFLECT.a(new)).replace("\\", "\\\\"), text)
    return text, found


def _absent_names(catalog: Catalog, present_categories: set[str], present_names: set[str], instruction: str,
                  rng: np.random.Generator, k: int) -> list[str]:
    low = instruction.lower()
    present_words = {w for n in present_names for w in n.lower().split()}
    pool = [a for a in sorted(catalog.assets.values(), key=lambda a: a.id)  # nothing alike in the scene
            if a.category not in present_categories and a.name not in low and a.name.split()[-1] not in present_words]
    names: list[str] = []
    for idx in rng.permutation(len(pool)):
        a = pool[int(idx)]
        if any(a.category == catalog.assets[n_id].category for n_id in names):  # distinct categories
            continue
        names.append(a.id)
        if len(names) == k:
            break
    out = []
    for asset_id in names:
        a = catalog.assets[asset_id]
        color = str(rng.choice(sorted(catalog.palette))) if a.colorable else a.color
        name = catalog.display_name(asset_id, color)
        if name in present_names:
            continue
        out.append(name)
    return out


def already_true(row: dict, rng: np.random.Generator) -> str | None:
    """The inverse edit phrased on the source scene alone, or None when there is none."""
    try:
        edit = Edit.from_dict(row["edit"])
        source, target = Scene.from_dict(row["source_scene"]), Scene.from_dict(row["target_scene"])
    except (KeyError, TypeError, ValueError):
        return None
    inverse = invert(edit, source, target)
    if inverse is None:
        return None
    try:
        text = language.instruction(inverse, source, source, rng)
    except (Reject, ValueError, KeyError):
        return None
    return text if text.strip().lower() != str(row["instruction"]).strip().lower() else None


def no_change_by_kind(row: dict, edited: list[str], catalog: Catalog, rng: np.random.Generator) -> tuple[str, str, dict[str, str]]:
    """The edit kind says how a no-change prompt may be made (`EditKind.no_change_prompts`):
    (skip reason, "", {}) when the subtype has none; ("", how, {old: new}) for an
    "invariant_rotation" replacement (an invariant object of the scene, e.g. a ball, in place of
    the edited one); ("", "", {}) to fall back to an absent object."""
    kind, subtype = str(row.get("kind") or ""), str(row.get("subtype") or "")
    strategies = KINDS[kind].no_change_prompts(subtype) if kind in KINDS else ("absent_object",)
    if not strategies:
        return f"{kind}_{subtype}_has_no_no_change", "", {}
    if "invariant_rotation" in strategies:
        src_objs = _objects(row.get("source_scene"))
        name_count = Counter(o.get("name") for o in src_objs)
        edited_uids = set(row.get("edited") or [])
        balls = [o["name"] for o in src_objs
                 if o.get("uid") not in edited_uids and o.get("asset_id") in catalog.assets
                 and "invariant" in catalog.assets[o["asset_id"]].tags and name_count[o["name"]] == 1
                 and o["name"] not in edited]
        if balls and len(edited) == 1:
            ball = balls[int(rng.integers(len(balls)))]
            if not re.search(r"\b" + re.escape(ball) + r"\b", str(row["instruction"]), re.IGNORECASE):
                return "", "invariant_rotation", {edited[0]: ball}
    return "", "", {}


def triple_for_row(row: dict, catalog: Catalog) -> tuple[dict | None, str]:
    """(triple without the source path, "") or (None, skip reason)."""
    kind = str(row.get("kind") or "")
    instruction = str(row["instruction"])
    src_objs, tgt_objs = _objects(row.get("source_scene")), _objects(row.get("target_scene"))
    names_by_uid = {o["uid"]: o["name"] for o in src_objs if "uid" in o and "name" in o}
    if not names_by_uid:  # older manifests: the flat objects table
        names_by_uid = {uid: o.get("name") for uid, o in (row.get("objects") or {}).items() if o.get("name")}
    edited = [names_by_uid[u] for u in row.get("edited") or [] if u in names_by_uid]
    edited = sorted(set(edited), key=lambda n: (-len(n), n))  # longest first: "red coffee mug" before "mug"
    rng = _rng(str(row.get("key", row.get("index", ""))), instruction)
    kind_obj = KINDS.get(kind)
    if kind_obj is not None and "already_true" in kind_obj.no_change_prompts(str(row.get("subtype") or "")):
        text = already_true(row, rng)
        if text:
            return {"change": instruction, "no_change": text, "task": kind or "all", "no_change_kind": "already_true",
                    "replaced": {}, "key": row.get("key")}, ""
    skip, how, replacements = no_change_by_kind(row, edited, catalog, rng)
    if skip:
        return None, skip
    if not edited:
        return None, "edited_object_not_in_source"
    if not replacements:
        present = src_objs + tgt_objs
        present_names = {o.get("name", "") for o in present}
        cats = {catalog.assets[o["asset_id"]].category for o in present if o.get("asset_id") in catalog.assets}
        absent = _absent_names(catalog, cats, present_names, instruction, rng, len(edited))
        if len(absent) < len(edited):
            return None, "no_absent_object"
        how, replacements = "absent_object", dict(zip(edited, absent))

    text, found = replace_names(instruction, replacements)
    if found != set(replacements):
        return None, "name_not_in_instruction"
    if text == instruction:
        return None, "name_not_in_instruction"
    return {"change": instruction, "no_change": text, "task": kind or "all", "no_change_kind": how,
            "replaced": replacements, "key": row.get("key")}, ""


def triples_for_run(run_dir: str | Path, catalog: Catalog | None = None, skipped: Counter | None = None) -> list[dict]:
    """One triple per usable manifest row: {"source": absolute image path, "change", "no_change",
    "task": edit kind, "no_change_kind", "replaced", "key"}. Skips are counted in `skipped`.
    The run is read through the run-directory contract: a torn last line is left out."""
    run = RunDir(run_dir)  # SimEditError when it is not a run directory
    catalog = catalog or load_catalog()
    skipped = skipped if skipped is not None else Counter()
    out = []
    for row in run.pairs():
        t, why = triple_for_row(row, catalog)
        if t is None:
            skipped[why] += 1
            continue
        out.append({"source": str(run.path(row, "source")), **t})
    return out


def write_triples(triples: list[dict], out: str | Path) -> Path:
    """Write the triples JSON with source paths relative to its folder (atomic)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = [{**t, "source": os.path.relpath(t["source"], out.parent.resolve())} for t in triples]
    return atomic_write(out, json.dumps(rows, indent=1))
