"""Loading the base model and shaping the UNet for training.

InstructPix2Pix conditions on the source image by concatenating its latent to the noisy latent,
so its UNet takes 8 channels. A plain Stable Diffusion UNet (4 channels) is widened with
zero-initialized extra weights: at step 0 it behaves exactly like the text-to-image model and
learns to use the image from there (the InstructPix2Pix recipe). Region-aware training adds one
more zero-initialized channel carrying the edit mask.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from simedit.train.errors import TrainError
from simedit.train.trainer.base_model import read_base_folder


@dataclass
class Components:
    unet: nn.Module
    vae: nn.Module
    text_encoder: nn.Module
    tokenizer: object
    scheduler_config: dict  # the base pipeline's (inference) scheduler config
    base_kind: str  # "instruct_pix2pix" or "stable_diffusion"


def widen_conv_in(unet: nn.Module, in_channels: int) -> None:
    """Give the UNet `in_channels` input channels; new weights are zero (old behaviour kept)."""
    old = unet.conv_in
    if old.in_channels == in_channels:
        return
    if old.in_channels > in_channels:
        raise TrainError(f"cannot shrink the UNet input from {old.in_channels} to {in_channels} channels", field="model.base")
    new = nn.Conv2d(in_channels, old.out_channels, old.kernel_size, old.stride, old.padding)
    with torch.no_grad():
        new.weight.zero_()
        new.weight[:, : old.in_channels] = old.weight
        new.bias.copy_(old.bias)
    unet.conv_in = new.to(old.weight.device, old.weight.dtype)
    unet.register_to_config(in_channels=in_channels)


def load_components(base: str | Path, mask_channel: bool = False) -> Components:
    """Load a local diffusers pipeline folder; the UNet ends with 8 (+1 with the mask) channels."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    folder = read_base_folder(base)  # the JSON facts first: a wrong folder is one line, before any weights load
    base = folder.path
    try:
        unet = UNet2DConditionModel.from_pretrained(base, subfolder="unet")
        vae = AutoencoderKL.from_pretrained(base, subfolder="vae")
        text_encoder = CLIPTextModel.from_pretrained(base, subfolder="text_encoder")
        tokenizer = CLIPTokenizer.from_pretrained(base, subfolder="tokenizer")
    except (OSError, ValueError) as e:
        raise TrainError(f"cannot load the base pipeline: {e}".replace("\n", " ")[:200], file=str(base),
                         field="model.base") from None
    latent = unet.config.out_channels
    widen_conv_in(unet, 2 * latent + (1 if mask_channel else 0))
    if not mask_channel and unet.config.in_channels != 2 * latent:
        raise TrainError("base UNet has a mask channel; set model.mask_channel: true", field="model.mask_channel")
    return Components(unet, vae, text_encoder, tokenizer, folder.scheduler_config, folder.kind)


def cross_attention_parameters(unet: nn.Module) -> list[str]:
    """Names of the cross-attention (text -> image) parameters: `attn2` in diffusers' transformer blocks."""
    return [n for n, _ in unet.named_parameters() if ".attn2." in n]


def prepare_trainable(unet: nn.Module, freeze_cross_attention: bool) -> list[nn.Parameter]:
    """EditAction freezes cross-attention to keep InstructPix2Pix's text-image alignment."""
    frozen = set(cross_attention_parameters(unet)) if freeze_cross_attention else set()
    params = []
    for name, p in unet.named_parameters():
        p.requires_grad_(name not in frozen)
        if p.requires_grad:
            params.append(p)
    return params


def frozen_copy(unet: nn.Module) -> nn.Module:
    """The initial UNet for EditAction's regularization term; never trained."""
    ref = copy.deepcopy(unet).eval()
    ref.requires_grad_(False)
    return ref


def make_ema(params: list[nn.Parameter], decay: float):
    """diffusers' EMAModel over the trainable parameters (float32 copies on their device), as
    diffusers' train_instruct_pix2pix.py uses it: decay min(decay, (1 + k) / (10 + k)) after k
    updates. A checkpoint's EMA is loaded on the CPU: `place_ema` puts it back with the weights."""
    from diffusers.training_utils import EMAModel

    return EMAModel(params, decay=decay)


def place_ema(ema, params: list[nn.Parameter]) -> None:
    """Put the EMA copy on the weights' device (after loading a checkpoint: torch.load maps it to
    the CPU, and the next update would mix a CPU copy with GPU weights)."""
    device = params[0].device if params else None
    ema.to(device=device)
    wrong = {str(s.device) for s in ema.shadow_params} - {str(device)}
    if wrong:  # cannot happen after .to(); a bug if it does
        raise RuntimeError(f"EMA copy on {wrong}, weights on {device}")
