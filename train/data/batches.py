"""From mixed sources to training tensors. Item (stage, n) is a pure function of the seed: which
pair is drawn, its crop and its flip. A resumed run therefore sees exactly the data an
uninterrupted run would have seen, whatever the number of loader workers or processes: process r
of W reads its own slice of every global batch (`StepSampler`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, Sampler

from simedit.train.data.augment import AugmentConfig, apply, decide
from simedit.train.data.mixing import StagePlan, sample_rng
from simedit.train.data.sources import Unreadable
from simedit.train.errors import TrainError

MAX_ATTEMPTS = 64  # consecutive unreadable draws before we call the data broken


def to_tensor(img: Image.Image) -> torch.Tensor:
    """RGB PIL -> float CHW in [-1, 1] (what the VAE expects)."""
    a = np.asarray(img.convert("RGB"), dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(a).permute(2, 0, 1).contiguous()


def mask_to_tensor(mask: Image.Image | None, size: int) -> torch.Tensor:
    if mask is None:
        return torch.zeros(1, size, size)
    return torch.from_numpy(np.asarray(mask, dtype=np.float32) / 255.0)[None]


class PairStream(Dataset):
    """Indexed by (stage, n): the n-th draw of that stage's mixture, augmented. With `caches`
    (source name -> `LatentCache`), items carry the VAE moments of the augmented images instead
    of the images (pre-encoded once; see `data/latents.py`)."""

    def __init__(self, plan: StagePlan, aug: AugmentConfig, seed: int, caches: dict | None = None):
        self.plan, self.aug, self.seed, self.caches = plan, aug, seed, caches

    def __len__(self) -> int:  # only the sampler decides what is read
        return 2**62

    def __getitem__(self, key: tuple[int, int]) -> dict:
        stage, n = key
        mixture = self.plan.stages[stage].mixture
        skipped: list[tuple[str, str]] = []
        for attempt in range(MAX_ATTEMPTS):
            rng = sample_rng(self.seed, stage, n, attempt)
            # The first attempt follows the epoch order (no replacement); a stand-in for an
            # unreadable pair is drawn at random.
            k, i = mixture.item(self.seed, stage, n) if attempt == 0 else mixture.draw(rng)
            src = mixture.sources[k]
            try:
                d = decide(src.instruction(i), self.aug, rng)
                item = self._cached(src, i, d) if self.caches is not None else self._loaded(src, i, d)
            except Unreadable as e:
                skipped.append((src.name, str(e)))
                continue
            item.update({"instruction": d.instruction, "action": src.action(i), "source_name": src.name,
                         "key": (stage, n), "skipped": skipped})
            return item
        raise TrainError(f"{MAX_ATTEMPTS} draws in a row were unreadable (last: {skipped[-1][1]})", field="data")

    def _loaded(self, src, i: int, d) -> dict:
        ex = src.load(i)
        out = apply(ex.source, ex.target, ex.mask, d, self.aug)
        return {"source": to_tensor(out.source), "target": to_tensor(out.target),
                "mask": mask_to_tensor(out.mask, self.aug.resolution), "has_mask": out.mask is not None}

    def _cached(self, src, i: int, d) -> dict:
        moments, mask, has_mask = self.caches[src.name].get(i, d.flip)
        return {"moments": moments, "latent_mask": mask, "has_mask": has_mask}


def collate(items: list[dict]) -> dict:
    out = {
        "has_mask": torch.tensor([x["has_mask"] for x in items]),
        "instruction": [x["instruction"] for x in items],
        "action": [x["action"] for x in items],
        "source_name": [x["source_name"] for x in items],
        "key": [x["key"] for x in items],
        "skipped": [s for x in items for s in x["skipped"]],
    }
    for name in ("source", "target", "mask", "moments", "latent_mask"):
        if name in items[0]:
            out[name] = torch.stack([x[name] for x in items])
    return out


@dataclass
class StepSampler(Sampler):
    """Keys for optimizer steps start..end of process `rank` of `world`. A step draws
    `batch_size * accumulation * world` items; micro-batch m of process r holds items
    m*B*W + r*B ... + B-1 of the step, so W processes at batch B see exactly the items one
    process sees at batch B*W."""

    plan: StagePlan
    start: int
    end: int
    batch_size: int
    accumulation: int = 1
    rank: int = 0
    world: int = 1

    @property
    def per_step(self) -> int:
        return self.batch_size * self.accumulation * self.world

    def __iter__(self) -> Iterator[tuple[int, int]]:
        b, w = self.batch_size, self.world
        for step in range(self.start, self.end):
            stage, s = self.plan.locate(step)
            for m in range(self.accumulation):
                first = s * self.per_step + m * b * w + self.rank * b
                for j in range(b):
                    yield stage, first + j

    def __len__(self) -> int:
        return (self.end - self.start) * self.batch_size * self.accumulation
