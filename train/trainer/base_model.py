"""A local diffusers pipeline folder, read from its JSON files only (no torch, no weights): what
the trainer and the evaluator must know before loading gigabytes: that it is a pipeline at all,
the kind of UNet (Stable Diffusion: 4 latent channels in; InstructPix2Pix: 8; with the edit-mask
channel: 9), the VAE's downscaling and the scheduler config. Nothing is downloaded."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simedit.render.common.text import read_text
from simedit.train.errors import TrainError

PREDICTION_TYPES = ("epsilon", "v_prediction", "sample")  # what the loss knows how to target


@dataclass
class BaseFolder:
    path: Path
    unet_in: int  # UNet input channels
    latent: int  # latent channels (the UNet's output)
    vae_factor: int  # image side / latent side
    scheduler_config: dict

    @property
    def kind(self) -> str:
        return "stable_diffusion" if self.unet_in == self.latent else "instruct_pix2pix"

    @property
    def mask_channel(self) -> bool:
        return self.unet_in == 2 * self.latent + 1


def _json(path: Path, field: str) -> dict:
    if not path.is_file():
        raise TrainError(f"the pipeline folder has no {path.parent.name}/{path.name}", file=str(path.parent.parent),
                         field=field)
    try:
        data = json.loads(read_text(path, "model config", TrainError))
    except json.JSONDecodeError as e:
        raise TrainError(f"not valid JSON ({e})", file=str(path), field=field) from None
    if not isinstance(data, dict):
        raise TrainError("expected a JSON object", file=str(path), field=field)
    return data


def _count(cfg: dict, key: str, path: Path, default: Any = None) -> int:
    value = cfg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TrainError(f"expected a positive integer {key} (got {str(value)[:40]})", file=str(path), field=key)
    return value


def read_base_folder(base: str | Path, field: str = "model.base") -> BaseFolder:
    """The folder's facts, or one TrainError line saying what is missing or wrong."""
    base = Path(base)
    if not (base / "model_index.json").is_file():
        raise TrainError("not a diffusers pipeline folder (no model_index.json); no model is downloaded, "
                         "give a local path (or run `train make-tiny-model`)", file=str(base), field=field)
    unet = _json(base / "unet" / "config.json", field)
    vae = _json(base / "vae" / "config.json", field)
    sched = _json(base / "scheduler" / "scheduler_config.json", field)
    unet_path = base / "unet" / "config.json"
    unet_in, latent = _count(unet, "in_channels", unet_path), _count(unet, "out_channels", unet_path, 4)
    if unet_in not in (latent, 2 * latent, 2 * latent + 1):
        raise TrainError(f"UNet has {unet_in} input channels; expected {latent} (Stable Diffusion), {2 * latent} "
                         f"(InstructPix2Pix) or {2 * latent + 1} (with a mask channel)", file=str(unet_path),
                         field="in_channels")
    blocks = vae.get("block_out_channels")
    if not isinstance(blocks, list) or not blocks:
        raise TrainError("expected a list block_out_channels", file=str(base / "vae" / "config.json"),
                         field="block_out_channels")
    return BaseFolder(base, unet_in, latent, 2 ** (len(blocks) - 1), sched)


def check_prediction_type(folder: BaseFolder) -> None:
    pt = folder.scheduler_config.get("prediction_type", "epsilon")
    if pt not in PREDICTION_TYPES:
        raise TrainError(f"the scheduler's prediction_type {str(pt)[:40]!r} is not one of {', '.join(PREDICTION_TYPES)}: "
                         "the loss target would be wrong", file=str(folder.path / "scheduler"), field="prediction_type")
