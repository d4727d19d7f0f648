"""The training objective on one micro-batch: InstructPix2Pix noise prediction (+ EditAction).

Every random draw of an item (the VAE latent sample, the noise, the timestep, the conditioning
and mask dropout) comes from a generator seeded by (seed, the item's key): an item's loss term
does not depend on which process, micro-batch or batch size it landed in, so W processes at
batch B reproduce one process at batch B*W, and a resumed run reproduces an uninterrupted one.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from simedit.train.trainer import losses
from simedit.train.trainer.validate import encode_text

@dataclass
class Frozen:
    """What the objective uses but never trains."""

    vae: Any
    text_encoder: Any
    tokenizer: Any
    noise_scheduler: Any
    null_text: torch.Tensor
    weight_dtype: torch.dtype = torch.float32
    ref_unet: Any = None
    autocast: Any = field(default=contextlib.nullcontext)  # () -> context manager


@dataclass
class Draws:
    latent_eps: torch.Tensor  # B x C x h x w
    noise: torch.Tensor  # B x C x h x w
    timesteps: torch.Tensor  # B
    u_drop: torch.Tensor  # B, conditioning dropout
    u_mask: torch.Tensor  # B, mask dropout


def item_seed(seed: int, key: tuple[int, int]) -> int:
    state = np.random.SeedSequence([seed, 11, *key]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 32 | int(state[1])


def draw(seed: int, keys: list[tuple[int, int]], latent_shape: tuple[int, ...], num_timesteps: int) -> Draws:
    eps, noise, t, u = [], [], [], []
    for key in keys:
        g = torch.Generator().manual_seed(item_seed(seed, tuple(key)))
        eps.append(torch.randn(latent_shape, generator=g))
        noise.append(torch.randn(latent_shape, generator=g))
        t.append(torch.randint(0, num_timesteps, (1,), generator=g))
        u.append(torch.rand(2, generator=g))
    us = torch.stack(u)
    return Draws(torch.stack(eps), torch.stack(noise), torch.cat(t), us[:, 0], us[:, 1])


def _moments(frozen: Frozen, batch: dict, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(source mean, target mean, target std): from the latent cache, or encoded now."""
    if "moments" in batch:
        m = batch["moments"].to(device, torch.float32)  # B x 2 sides x 2C x h x w
        mean_s = m[:, 0].chunk(2, dim=1)[0]
        mean_t, logvar_t = m[:, 1].chunk(2, dim=1)
        return mean_s, mean_t, torch.exp(0.5 * logvar_t.clamp(-30.0, 20.0))
    with torch.no_grad():
        vae, dt = frozen.vae, frozen.weight_dtype
        src = vae.encode(batch["source"].to(device, dt)).latent_dist
        tgt = vae.encode(batch["target"].to(device, dt)).latent_dist
    return src.mean.float(), tgt.mean.float(), tgt.std.float()


def target_for(prediction_type: str, scheduler, latents, noise, t) -> torch.Tensor:
    if prediction_type == "epsilon":
        return noise
    if prediction_type == "v_prediction":
        return scheduler.get_velocity(latents, noise, t)
    if prediction_type == "sample":
        return latents
    raise ValueError(f"unknown prediction_type {prediction_type!r}")  # base_model.PREDICTION_TYPES: checked first


def micro_batch_loss(unet, frozen: Frozen, batch: dict, seed: int, cfg, negatives: list[str | None] | None = None
                     ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(loss, parts): the parts are detached means over the micro-batch ("static", and "action" /
    "reg" when those terms ran). `cfg` is the whole training config."""
    dev = frozen.null_text.device
    mean_s, mean_t, std_t = _moments(frozen, batch, dev)
    sch = frozen.noise_scheduler
    d = draw(seed, batch["key"], tuple(mean_t.shape[1:]), sch.config.num_train_timesteps)
    latents = (mean_t + std_t * d.latent_eps.to(dev)) * frozen.vae.config.scaling_factor
    image = mean_s  # unscaled mode of the source, as InstructPix2Pix does
    noise, t = d.noise.to(dev), d.timesteps.to(dev)
    noisy = sch.add_noise(latents, noise, t)
    with torch.no_grad():
        text = encode_text(frozen.tokenizer, frozen.text_encoder, batch["instruction"], dev)
    # Conditioning dropout (InstructPix2Pix): with p = dropout, [0,p) drops text, [p,2p) both,
    # [2p,3p) the image. This trains the unconditional branches classifier-free guidance needs.
    p, u = cfg.train.conditioning_dropout, d.u_drop.to(dev)
    drop_text = u < 2 * p
    keep_image = ~((u >= p) & (u < 3 * p))
    text = torch.where(drop_text[:, None, None], frozen.null_text.expand_as(text), text)
    image = image * keep_image[:, None, None, None]
    parts = [noisy, image]
    if cfg.model.mask_channel:
        # Region-aware: the mask covering the change; blanked for pairs without one, for a share
        # of steps (so free-form editing still works), and when the image is dropped.
        if "latent_mask" in batch:
            m = batch["latent_mask"].to(dev, torch.float32)
        else:
            m = F.interpolate(batch["mask"].to(dev), size=latents.shape[2:], mode="area")
        keep_m = (d.u_mask.to(dev) >= cfg.model.mask_dropout) & batch["has_mask"].to(dev) & keep_image
        parts.append(m * keep_m[:, None, None, None])
    model_in = torch.cat(parts, dim=1)
    target = target_for(sch.config.prediction_type, sch, latents, noise, t)
    ea = cfg.editaction
    valid = None
    if ea.action_weight > 0 and negatives is not None:
        valid = torch.tensor([n is not None and not dt for n, dt in zip(negatives, drop_text.tolist())], device=dev)
    if valid is not None and valid.any():
        # One forward pass for the instruction and its negative (same noise and timestep): a
        # data-parallel model must see one forward per backward.
        with torch.no_grad():
            neg_text = encode_text(frozen.tokenizer, frozen.text_encoder, [n or "" for n in negatives], dev)
        both = unet(torch.cat([model_in, model_in]), torch.cat([t, t]),
                    encoder_hidden_states=torch.cat([text, neg_text])).sample
        pred, pred_neg = both.chunk(2)
    else:
        pred, pred_neg = unet(model_in, t, encoder_hidden_states=text).sample, None
    mse = losses.per_example_mse(pred, target)
    loss = mse.mean()
    stats = {"static": loss.detach()}
    if pred_neg is not None:
        act = losses.action_loss(mse, losses.per_example_mse(pred_neg, target))[valid].mean()
        loss = loss + ea.action_weight * act
        stats["action"] = act.detach()
    if ea.reg_weight > 0:
        with torch.no_grad(), frozen.autocast():
            ref = frozen.ref_unet(model_in, t, encoder_hidden_states=text).sample
        reg = losses.per_example_mse(pred, ref).mean()
        loss = loss + ea.reg_weight * reg
        stats["reg"] = reg.detach()
    return loss, stats
