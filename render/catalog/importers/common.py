"""Shared parts of the importers: candidates, names, colors, scale, tags, YAML writing.

An importer (gso.py, kubric.py, mesh_folder.py) finds models and yields `Candidate`s (or
`Broken` for a model it cannot use); `propose` turns a candidate into a catalog entry (a dict in
the YAML format of render/catalog.py) with the evidence behind every proposed value, and
`merge_entries` folds a new import into an existing catalog keeping the user's edits.
"""
from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from simedit.render.catalog.model import BUILTIN_CATALOG, TAGS
from simedit.render.common.errors import SimEditError

MESH_SUFFIXES = (".obj", ".glb", ".gltf", ".ply")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")

# noun -> (category, typical largest dimension in meters). Categories follow the built-in
# catalog (mugs are in "cup", so shape swaps stay among drinking vessels).
NOUNS: dict[str, tuple[str, float]] = {
    "mug": ("cup", 0.11), "cup": ("cup", 0.09), "teacup": ("cup", 0.08), "tumbler": ("cup", 0.11),
    "glass": ("cup", 0.12), "bowl": ("bowl", 0.16), "ramekin": ("bowl", 0.09), "plate": ("plate", 0.25),
    "dish": ("plate", 0.22), "tray": ("plate", 0.35), "bottle": ("bottle", 0.25), "can": ("can", 0.12),
    "tin": ("can", 0.12), "jar": ("jar", 0.14), "vase": ("pot", 0.25), "pot": ("pot", 0.18),
    "planter": ("pot", 0.18), "bucket": ("bucket", 0.30), "pitcher": ("jug", 0.22), "jug": ("jug", 0.22),
    "kettle": ("jug", 0.22), "teapot": ("jug", 0.20), "box": ("box", 0.20), "carton": ("box", 0.20),
    "container": ("box", 0.15), "book": ("book", 0.23), "cube": ("block", 0.05), "block": ("block", 0.05),
    "brick": ("block", 0.05), "domino": ("block", 0.05), "ball": ("ball", 0.15), "basketball": ("ball", 0.24),
    "duck": ("toy", 0.08), "toy": ("toy", 0.15), "figure": ("toy", 0.15), "figurine": ("toy", 0.12),
    "doll": ("toy", 0.25), "bear": ("toy", 0.25), "teddy": ("toy", 0.25), "bunny": ("toy", 0.12),
    "dinosaur": ("toy", 0.20), "truck": ("toy", 0.15), "car": ("toy", 0.12), "train": ("toy", 0.15),
    "cone": ("cone", 0.30), "pencil": ("pencil", 0.18), "pen": ("pencil", 0.14), "marker": ("pencil", 0.14),
    "candle": ("candle", 0.12), "donut": ("food", 0.10), "egg": ("food", 0.055), "apple": ("food", 0.08),
    "banana": ("food", 0.20), "shoe": ("shoe", 0.28), "sneaker": ("shoe", 0.28), "boot": ("shoe", 0.30),
    "sandal": ("shoe", 0.26), "slipper": ("shoe", 0.26), "hat": ("hat", 0.30), "cap": ("hat", 0.28),
    "bag": ("bag", 0.35), "backpack": ("bag", 0.45), "purse": ("bag", 0.30), "lamp": ("lamp", 0.40),
    "clock": ("clock", 0.25), "phone": ("phone", 0.15), "mouse": ("mouse", 0.11), "keyboard": ("keyboard", 0.45),
    "headphones": ("headphones", 0.20), "camera": ("camera", 0.12), "speaker": ("speaker", 0.20),
    "pan": ("pan", 0.30), "spoon": ("utensil", 0.18), "fork": ("utensil", 0.18), "knife": ("utensil", 0.22),
    "scissors": ("utensil", 0.20), "puzzle": ("box", 0.25), "game": ("box", 0.27), "ring": ("ring", 0.12),
    "torus": ("ring", 0.12), "sphere": ("ball", 0.15), "cylinder": ("block", 0.10),
}
DEFAULT_CATEGORY = ("object", 0.15)
# GSO's own categories (metadata.pbtxt) -> our nouns
META_CATEGORIES = {"shoe": "shoe", "toys": "toy", "stuffed toys": "bear", "bottles and cans and cups": "bottle",
                   "bags": "bag", "hats": "hat", "legos": "brick", "board games": "game", "action figures": "figure",
                   "media cases": "box", "consumer goods": "box", "mouse": "mouse", "keyboard": "keyboard",
                   "headphones": "headphones", "camera": "camera"}
