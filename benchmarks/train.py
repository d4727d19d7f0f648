"""Training speed: the full `train` loop against the UNet-only step at the same batch, in one run.

    python benchmarks/train.py              # CPU: the tiny model (every figure labelled CPU)
    python benchmarks/train.py --gpu        # GPU: an SD-1.5-sized random-weight pipeline (UNet
                                            # 860M, SD VAE, a 12-layer CLIP text encoder), 256x256,
                                            # batch 16, bf16 (fp16 where bf16 is missing)
    options: --steps N --batch B --resolution R --workers W --cache-latents --compile
             --gradient-checkpointing --pairs N

The loop's figure is `train`'s own steps (TrainResult.step_seconds, from the second step on): data
loading (workers, pinned memory), augmentation, VAE and text encoding (or the latent cache), the
UNet step, EMA off; the call's wall clock (loader start-up and the final checkpoint in) is printed
beside it. The UNet-only figure feeds the same UNet and optimizer random tensors of the same
shapes: the ceiling the loop can approach. The ratio loop / UNet-only is the share of the GPU's
time spent training the UNet (goal >= 0.85).
"""
from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import torch


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_sd15_like(out: Path) -> Path:
    """A random-weight pipeline with Stable Diffusion 1.5's shapes (tokenizer: the tiny one)."""
    from diffusers import AutoencoderKL, EulerAncestralDiscreteScheduler, StableDiffusionInstructPix2PixPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from simedit.train.trainer.tiny import write_tiny_tokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(sample_size=32, in_channels=8, out_channels=4, cross_attention_dim=768)
    vae = AutoencoderKL(block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
                        up_block_types=("UpDecoderBlock2D",) * 4, layers_per_block=2, latent_channels=4, sample_size=256)
    text = CLIPTextModel(CLIPTextConfig(vocab_size=514, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                        num_attention_heads=12, max_position_embeddings=77, bos_token_id=512,
                                        eos_token_id=513, pad_token_id=513))
    with tempfile.TemporaryDirectory() as tmp:
        tok = write_tiny_tokenizer(tmp)
        sched = EulerAncestralDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")
        StableDiffusionInstructPix2PixPipeline(vae=vae, text_encoder=text, tokenizer=tok, unet=unet, scheduler=sched,
                                               safety_checker=None, feature_extractor=None,
                                               requires_safety_checker=False).save_pretrained(str(out))
    return out


def unet_only_rate(tr, steps: int, batch: int, resolution: int) -> float:
    """Steps/s of the bare UNet step (forward, backward, clip, AdamW) on random tensors."""
    acc, unet = tr.acc, tr.unet
    lat = resolution // 8
    cfg = tr.unwrapped.config
    x = torch.randn(batch, cfg.in_channels, lat, lat, device=tr.device)
    h = torch.randn(batch, 77, cfg.cross_attention_dim, device=tr.device)
    target = torch.randn(batch, cfg.out_channels, lat, lat, device=tr.device)

    def step():
        t = torch.randint(0, 1000, (batch,), device=tr.device)
        tr.optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(unet(x, t, encoder_hidden_states=h).sample.float(), target)
        acc.backward(loss)
        acc.clip_grad_norm_(tr.params, 1.0)
        tr.optimizer.step()

    for _ in range(2):
        step()
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return steps / (time.perf_counter() - t0)


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gpu", action="store_true", help="SD-1.5-sized pipeline on the GPU")
    p.add_argument("--steps", type=int)
    p.add_argument("--batch", type=int)
    p.add_argument("--resolution", type=int)
    p.add_argument("--pairs", type=int, default=20, help="render-style pairs to train on (default 20)")
    p.add_argument("--workers", type=int, help="data loader workers (default: 0 on CPU, 6 on GPU)")
    p.add_argument("--cache-latents", action="store_true", help="pre-encode the VAE latents once")
    p.add_argument("--compile", action="store_true", help="torch.compile the UNet")
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument("--threads", type=int, default=1, help="CPU threads (CPU run)")
    a = p.parse_args()
    from simedit.train.config import parse_config
    from simedit.train.data.demo import make_demo_run
    from simedit.train.trainer.loop import Trainer
    from simedit.train.trainer.tiny import make_tiny_model

    if a.gpu and not torch.cuda.is_available():
        raise SystemExit("--gpu: no GPU here (torch.cuda.is_available() is False); run without --gpu for the CPU figures")
    if not a.gpu:
        torch.set_num_threads(a.threads)
    steps, batch = a.steps or (30 if a.gpu else 20), a.batch or (16 if a.gpu else 4)
    res = a.resolution or (256 if a.gpu else 32)
    workers = a.workers if a.workers is not None else (6 if a.gpu else 0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = make_sd15_like(tmp / "m") if a.gpu else make_tiny_model(tmp / "m")
        data = make_demo_run(tmp / "d", n=a.pairs, size=res)
        warm = 3
        cfg = parse_config({
            "model": {"base": str(model)},
            "data": {"datasets": [{"name": "d", "type": "render", "path": str(data)}], "stages": [{"mix": {"d": 1}}],
                     "resolution": res, "num_workers": workers, "cache_latents": a.cache_latents},
            "train": {"max_steps": warm + steps + 1, "batch_size": batch, "checkpoint_every": 10**6, "learning_rate": 1e-4,
                      "gradient_checkpointing": a.gradient_checkpointing, "compile": a.compile, "log_every": 10**6},
            "validation": {"num_examples": 0}, "output_dir": str(tmp / "o"),
        })
        tr = Trainer(cfg, device="cuda" if a.gpu else "cpu")
        tr.run(stop_after=warm, progress=False)  # warm-up: allocations, autotuning, compilation, latent cache
        sync()
        r = tr.run(resume=True, stop_after=steps, progress=False)
        # the steps alone, from the second on: the first waits for the loader's workers to start,
        # and the call's wall clock also holds the final checkpoint (~10 GB at SD-1.5 size)
        timed = r.step_seconds[1:] or r.step_seconds
        loop = len(timed) / sum(timed)
        wall = r.steps_per_second
        ideal = unet_only_rate(tr, steps, batch, res)
    where = (f"{torch.cuda.get_device_name()}, {tr.acc.mixed_precision}" if a.gpu
             else f"CPU x{a.threads} thread(s), tiny model (--gpu on a GPU for the SD-1.5-sized figure)")
    mem = (f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB, " if a.gpu else "")
    print(f"{where}; {res}x{res}, batch {batch}, {workers} workers, cache_latents {a.cache_latents}, "
          f"compile {a.compile}")
    print(f"full loop: {loop:.2f} steps/s ({loop * batch:.1f} pairs/s); UNet-only step: {ideal:.2f} steps/s; "
          f"loop / UNet-only = {loop / ideal:.2f}; {mem}peak host RSS {peak_rss_mib():.0f} MiB")
    print(f"the call's wall clock, loader start and final checkpoint included: {wall:.2f} steps/s")


if __name__ == "__main__":
    main()
