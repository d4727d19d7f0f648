"""A tiny InstructPix2Pix pipeline built from configs (random weights), so the whole loop runs on
a CPU with nothing downloaded. The tokenizer is a character-level CLIP BPE (every byte is a token,
no merges), written by the code."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from simedit.train.errors import TrainError


def _bytes_to_unicode() -> list[str]:
    # The CLIP/GPT-2 byte -> printable character table.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def write_tiny_tokenizer(out_dir: str | Path, max_length: int = 77):
    """A CLIPTokenizer whose vocab is the 256 byte characters (plain and word-final)."""
    from transformers import CLIPTokenizer

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    chars = _bytes_to_unicode()
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": i + 256 for i, c in enumerate(chars)})
    vocab["<|startoftext|>"], vocab["<|endoftext|>"] = 512, 513
    (out / "vocab.json").write_text(json.dumps(vocab))
    (out / "merges.txt").write_text("#version: 0.2\n")
    tok = CLIPTokenizer(str(out / "vocab.json"), str(out / "merges.txt"), model_max_length=max_length)
    tok.save_pretrained(str(out))
    return tok


def build_tiny_pipeline(tmp_tokenizer_dir: str | Path, seed: int = 0, sample_size: int = 32):
    """The components of a tiny StableDiffusionInstructPix2PixPipeline (8-channel UNet)."""
    from diffusers import AutoencoderKL, EulerAncestralDiscreteScheduler, StableDiffusionInstructPix2PixPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=sample_size // 2, in_channels=8, out_channels=4, layers_per_block=1,
        block_out_channels=(32, 64), down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32,
        attention_head_dim=8, norm_num_groups=32,
    )
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(32, 64),
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
        layers_per_block=1, norm_num_groups=32, sample_size=sample_size,
    )
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=514, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=77, bos_token_id=512, eos_token_id=513, pad_token_id=513,
    ))
    tokenizer = write_tiny_tokenizer(tmp_tokenizer_dir)
    scheduler = EulerAncestralDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000)
    return StableDiffusionInstructPix2PixPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )


def make_tiny_model(out_dir: str | Path, seed: int = 0) -> Path:
    """Write a tiny pipeline that `StableDiffusionInstructPix2PixPipeline.from_pretrained` loads."""
    import tempfile

    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise TrainError("output folder exists and is not empty", file=str(out))
    with tempfile.TemporaryDirectory() as tmp:
        pipe = build_tiny_pipeline(tmp, seed)
        pipe.save_pretrained(str(out), safe_serialization=True)
    return out