# one word directly before the noun is kept when it is one of these ("coffee mug", "soup can")
MODIFIERS = {"coffee", "tea", "wine", "water", "soup", "soda", "beer", "cereal", "cookie", "flower", "plant",
             "toy", "cake", "salad", "serving", "storage", "baby", "tennis", "soccer", "rubber", "wooden",
             "ceramic", "porcelain", "plastic", "metal", "cardboard", "traffic", "teddy", "measuring", "mixing",
             "travel", "spray", "pill", "paper", "shoe", "gift", "lunch", "pencil", "cooking", "dog", "cat"}
UNIT_WORDS = {"oz", "fl", "ml", "l", "g", "kg", "lb", "lbs", "ct", "count", "pack", "pk", "pc", "pcs", "in",
              "inch", "cm", "mm", "qt", "gal", "size", "set", "of", "and", "with", "the", "a", "for", "by", "x"}
COLOR_WORDS = {"grey", "navy", "beige", "silver", "gold", "golden", "multicolor", "multi", "clear", "light", "dark",
               "tan", "cream", "teal", "aqua", "coral", "ivory", "khaki", "maroon", "turquoise", "violet",
               "magenta", "cyan", "lime", "olive", "charcoal", "transparent", "natural"}

# scale: how far a measured size may be from the category default and still be believed
METERS_RANGE = (0.2, 5.0)  # a mesh declared (or looking) metric: believed within these factors
UNIT_GUESS_RANGE = (0.4, 2.5)  # cm / mm / inch readings must be this close to the default
UNITS = (("meters", 1.0), ("centimeters", 0.01), ("millimeters", 0.001))


@dataclass
class Candidate:
    """One model found by an importer, not yet loaded."""

    key: str  # folder / file / manifest id: the entry id is made from it
    origin: str  # where it came from, for the YAML and for matching on re-import
    source: str  # "gso", "kubric", "mesh_folder"
    # cache dir -> (render mesh, texture or None, shipped collision mesh or None); may extract files
    materialize: Callable[[Path], tuple[Path, Path | None, Path | None]]
    texts: list[str] = field(default_factory=list)  # name sources, best first (description, name)
    category_hint: str | None = None  # a category word from metadata
    tags_hint: list[str] = field(default_factory=list)  # tags stated by metadata
    size_hint_m: float | None = None  # largest real-world dimension stated by metadata
    meters: bool = False  # the layout says the mesh is in meters (GSO)
    up_axis: str = "z"  # "y": rotate +90 about X to stand it up (glTF)


@dataclass
class Broken:
    origin: str
    reason: str


# ---------------------------------------------------------------- palette, ids, names

def builtin_palette() -> dict[str, list[float]]:
    raw = yaml.safe_load(BUILTIN_CATALOG.read_text(encoding="utf-8"))
    return {k: [float(c) for c in v] for k, v in raw["colors"].items()}


def snake_id(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "model"
    return s if s[0].isalpha() else f"m_{s}"


def _tokens(text: str) -> list[str]:
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)  # camelCase -> camel Case
    return [t for t in re.split(r"[^A-Za-z0-9']+", text.replace("_", " ")) if t]


