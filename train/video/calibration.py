"""Synthetic clips to calibrate the frame-pair filters, and the table `video-pairs calibrate`
prints.

Each case is a pair of 160 x 120 frames cut from a larger textured canvas (smooth random texture,
like a table top or a wall), with sensor noise (sigma 3/255) on every frame:

    static           nothing happens                         reject: near_identical
    object_moves     an object (12-25% of the height) moves   keep
    small_move       a small object (7-9%) moves a little     keep
    object_appears   an object is put into the scene          keep
    shake            the camera moves 2-6 px                  reject: camera_move
    pan              the camera moves 10-40 px                reject: camera_move
    zoom             the camera zooms 5-20%                   reject: camera_move
    unrelated        two different scenes (a cut)             reject: too_different

The thresholds in `frame_filters.THRESHOLDS` and the camera limits were set from this table
(seed 0, 30 cases each): max_similarity between the lowest `static` and the highest `keep`
similarity, min_similarity between the lowest `keep` and the highest `unrelated`, the camera
limits between the largest `keep` motion and the smallest `shake` / `zoom`. Measured (pixel
measure; shift as a fraction of the frame side, zoom as |scale - 1|):

    case            similarity     shift max  shift min  zoom max  zoom min
    static          1.000..1.000   0.0000               0.0000
    object_moves    0.921..0.983   0.0039               0.0078
    small_move      0.988..0.996   0.0000               0.0000
    object_appears  0.963..0.995   0.0000               0.0000
    shake           0.531..0.998              0.0117
    pan             0.202..0.450              0.0951
    zoom            0.405..0.942                                  0.0391
    unrelated       0.160..0.380

so pixel: min 0.65, max 0.998; camera: max_shift 0.008, max_zoom 0.02. The phash measure gives
static 0.969..1.000, object changes 0.531..1.000, unrelated 0.406..0.719: its band 0.75..0.965
keeps what it can. A 4-pixel shake with nothing else changing scores 0.998 on the pixel measure
(inside the band): only the camera check rejects it.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image
from scipy import ndimage

from simedit.train.video.motion import estimate_motion

W, H, MARGIN = 160, 120, 48
CASES = ("static", "object_moves", "small_move", "object_appears", "shake", "pan", "zoom", "unrelated")
KEEP = ("object_moves", "small_move", "object_appears")
EXPECTED = {"static": "near_identical", "shake": "camera_move", "pan": "camera_move", "zoom": "camera_move",
            "unrelated": "too_different", **{k: "keep" for k in KEEP}}


def _canvas(rng: np.random.Generator) -> np.ndarray:
    noise = rng.random((H + 2 * MARGIN, W + 2 * MARGIN, 3))
    tex = ndimage.gaussian_filter(noise, sigma=(3, 3, 0))
    tex = (tex - tex.min()) / (np.ptp(tex) + 1e-9)
    return (40 + 180 * tex).astype(np.float64)


def _put(canvas: np.ndarray, x: int, y: int, side: int, color: np.ndarray) -> np.ndarray:
    out = canvas.copy()
    yy, xx = np.mgrid[0:side, 0:side]
    disk = (yy - side / 2) ** 2 + (xx - side / 2) ** 2 <= (side / 2) ** 2
    region = out[MARGIN + y: MARGIN + y + side, MARGIN + x: MARGIN + x + side]
    region[disk] = color
    return out


def _view(canvas: np.ndarray, dx: int = 0, dy: int = 0, zoom: float = 1.0, rng=None) -> Image.Image:
    cw, ch = W / zoom, H / zoom
    x0, y0 = MARGIN + dx + (W - cw) / 2, MARGIN + dy + (H - ch) / 2
    crop = Image.fromarray(canvas.clip(0, 255).astype(np.uint8)).crop((x0, y0, x0 + cw, y0 + ch)).resize((W, H), Image.BICUBIC)
    a = np.asarray(crop, dtype=np.float64)
    if rng is not None:
        a = a + rng.normal(0, 3, a.shape)
    return Image.fromarray(a.clip(0, 255).astype(np.uint8))


def make_case(case: str, rng: np.random.Generator) -> tuple[Image.Image, Image.Image]:
    base = _canvas(rng)
    color = rng.integers(0, 256, 3).astype(np.float64)
    if case in ("object_moves", "small_move", "object_appears"):
        side = int(H * (rng.uniform(0.12, 0.25) if case != "small_move" else rng.uniform(0.07, 0.09)))
        x, y = int(rng.integers(0, W - side)), int(rng.integers(0, H - side))
        step = int(W * (rng.uniform(0.1, 0.4) if case == "object_moves" else rng.uniform(0.04, 0.06)))
        x2 = x + step if x + step + side <= W else x - step
        a = base if case == "object_appears" else _put(base, x, y, side, color)
        b = _put(base, x2 if case != "object_appears" else x, y, side, color)
        return _view(a, rng=rng), _view(b, rng=rng)
    if case == "static":
        return _view(base, rng=rng), _view(base, rng=rng)
    if case in ("shake", "pan"):
        r = rng.uniform(2, 6) if case == "shake" else rng.uniform(10, 40)
        ang = rng.uniform(0, 2 * np.pi)
        return _view(base, rng=rng), _view(base, int(round(r * np.cos(ang))), int(round(r * np.sin(ang))), rng=rng)
    if case == "zoom":
        return _view(base, rng=rng), _view(base, zoom=rng.uniform(1.05, 1.2), rng=rng)
    if case == "unrelated":
        return _view(base, rng=rng), _view(_canvas(rng), rng=rng)
    raise ValueError(case)


def measure(similarity: Callable[[Image.Image, Image.Image], float], n: int = 30, seed: int = 0,
            motion: bool = True) -> dict[str, dict[str, np.ndarray]]:
    """case -> {"similarity", "shift", "zoom"} arrays over n synthetic pairs."""
    rng = np.random.default_rng(seed)
    out: dict[str, dict[str, np.ndarray]] = {}
    for case in CASES:
        sims, shifts, zooms = [], [], []
        for _ in range(n):
            a, b = make_case(case, rng)
            sims.append(similarity(a, b))
            if motion:
                m = estimate_motion(a, b)
                shifts.append(m.shift)
                zooms.append(m.zoom)
        out[case] = {"similarity": np.array(sims), "shift": np.array(shifts), "zoom": np.array(zooms)}
    return out


def suggest(table: dict[str, dict[str, np.ndarray]]) -> tuple[float, float]:
    """(min_similarity, max_similarity) halfway between the classes."""
    keep = np.concatenate([table[k]["similarity"] for k in KEEP])
    hi = (keep.max() + table["static"]["similarity"].min()) / 2
    lo = (keep.min() + table["unrelated"]["similarity"].max()) / 2
    return float(round(lo, 3)), float(round(hi, 3))


def format_table(table: dict[str, dict[str, np.ndarray]]) -> str:
    lines = [f"{'case':<16}{'expected':<16}{'similarity min..max':>22}{'shift max':>11}{'zoom max':>10}"]
    for case, v in table.items():
        s = v["similarity"]
        shift = f"{v['shift'].max():.4f}" if v["shift"].size else "-"
        zoom = f"{v['zoom'].max():.4f}" if v["zoom"].size else "-"
        lines.append(f"{case:<16}{EXPECTED[case]:<16}{s.min():>10.3f} .. {s.max():<8.3f}{shift:>11}{zoom:>10}")
    return "\n".join(lines)
