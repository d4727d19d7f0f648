"""Validation edits on fixed examples, saved as image grids (one row per example: source,
target if known, edit). The sampler is InstructPix2Pix's three-way classifier-free guidance
(text scale s_T, image scale s_I) and also feeds the mask channel of region-aware models, which
the stock diffusers pipeline cannot."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from simedit.train.data.batches import mask_to_tensor, to_tensor
from simedit.render.common.images import save_image


@dataclass
class ValExample:
    source: Image.Image  # already resized/cropped to the training resolution
    instruction: str
    target: Image.Image | None = None
    mask: Image.Image | None = None


@torch.no_grad()
def encode_text(tokenizer, text_encoder, texts: list[str], device) -> torch.Tensor:
    ids = tokenizer(texts, padding="max_length", max_length=tokenizer.model_max_length,
                    truncation=True, return_tensors="pt").input_ids
    return text_encoder(ids.to(device))[0]


@torch.no_grad()
def edit(unet, vae, text_encoder, tokenizer, scheduler, sources: torch.Tensor, instructions: list[str],
         masks: torch.Tensor | None, steps: int, guidance_scale: float, image_guidance_scale: float,
         generator: torch.Generator) -> torch.Tensor:
    """sources: Bx3xHxW in [-1,1]; returns edits in [-1,1]."""
    device, dtype = sources.device, next(unet.parameters()).dtype
    b = sources.shape[0]
    text = encode_text(tokenizer, text_encoder, instructions, device)
    null = encode_text(tokenizer, text_encoder, [""], device).expand(b, -1, -1)
    image = vae.encode(sources.to(vae.dtype)).latent_dist.mode().float()  # unscaled, like the diffusers IP2P pipeline
    # Order as in StableDiffusionInstructPix2PixPipeline: (text+image, image only, neither).
    text3 = torch.cat([text, null, null])
    image3 = torch.cat([image, image, torch.zeros_like(image)])
    if unet.config.in_channels == 2 * image.shape[1] + 1:
        m = masks if masks is not None else torch.zeros(b, 1, *sources.shape[2:], device=device)
        m = torch.nn.functional.interpolate(m, size=image.shape[2:], mode="area")
        image3 = torch.cat([image3, torch.cat([m, m, torch.zeros_like(m)])], dim=1)
    scheduler.set_timesteps(steps, device=device)
    latents = torch.randn(image.shape, generator=generator).to(device) * scheduler.init_noise_sigma
    for t in scheduler.timesteps:
        x = scheduler.scale_model_input(torch.cat([latents] * 3), t)
        eps = unet(torch.cat([x, image3], dim=1).to(dtype), t, encoder_hidden_states=text3.to(dtype)).sample.float()
        e_full, e_img, e_none = eps.chunk(3)
        eps = e_none + guidance_scale * (e_full - e_img) + image_guidance_scale * (e_img - e_none)
        latents = scheduler.step(eps, t, latents, generator=generator).prev_sample
    return vae.decode((latents / vae.config.scaling_factor).to(vae.dtype)).sample.float().clamp(-1, 1)


def to_pil(x: torch.Tensor) -> Image.Image:
    a = ((x.detach().float().cpu().permute(1, 2, 0).numpy() + 1) * 127.5).round().clip(0, 255).astype(np.uint8)
    return Image.fromarray(a)


def save_grid(rows: list[list[Image.Image]], path: str | Path) -> Path:
    size = rows[0][0].size
    cols = max(len(r) for r in rows)
    grid = Image.new("RGB", (cols * size[0], len(rows) * size[1]), "white")
    for y, row in enumerate(rows):
        for x, im in enumerate(row):
            grid.paste(im.resize(size), (x * size[0], y * size[1]))
    return save_image(grid, path, mkdir=True)  # atomic: a grid is never seen half written


def run_validation(components, unet, scheduler, examples: list[ValExample], cfg, path: Path, seed: int, device) -> Path:
    """Edit every example with the config's guidance scales and save the grid."""
    was_training = unet.training
    unet.eval()
    sources = torch.stack([to_tensor(e.source) for e in examples]).to(device)
    masks = None
    if any(e.mask is not None for e in examples):
        masks = torch.stack([mask_to_tensor(e.mask, e.source.size[0]) for e in examples]).to(device)
    gen = torch.Generator().manual_seed(seed)  # fixed: grids at different steps are comparable
    out = edit(unet, components.vae, components.text_encoder, components.tokenizer, scheduler, sources,
               [e.instruction for e in examples], masks, cfg.inference_steps, cfg.guidance_scale,
               cfg.image_guidance_scale, gen)
    unet.train(was_training)
    rows = [[e.source] + ([e.target] if e.target is not None else []) + [to_pil(o)] for e, o in zip(examples, out)]
    return save_grid(rows, path)