def _singular(word: str) -> str:
    if word in NOUNS:
        return word
    for end, repl in (("ies", "y"), ("es", ""), ("s", "")):
        if word.endswith(end) and word[: -len(end)] + repl in NOUNS:
            return word[: -len(end)] + repl
    return word


def clean_words(text: str, palette: set[str]) -> list[str]:
    """Lowercase words with brand codes (ALLCAPS, digits, short codes), units and color words
    removed."""
    tokens = _tokens(text)
    mixed = any(t[0].isupper() and not t.isupper() for t in tokens) or any(t.islower() for t in tokens)
    out = []
    for t in tokens:
        low = t.lower().strip("'")
        if any(c.isdigit() for c in t) or len(low) <= 2 or low in UNIT_WORDS:
            continue
        if mixed and t.isupper() and _singular(low) not in NOUNS:  # "SH", "TRX": codes, not words
            continue
        if low in palette or low in COLOR_WORDS:
            continue
        if low.endswith("'s"):
            low = low[:-2]
        out.append(low)
    return out


def propose_name(texts: list[str], category_hint: str | None, palette: set[str]) -> tuple[str, str, float, str]:
    """-> (name, category, default size m, how). The name is a colorless noun phrase."""
    hint = None
    if category_hint:
        h = category_hint.strip().lower()
        hint = META_CATEGORIES.get(h) or _singular(h.split()[-1]) if h else None
        if hint not in NOUNS:
            hint = None
    for text in texts:
        words = [_singular(w) for w in clean_words(text, palette)]
        nouns = [i for i, w in enumerate(words) if w in NOUNS]
        if nouns:
            i = nouns[0]
            name = words[i]
            if i > 0 and words[i - 1] in MODIFIERS and words[i - 1] != name:
                name = f"{words[i - 1]} {name}"
            category, size = NOUNS[words[i]]
            return name, category, size, f"noun {words[i]!r} in {text!r}"
    if hint:
        category, size = NOUNS[hint]
        return hint, category, size, f"metadata category {category_hint!r}"
    for text in texts:
        words = clean_words(text, palette)
        if words:
            return " ".join(words[-2:]), DEFAULT_CATEGORY[0], DEFAULT_CATEGORY[1], f"words of {text!r} (no known noun)"
    return "object", DEFAULT_CATEGORY[0], DEFAULT_CATEGORY[1], "no usable text"


# ---------------------------------------------------------------- color

def _linear_to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0, 1)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)


def dominant_color(texels_srgb: np.ndarray, weights: np.ndarray, palette: dict[str, list[float]]) -> tuple[str, float]:
    """Palette word covering the largest (weighted) share of texels; -> (word, share). Nearest in
    gamma-encoded sRGB (CIELAB's blues drift toward purple with this small palette)."""
    words = list(palette)
    lab_p = _linear_to_srgb(np.asarray([palette[w] for w in words], float))
    lab_t = np.clip(texels_srgb, 0, 1)
    nearest = np.argmin(((lab_t[:, None, :] - lab_p[None]) ** 2).sum(-1), axis=1)
    share = np.bincount(nearest, weights=weights, minlength=len(words))
    best = int(np.argmax(share))
    return words[best], float(share[best] / max(share.sum(), 1e-12))


