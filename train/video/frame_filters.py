"""Frame-pair filters for video-derived edit pairs.

A pair of frames is a useful edit when something visibly changed, the change is local, and the
camera did not move: AURORA's annotators discarded Action-Genome pairs with even slight camera
changes. Every pair (the first and last frame, and each candidate of `best_pair`) goes through
the same two checks:

1. **camera motion** (`motion.py`): the global translation (phase correlation) and zoom
   (Fourier-Mellin) between the frames. More than `max_shift` of the frame side or `max_zoom`
   (|log scale|) is a camera move: a pan, a zoom, and a hand-held shake of a few pixels.
2. **similarity** in [0, 1] (1 = identical) between `min_similarity` (below: a cut, or so much
   change that it is no single edit) and `max_similarity` (above: nothing visible happened).
   Each measure has its own thresholds (`THRESHOLDS`), calibrated on synthetic clips
   (`calibration.py`: static camera with sensor noise, objects moving, appearing and vanishing,
   shakes, pans, zooms and unrelated frames; `video-pairs calibrate` prints the table):

   - `pixel`: both frames box-downscaled to `size` x `size`; a pixel counts as changed when a
     channel differs by more than `pixel_tolerance` (on [0, 1]); similarity = 1 - fraction changed.
   - `phash`: perceptual hash (DCT of a 32 x 32 grey image, top-left 8 x 8 block against its
     median); similarity = 1 - Hamming distance / 64. Unrelated frames score up to 0.72 and an
     object moving scores as low as 0.53 on the synthetic clips: the classes overlap, so its band
     (0.75..0.965) rejects every cut and every static pair but keeps only half of the object
     changes (the pixel measure keeps all of them). Prefer `pixel`.
   - `embedding`: (1 + cosine) / 2 of the image embeddings of a CLIP-style model from a *local*
     folder. No embedding model ships with this project, so it has no built-in thresholds: give
     them, or measure them with `video-pairs calibrate --measure embedding --model-path DIR`.

`best_pair` is EditWorld's idea: among candidate frames of a clip, the pair with the largest
change (lowest similarity) that passes both checks.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import combinations
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image
from pydantic import ConfigDict
from pydantic.dataclasses import dataclass

from simedit.render.common.fields import integer, number
from simedit.train.errors import TrainError
from simedit.train.video.motion import estimate_motion

Similarity = Callable[[Image.Image, Image.Image], float]

MEASURES = ("pixel", "phash", "embedding")
# (min_similarity, max_similarity) per measure, from `calibration.py` (see its docstring).
THRESHOLDS: dict[str, tuple[float, float] | None] = {
    "pixel": (0.65, 0.998),
    "phash": (0.75, 0.965),
    "embedding": None,  # calibrate with your model: `video-pairs calibrate --measure embedding`
}
MAX_SHIFT = 0.008  # of the frame side: a 2-px shake of a 160-px frame is 0.0125
MAX_ZOOM = 0.02  # |scale - 1|: a 2% zoom


@dataclass(config=ConfigDict(extra="forbid"))
class FilterConfig:
    """Checked when made (pydantic): every number finite, of its type and in range, so a bad
    option (`--size 0`, `max_shift: .nan`) is refused before a video is opened."""

    measure: Literal["pixel", "phash", "embedding"] = "pixel"
    min_similarity: number(ge=0, le=1) | None = None  # None: the measure's calibrated default
    max_similarity: number(ge=0, le=1) | None = None
    size: integer(ge=4, le=1024) = 32  # pixel measure: downscaled side
    pixel_tolerance: number(ge=0, le=1) = 0.1  # pixel measure: per-channel change that counts, on [0, 1]
    model_path: str | None = None  # embedding measure: local folder of a CLIP-style model
    camera_motion: bool = True  # reject pairs whose camera moved
    max_shift: number(ge=0, le=1) = MAX_SHIFT  # of the frame side
    max_zoom: number(ge=0, le=10) = MAX_ZOOM  # |scale - 1|

    def bounds(self) -> tuple[float, float]:
        default = THRESHOLDS.get(self.measure)
        lo = self.min_similarity if self.min_similarity is not None else (default[0] if default else None)
        hi = self.max_similarity if self.max_similarity is not None else (default[1] if default else None)
        if lo is None or hi is None:
            raise TrainError(f"the {self.measure} measure has no calibrated thresholds here: give --min-similarity and "
                             f"--max-similarity, or measure them with `video-pairs calibrate --measure {self.measure}`",
                             field="filter.min_similarity")
        return lo, hi

    def check(self) -> FilterConfig:
        if self.measure not in MEASURES:
            raise TrainError(f"unknown similarity measure {self.measure!r}; expected one of {', '.join(MEASURES)}",
                             field="filter.measure")
        lo, hi = self.bounds()
        if not 0.0 <= lo <= hi <= 1.0:
            raise TrainError(f"need 0 <= min_similarity ({lo}) <= max_similarity ({hi}) <= 1", field="filter.min_similarity")
        if self.measure == "embedding" and not self.model_path:
            raise TrainError("the embedding measure needs a local model path", field="filter.model_path")
        return self


def _small(img: Image.Image, size: int) -> np.ndarray:
    return np.asarray(img.convert("RGB").resize((size, size), Image.BOX), dtype=np.float32) / 255.0


def pixel_similarity(a: Image.Image, b: Image.Image, size: int = 32, tolerance: float = 0.1) -> float:
    """1 - fraction of downscaled pixels whose largest channel difference exceeds `tolerance`."""
    d = np.abs(_small(a, size) - _small(b, size)).max(axis=-1)
    return float(1.0 - (d > tolerance).mean())


def phash(img: Image.Image) -> np.ndarray:
    """64-bit perceptual hash as a boolean array."""
    from scipy.fft import dctn

    g = np.asarray(img.convert("L").resize((32, 32), Image.BOX), dtype=np.float32)
    low = dctn(g, norm="ortho")[:8, :8]
    return (low > np.median(low)).ravel()


def phash_similarity(a: Image.Image, b: Image.Image) -> float:
    return float(1.0 - np.count_nonzero(phash(a) != phash(b)) / 64.0)


class EmbeddingSimilarity:
    """Cosine similarity of image embeddings from a local CLIP-style model, mapped to [0, 1]."""

    def __init__(self, model_path: str | Path, device: str = "cpu"):
        path = Path(model_path)
        if not path.is_dir():
            raise TrainError("embedding model folder not found (only local paths are read)", file=str(path),
                             field="filter.model_path")
        import torch
        from transformers import AutoImageProcessor, AutoModel

        try:
            self.processor = AutoImageProcessor.from_pretrained(str(path), local_files_only=True)
            self.model = AutoModel.from_pretrained(str(path), local_files_only=True).to(device).eval()
        except (OSError, ValueError) as e:
            raise TrainError(f"cannot load the embedding model: {e}".replace("\n", " "), file=str(path),
                             field="filter.model_path") from None
        if not hasattr(self.model, "get_image_features"):
            raise TrainError("model has no get_image_features (expected a CLIP-style model)", file=str(path),
                             field="filter.model_path")
        self.device, self._torch = device, torch
        self._cache: dict[int, tuple[Image.Image, np.ndarray]] = {}  # keeps the image: ids stay unique

    def embed(self, img: Image.Image) -> np.ndarray:
        key = id(img)  # frames of one segment are compared pairwise: embed each once
        if key not in self._cache:
            with self._torch.no_grad():
                x = self.processor(images=img.convert("RGB"), return_tensors="pt")["pixel_values"].to(self.device)
                f = self.model.get_image_features(pixel_values=x)
                f = getattr(f, "pooler_output", f)
                v = f[0].float().cpu().numpy()
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[key] = (img, v / (np.linalg.norm(v) + 1e-12))
        return self._cache[key][1]

    def __call__(self, a: Image.Image, b: Image.Image) -> float:
        return float((1.0 + np.dot(self.embed(a), self.embed(b))) / 2.0)


def make_similarity(cfg: FilterConfig) -> Similarity:
    if cfg.measure not in MEASURES:
        cfg.check()
    if cfg.measure == "pixel":
        return lambda a, b: pixel_similarity(a, b, cfg.size, cfg.pixel_tolerance)
    if cfg.measure == "phash":
        return phash_similarity
    if not cfg.model_path:
        raise TrainError("the embedding measure needs a local model path", field="filter.model_path")
    return EmbeddingSimilarity(cfg.model_path)


def judge(similarity: float, cfg: FilterConfig) -> str | None:
    """The similarity check alone: None when it passes, else the reject reason."""
    lo, hi = cfg.bounds()
    if similarity > hi:
        return "near_identical"
    if similarity < lo:
        return "too_different"
    return None


def judge_pair(a: Image.Image, b: Image.Image, sim: Similarity, cfg: FilterConfig) -> tuple[str | None, float]:
    """Both checks on one pair: (None or the reject reason, similarity)."""
    s = sim(a, b)
    reason = judge(s, cfg)
    if reason != "near_identical" and cfg.camera_motion:  # identical frames need no motion estimate
        m = estimate_motion(a, b)
        if m.shift > cfg.max_shift or m.zoom > cfg.max_zoom:
            return "camera_move", s
    return reason, s


def best_pair(frames: Sequence[Image.Image], sim: Similarity, cfg: FilterConfig
              ) -> tuple[int, int, float] | tuple[None, str, float]:
    """EditWorld: the ordered pair (i < j) with the lowest similarity that passes both checks.
    Returns (i, j, similarity), or (None, reason, similarity) when no pair passes (the reason of
    the first-last pair)."""
    if len(frames) < 2:
        return None, "too_few_frames", float("nan")
    best: tuple[int, int, float] | None = None
    first_last: tuple[str | None, float] | None = None
    for i, j in combinations(range(len(frames)), 2):
        reason, s = judge_pair(frames[i], frames[j], sim, cfg)
        if (i, j) == (0, len(frames) - 1):
            first_last = (reason, s)
        if reason is None and (best is None or s < best[2]):
            best = (i, j, s)
    if best is not None:
        return best
    reason, s = first_last  # type: ignore[misc]
    return None, reason or "no_pair", s
