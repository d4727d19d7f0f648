"""Conditioning dropout, measured where it acts: at the UNet's input inside the training loss.

InstructPix2Pix trains the unconditional branches that classifier-free guidance needs by
dropping, per item, the text (5%), the source image (5%) or both (5%). A trainer that never
applies the dropout still trains and its loss still falls, but guidance at inference then
extrapolates from branches that were never trained. So these tests count, over many items, what
the real tiny UNet (`trainer.tiny`) was given by `micro_batch_loss`: a forward pre-hook records
its inputs; an item trained without text got the empty prompt's encoding, one trained without
the image got a zero source latent.
"""
from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass
from typing import Any

import torch

from simedit.train.config import Config, parse_config
from simedit.train.trainer.objective import Frozen, micro_batch_loss
from simedit.train.trainer.validate import encode_text

torch.set_num_threads(1)

N_ITEMS = 1500  # the standard error of a 5% share over 1500 items is 0.56 points
CHUNK = 500
LATENT = 4  # latent side: the dropout does not depend on it, a small one keeps the test fast


@dataclass
class Tiny:
    unet: Any
    frozen: Frozen


@functools.cache
def tiny() -> Tiny:
    """The tiny InstructPix2Pix components (random weights, nothing downloaded), built once per
    process, and the objective's frozen parts as the trainer makes them."""
    from diffusers import DDPMScheduler

    from simedit.train.trainer.tiny import build_tiny_pipeline

    with tempfile.TemporaryDirectory() as tok:
        pipe = build_tiny_pipeline(tok, seed=0)
    pipe.unet.train()
    for part in (pipe.vae, pipe.text_encoder):
        part.eval().requires_grad_(False)
    with torch.no_grad():
        null_text = encode_text(pipe.tokenizer, pipe.text_encoder, [""], "cpu")
    frozen = Frozen(pipe.vae, pipe.text_encoder, pipe.tokenizer, DDPMScheduler.from_config(pipe.scheduler.config),
                    null_text)
    return Tiny(pipe.unet, frozen)


def config(**train: Any) -> Config:
    """A training config as `train` reads it (the paths are never opened here)."""
    model = train.pop("model", {})
    return parse_config({
        "model": {"base": "tiny", **model},
        "data": {"datasets": [{"name": "run", "type": "render", "path": "run"}], "stages": [{"mix": {"run": 1}}],
                 "resolution": 16},
        "train": {"batch_size": 2, "max_steps": 10, **{k: v for k, v in train.items() if k != "editaction"}},
        "editaction": train.get("editaction", {}),
        "output_dir": "out", "seed": 3,
    })


def latent_batch(keys: list[tuple[int, int]], generator: torch.Generator, side: int = LATENT) -> dict[str, Any]:
    """A micro-batch in the latent cache's layout (B x source/target x mean,logvar x h x w), so no
    VAE pass is needed; the source latent is never zero, so a zero one can only be a dropped image."""
    b = len(keys)
    moments = torch.randn(b, 2, 8, side, side, generator=generator)
    moments[:, 0, :4] = moments[:, 0, :4].abs() + 0.5
    moments[:, :, 4:] = -4.0  # small latent std
    return {"key": keys, "moments": moments, "has_mask": torch.zeros(b, dtype=torch.bool),
            "instruction": [f"move the red square to the left {i % 7}" for i in range(b)],
            "action": ["location.absolute"] * b}


def what_the_unet_saw(dropout: float, n_items: int = N_ITEMS, chunk: int = CHUNK, seed: int = 3
                      ) -> dict[str, torch.Tensor]:
    """Per item, as the UNet received it: was the text dropped, was the source image dropped."""
    parts, cfg = tiny(), config(conditioning_dropout=dropout)
    null = parts.frozen.null_text[0]
    seen: dict[str, list[torch.Tensor]] = {"text": [], "image": []}

    def hook(module, args, kwargs):
        model_in, text = args[0], kwargs["encoder_hidden_states"]
        seen["text"].append((text - null).abs().flatten(1).amax(1) < 1e-6)
        seen["image"].append((model_in[:, 4:8] == 0).flatten(1).all(1))

    handle = parts.unet.register_forward_pre_hook(hook, with_kwargs=True)
    g = torch.Generator().manual_seed(0)
    try:
        with torch.no_grad():
            for start in range(0, n_items, chunk):
                keys = [(0, k) for k in range(start, min(start + chunk, n_items))]
                micro_batch_loss(parts.unet, parts.frozen, latent_batch(keys, g), seed, cfg)
    finally:
        handle.remove()
    return {k: torch.cat(v) for k, v in seen.items()}


def shares(seen: dict[str, torch.Tensor]) -> dict[str, float]:
    text, image = seen["text"], seen["image"]
    return {"text only": (text & ~image).float().mean().item(),
            "image only": (image & ~text).float().mean().item(),
            "both": (text & image).float().mean().item()}


def test_the_instructpix2pix_dropout_reaches_the_unet():
    p = config().train.conditioning_dropout
    assert p == 0.05, "the default is InstructPix2Pix's: 5% without text, 5% without image, 5% without both"
    seen = what_the_unet_saw(p)
    assert len(seen["text"]) == N_ITEMS  # one forward per item
    got = shares(seen)
    for part, share in got.items():  # each within four standard errors of 5%
        assert abs(share - p) < 0.0225, (part, got)


def test_the_shares_follow_the_config():
    got = shares(what_the_unet_saw(0.15, n_items=600))
    assert all(abs(share - 0.15) < 0.058 for share in got.values()), got  # four standard errors
    assert shares(what_the_unet_saw(0.0, n_items=100)) == {"text only": 0.0, "image only": 0.0, "both": 0.0}


def test_an_items_dropout_does_not_depend_on_its_micro_batch():
    """Item k is dropped (or not) whichever micro-batch it lands in: its draws come from its key,
    so two processes at batch B drop the same items as one process at batch 2B."""
    whole = what_the_unet_saw(0.2, n_items=150, chunk=150)
    split = what_the_unet_saw(0.2, n_items=150, chunk=37)
    assert whole["text"].any() and whole["image"].any()
    assert torch.equal(whole["text"], split["text"]) and torch.equal(whole["image"], split["image"])
    other_seed = what_the_unet_saw(0.2, n_items=150, chunk=150, seed=4)
    assert not torch.equal(whole["text"], other_seed["text"])


def test_a_dropped_text_is_the_empty_prompt_guidance_uses():
    """Classifier-free guidance at inference contrasts the instruction with the empty prompt:
    the text the UNet learned without (what the hook compares with) is that encoding, not zeros."""
    parts = tiny()
    null = encode_text(parts.frozen.tokenizer, parts.frozen.text_encoder, [""], "cpu")
    assert null.abs().amax() > 0 and torch.allclose(parts.frozen.null_text, null)
