"""What one micro-batch may ask of one process's memory, known before anything loads.

The unit is one 32 x 32 latent: a 256 x 256 image through Stable Diffusion's VAE (8x), AURORA's
and EditAction's training size. A micro-batch of `batch_size` images at `resolution` is
`batch_size x (resolution / vae_factor / 32)^2` units, since the UNet's activations grow with the
latent pixel count (its attention faster still) and the VAE's and the pixels' with the image's.
What is known to fit: InstructPix2Pix trained 32 images at 256 per 80 GB A100 (gradient
checkpointing on), AURORA 16 per GPU. So:

- above `REFUSE_UNITS` (512: batch 512 at 256, 128 at 512, 32 at 1024, 8 at 2048 with Stable
  Diffusion's VAE) the run is refused: 16 times what fits on an 80 GB GPU fits on no accelerator,
  and a host would swap to a halt; the same global batch comes from `gradient_accumulation`
  (or more processes);
- above `WARN_UNITS` (64: twice InstructPix2Pix's per-GPU batch) a warning: it may fit on the
  largest GPUs with gradient checkpointing;
- never more than `MAX_BATCH` (4096) images, whatever the size: the data loader decodes and
  augments every one of them each step.

The config is checked with Stable Diffusion's VAE factor (8) when it loads, and again with the
base model's own VAE before training (the tiny test model's VAE downscales 2x, so the same rule
keeps it from a 1024 x 1024 latent at resolution 2048). The model's width is left out on
purpose: a rule a user can work out in their head is worth more than a precise one. No torch.
"""
from __future__ import annotations

from simedit.train.errors import TrainError

LATENT_UNIT = 32  # latent side of one unit
SD_VAE_FACTOR = 8
REFUSE_UNITS = 512
WARN_UNITS = 64
MAX_BATCH = 4096


def micro_batch_units(batch_size: int, resolution: int, vae_factor: int = SD_VAE_FACTOR) -> float:
    """32 x 32 latents a micro-batch is worth."""
    return batch_size * (resolution / vae_factor / LATENT_UNIT) ** 2


def check_micro_batch(batch_size: int, resolution: int, vae_factor: int = SD_VAE_FACTOR,
                      file: str | None = None) -> str | None:
    """TrainError above the refusal limit; a warning text above the warning limit, else None."""
    units = micro_batch_units(batch_size, resolution, vae_factor)
    if units > REFUSE_UNITS or batch_size > MAX_BATCH:
        fit = max(1, min(MAX_BATCH, int(REFUSE_UNITS / micro_batch_units(1, resolution, vae_factor))))
        raise TrainError(f"{batch_size} images of {resolution}x{resolution} per micro-batch cannot fit in one process "
                         f"(at most {fit}); lower batch_size, raise gradient_accumulation (same global batch)",
                         file=file, field="train.batch_size")
    if units > WARN_UNITS:
        return (f"{batch_size} images of {resolution}x{resolution} per micro-batch may not fit on one GPU; if it runs "
                f"out of memory, lower batch_size and raise gradient_accumulation, or enable gradient_checkpointing")
    return None