def texture_texels(mesh: Any, image: Any, max_faces: int = 20000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """sRGB texels under the mesh (face-centroid UVs, area-weighted) or, without UVs, every pixel."""
    from PIL import Image

    img = np.asarray(image.convert("RGB"), float) / 255.0
    h, w = img.shape[:2]
    uv = getattr(getattr(mesh, "visual", None), "uv", None)
    if uv is not None and len(uv) == len(mesh.vertices) and len(mesh.faces):
        faces = np.asarray(mesh.faces)
        if len(faces) > max_faces:
            faces = faces[np.random.default_rng(seed).choice(len(faces), max_faces, replace=False)]
        c = np.asarray(uv, float)[faces].mean(axis=1) % 1.0
        tri = np.asarray(mesh.vertices, float)[faces]
        area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
        px = np.clip((c[:, 0] * (w - 1)).round().astype(int), 0, w - 1)
        py = np.clip(((1 - c[:, 1]) * (h - 1)).round().astype(int), 0, h - 1)
        return img[py, px], area
    small = np.asarray(Image.fromarray((img * 255).astype(np.uint8)).resize((64, 64)), float) / 255.0
    flat = small.reshape(-1, 3)
    return flat, np.ones(len(flat))


# ---------------------------------------------------------------- scale

def choose_scale(extent: float, category: str, default_m: float, meters: bool,
                 size_hint_m: float | None) -> tuple[float, str]:
    """mesh_scale (file units -> meters) for a mesh whose largest dimension is `extent` file
    units, and a sentence saying why."""
    if extent <= 0 or not math.isfinite(extent):
        raise SimEditError("mesh has no extent")
    if size_hint_m:
        return size_hint_m / extent, f"metadata: largest dimension {size_hint_m:g} m"
    lo, hi = METERS_RANGE
    if meters and 0.005 <= extent <= 2.0 and lo * default_m <= extent <= hi * default_m:
        return 1.0, "mesh units: meters (as distributed)"
    glo, ghi = UNIT_GUESS_RANGE
    for unit, factor in UNITS:
        size = extent * factor
        rng = (lo, hi) if unit == "meters" else (glo, ghi)
        if rng[0] * default_m <= size <= rng[1] * default_m:
            return factor, f"mesh units read as {unit} ({size:.3g} m fits {category!r} ~{default_m:g} m)"
    return default_m / extent, f"category default: {category} {default_m:g} m (mesh is {extent:.3g} units)"


# ---------------------------------------------------------------- proposal

def _rel(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(path, base)
    except ValueError:  # another drive
        return str(path)


def propose(c: Candidate, key_id: str, catalog_dir: Path, cache_dir: Path, palette: dict[str, list[float]],
            collision: bool = True) -> dict[str, Any]:
    """The catalog entry proposed for one candidate (raises on a broken model)."""
    import trimesh

    from simedit.render.catalog.tags import infer_tags, merge_tags

    render_mesh, texture, shipped_collision = c.materialize(cache_dir)
    try:
        loaded = trimesh.load(render_mesh, force="mesh", process=False)
    except Exception as exc:
        raise SimEditError(f"cannot read mesh: {exc}".splitlines()[0], file=str(render_mesh)) from None
    verts = np.asarray(loaded.vertices, float)
    if len(verts) < 4 or len(loaded.faces) == 0 or not np.isfinite(verts).all():
        raise SimEditError("mesh has no faces", file=str(render_mesh))

    rotation = [90.0, 0.0, 0.0] if c.up_axis == "y" else [0.0, 0.0, 0.0]
    from scipy.spatial.transform import Rotation

    turned = Rotation.from_euler("xyz", rotation, degrees=True).apply(verts)
    extent = float((turned.max(0) - turned.min(0)).max())
    name, category, default_m, name_how = propose_name(c.texts or [c.key], c.category_hint, set(palette))
    scale, size_how = choose_scale(extent, category, default_m, c.meters, c.size_hint_m)
    asset_verts = turned * scale
    result = infer_tags(asset_verts, np.asarray(loaded.faces, int))
    tags = merge_tags(result.tags, [t for t in c.tags_hint if t in TAGS])

    color, share, image = None, None, None
    if texture is not None:
        from PIL import Image

        try:
            image = Image.open(texture)
            image.load()
        except Exception as exc:
            raise SimEditError(f"cannot read texture: {exc}".splitlines()[0], file=str(texture)) from None
    else:
        mat = getattr(getattr(loaded, "visual", None), "material", None)
        image = getattr(mat, "baseColorTexture", None) or getattr(mat, "image", None)  # glTF-embedded
    if image is not None:
        texels, weights = texture_texels(loaded, image)
        color, share = dominant_color(texels, weights, palette)

    collision_rel = None
    if shipped_collision is not None:  # the model's own collision mesh (Kubric ships one)
        collision_rel = _rel(shipped_collision, catalog_dir)
    elif collision:
        from simedit.render.catalog.collision import build_collision

        col, _ = build_collision(render_mesh, cache_dir)
        collision_rel = _rel(col, catalog_dir)
    evidence: dict[str, Any] = {
        "name_from": name_how,
        "extent_file_units": round(extent, 5),
        "size_m": [round(float(x), 4) for x in (asset_verts.max(0) - asset_verts.min(0))],
        **result.evidence,
        "inferred_tags": result.tags,
    }
    if c.tags_hint:
        evidence["metadata_tags"] = list(c.tags_hint)
    if color is not None:
        evidence["color_share"] = round(share, 3)
    entry: dict[str, Any] = {
        "id": key_id,
        "name": name,
        "category": category,
        "tags": tags,
        "render_mesh": _rel(render_mesh, catalog_dir),
        "collision_mesh": collision_rel,
        "mesh_scale": float(f"{scale:.6g}"),
        "mesh_rotation_deg": rotation,
        "colorable": color is None,
        "color": color,
        "texture": _rel(texture, catalog_dir) if texture is not None else None,
        "source": c.source,
        "origin": c.origin,
        "size_source": size_how,
        "evidence": evidence,
    }
    if entry["collision_mesh"] is None:
        del entry["collision_mesh"]
    return entry


# fields the user may edit; re-import keeps an edited one (value != last proposal)
USER_FIELDS = ("id", "name", "category", "tags", "collision_mesh", "mesh_scale", "mesh_rotation_deg",
               "colorable", "color", "texture")


def with_proposal(entry: dict[str, Any]) -> dict[str, Any]:
    entry = dict(entry)
    entry["proposed"] = {k: entry.get(k) for k in USER_FIELDS}
    return entry


def merge_entries(existing: list[dict[str, Any]], fresh: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Fold fresh proposals into the existing entries: a field the user changed (differs from
    the stored proposal) is kept; everything else is refreshed. Entries the import did not
    produce (added by hand, or whose model is gone) stay as they are. -> (entries, kept fields)."""
    by_origin = {e.get("origin"): i for i, e in enumerate(existing) if e.get("origin")}
    by_id = {e.get("id"): i for i, e in enumerate(existing)}
    out = [dict(e) for e in existing]
    kept = 0
    for new in fresh:
        i = by_origin.get(new.get("origin"), by_id.get(new["id"]))
        if i is None:
            out.append(new)
            continue
        old = existing[i]
        proposed_before = old.get("proposed") or {}
        merged = dict(new)
        for k in USER_FIELDS:
            if k in old and k in proposed_before and old.get(k) != proposed_before.get(k):
                merged[k] = old[k]
                kept += 1
            elif k in old and not proposed_before:  # a hand-written entry: the user owns it all
                merged[k] = old[k]
        for k, v in old.items():  # extra keys the user added
            if k not in merged:
                merged[k] = v
        if merged.get("collision_mesh") is None:
            merged.pop("collision_mesh", None)
        out[i] = merged
    return out, kept


def dedupe_names(entries: list[dict[str, Any]]) -> None:
    """Names must be unique (instructions name objects): add a distinguishing word from the
    model's id, else a number."""
    seen: set[str] = set()
    for e in entries:
        name = e["name"]
        if name in seen:
            base = name
            extra = [w for w in e["id"].split("_") if w.isalpha() and len(w) > 2 and w not in base.split()]
            candidates = [f"{w} {base}" for w in extra[:3]] + [f"{base} {k}" for k in range(2, 10_000)]
            name = next(n for n in candidates if n not in seen)
            e["name"] = name
            if isinstance(e.get("proposed"), dict) and e["proposed"].get("name") == base:
                e["proposed"]["name"] = name
        seen.add(name)


HEADER = """# Imported by `catalog import` (render/importers). Edit any field: re-import keeps your edits
# (a field that differs from `proposed:` is yours) and refreshes the rest.
# Tags were inferred from geometry (render/tag_inference.py; `evidence:` has the measurements):
#   can-fall: height / narrowest footprint width >= 1.05; round: the shape maps onto itself under
#   Z turns every 15 degrees; invariant: under random 3D rotations (balls).
# mesh_scale turns mesh units into meters; `size_source` says how it was chosen.
"""


def write_catalog(path: Path, palette: dict[str, list[float]], entries: list[dict[str, Any]]) -> None:
    class _Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:  # no &id001 anchors: entries stay hand-editable
            return True

    def _list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:  # short scalar lists in flow style
        flow = all(not isinstance(x, (dict, list)) for x in data) and len(data) <= 8
        return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)

    _Dumper.add_representer(list, _list)
    body = yaml.dump({"colors": palette, "assets": entries}, Dumper=_Dumper, sort_keys=False,
                     allow_unicode=True, width=110)
    tmp = path.with_name(path.name + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(HEADER + body, encoding="utf-8")
    os.replace(tmp, path)


# ---------------------------------------------------------------- OBJ staging

def obj_mtllibs(obj: Path, head_bytes: int = 1 << 16) -> list[str]:
    """`mtllib` names in the head of an OBJ (exporters write them first)."""
    with open(obj, "rb") as f:
        head = f.read(head_bytes).decode("utf-8", "replace")
    return [line.split(None, 1)[1].strip() for line in head.splitlines()
            if line.startswith("mtllib") and len(line.split(None, 1)) == 2]


def mtl_maps(mtl: Path) -> list[str]:
    try:
        text = mtl.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [line.split()[-1] for line in text.splitlines() if line.strip().lower().startswith("map_") and line.split()]


def obj_texture(obj: Path) -> Path | None:
    """The diffuse texture an OBJ's own material library points at, if it exists."""
    for lib in obj_mtllibs(obj):
        mtl = obj.parent / lib
        text = mtl.read_text(encoding="utf-8", errors="replace") if mtl.is_file() else ""
        for line in text.splitlines():
            if line.strip().lower().startswith("map_kd") and len(line.split()) > 1:
                tex = (mtl.parent / line.split()[-1]).resolve()
                if tex.is_file():
                    return tex
    return None


def obj_resolves(obj: Path) -> bool:
    """Do the OBJ's material libraries and their texture maps exist where it says? (Blender
    refuses a mesh whose material points at a missing image.)"""
    for lib in obj_mtllibs(obj):
        mtl = obj.parent / lib
        if not mtl.is_file():
            return False
        if any(not (mtl.parent / m).is_file() for m in mtl_maps(mtl)):
            return False
    return True


def link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        if dst.stat().st_size == src.stat().st_size and dst.stat().st_mtime >= src.stat().st_mtime:
            return
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        import shutil

        shutil.copyfile(src, dst)


def stage_obj(obj_bytes_or_path: Path | bytes, mtl_text: str | None, texture: Path | None, dest: Path,
              name: str = "model.obj") -> Path:
    """Put an OBJ in `dest` with a material library whose maps point at `texture` (or no maps),
    so it imports cleanly wherever the original texture lived."""
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / name
    if isinstance(obj_bytes_or_path, Path):
        link_or_copy(obj_bytes_or_path, out)
    else:
        out.write_bytes(obj_bytes_or_path)
    for lib in obj_mtllibs(out):
        lines = []
        for line in (mtl_text or "newmtl material_0\nKd 0.8 0.8 0.8\n").splitlines():
            if line.strip().lower().startswith("map_"):
                if texture is None:
                    continue
                line = f"{line.split()[0]} {texture.resolve()}"
            lines.append(line)
        (dest / lib).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out
