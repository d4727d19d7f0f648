"""From mixed sources to training tensors. Item (stage, n) is a pure function of the seed: which
pair is drawn, its crop and its flip. A resumed run therefore sees exactly the data an
uninterrupted run would have seen, whatever the number of loader workers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, Sampler

from simedit.train.data.augment import AugmentConfig, augment
from simedit.train.data.sources import Unreadable
from simedit.train.errors import TrainError
from simedit.train.data.mixing import StagePlan, sample_rng

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
    """Indexed by (stage, n): the n-th draw of that stage's mixture, augmented."""

    def __init__(self, plan: StagePlan, aug: AugmentConfig, seed: int):
        self.plan, self.aug, self.seed = plan, aug, seed

    def __len__(self) -> int:  # only the sampler decides what is read
        return 2**62

    def __getitem__(self, key: tuple[int, int]) -> dict:
        stage, n = key
        mixture = self.plan.stages[stage].mixture
        skipped: list[tuple[str, str]] = []
        for attempt in range(MAX_ATTEMPTS):
            rng = sample_rng(self.seed, stage, n, attempt)
            k, i = mixture.draw(rng)
            try:
                ex = mixture.sources[k].load(i)
                out = augment(ex.source, ex.target, ex.instruction, ex.mask, self.aug, rng)
            except Unreadable as e:
                skipped.append((mixture.sources[k].name, str(e)))
                continue
            return {
                "source": to_tensor(out.source), "target": to_tensor(out.target),
                "mask": mask_to_tensor(out.mask, self.aug.resolution),
                "has_mask": out.mask is not None, "instruction": out.instruction,
                "source_name": ex.source_name, "skipped": skipped,
            }
        raise TrainError(f"{MAX_ATTEMPTS} draws in a row were unreadable (last: {skipped[-1][1]})", field="data")


def collate(items: list[dict]) -> dict:
    return {
        "source": torch.stack([x["source"] for x in items]),
        "target": torch.stack([x["target"] for x in items]),
        "mask": torch.stack([x["mask"] for x in items]),
        "has_mask": torch.tensor([x["has_mask"] for x in items]),
        "instruction": [x["instruction"] for x in items],
        "source_name": [x["source_name"] for x in items],
        "skipped": [s for x in items for s in x["skipped"]],
    }


@dataclass
class StepSampler(Sampler):
    """Keys for optimizer steps start..end, `per_step` = batch size x accumulation each."""

    plan: StagePlan
    start: int
    end: int
    per_step: int

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for step in range(self.start, self.end):
            stage, s = self.plan.locate(step)
            for k in range(self.per_step):
                yield stage, s * self.per_step + k

    def __len__(self) -> int:
        return (self.end - self.start) * self.per_step
