"""Frame-pair filters for video-derived edit pairs.

A pair of frames is a useful edit only if something visibly changed (not near-identical) and the
change is local (not a camera move, which changes almost every pixel). Each measure returns a
similarity in [0, 1] (1 = identical); a pair passes when

    min_similarity <= similarity <= max_similarity

AURORA filtered Action-Genome pairs by CLIP similarity; the default here needs no model:

- `pixel`: both frames are box-downscaled to `size` x `size` (which also averages out noise and
  compression artefacts), and a pixel counts as changed when any channel differs by more than
  `pixel_tolerance` (on [0, 1]). similarity = 1 - fraction of changed pixels. A camera pan or
  shake changes nearly every pixel of a textured scene, so it scores near 0; a hand moving one
  object changes a minority of pixels.
- `phash`: perceptual hash (DCT of a 32 x 32 grey image, top-left 8 x 8 block against its median);
  similarity = 1 - Hamming distance / 64.
- `embedding`: cosine similarity, mapped to [0, 1] as (1 + cos) / 2, of the image embeddings of
  a CLIP-style vision model loaded from a *local* path (transformers `AutoModel` with
  `get_image_features`, plus its image processor). Nothing is downloaded.

`best_pair` is EditWorld's idea: among candidate frames of a segment, take the pair with the
largest change (lowest similarity) that still passes the filter.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
from PIL import Image

from simedit.train.errors import TrainError

Similarity = Callable[[Image.Image, Image.Image], float]

MEASURES = ("pixel", "phash", "embedding")


@dataclass
class FilterConfig:
    measure: str = "pixel"
    min_similarity: float = 0.3  # below: too different (camera move, cut)
    max_similarity: float = 0.995  # above: near-identical (nothing happened)
    size: int = 32  # pixel measure: downscaled side
    pixel_tolerance: float = 0.1  # pixel measure: per-channel change that counts, on [0, 1]
    model_path: str | None = None  # embedding measure: local folder of a CLIP-style model

    def check(self) -> FilterConfig:
        if self.measure not in MEASURES:
            raise TrainError(f"unknown similarity measure {self.measure!r}; expected one of {', '.join(MEASURES)}",
                             field="filter.measure")
        if not 0.0 <= self.min_similarity <= self.max_similarity <= 1.0:
            raise TrainError(f"need 0 <= min_similarity ({self.min_similarity}) <= max_similarity "
                             f"({self.max_similarity}) <= 1", field="filter.min_similarity")
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
    cfg.check()
    if cfg.measure == "pixel":
        return lambda a, b: pixel_similarity(a, b, cfg.size, cfg.pixel_tolerance)
    if cfg.measure == "phash":
        return phash_similarity
    return EmbeddingSimilarity(cfg.model_path)  # type: ignore[arg-type]


def judge(similarity: float, cfg: FilterConfig) -> str | None:
    """None when the pair passes, else the reject reason."""
    if similarity > cfg.max_similarity:
        return "near_identical"
    if similarity < cfg.min_similarity:
        return "camera_move"
    return None


def best_pair(frames: Sequence[Image.Image], sim: Similarity, cfg: FilterConfig
              ) -> tuple[int, int, float] | tuple[None, str, float]:
    """EditWorld: the ordered pair (i < j) with the lowest similarity that still passes the filter.
    Returns (i, j, similarity), or (None, reason, similarity) when no pair passes (the reason of
    the first-last pair)."""
    if len(frames) < 2:
        return None, "too_few_frames", float("nan")
    best: tuple[int, int, float] | None = None
    for i, j in combinations(range(len(frames)), 2):
        s = sim(frames[i], frames[j])
        if judge(s, cfg) is None and (best is None or s < best[2]):
            best = (i, j, s)
    if best is not None:
        return best
    s = sim(frames[0], frames[-1])
    return None, judge(s, cfg) or "no_pair", s
