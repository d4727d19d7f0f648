"""Training speed and peak memory.

    python benchmarks/train.py                 # the tiny model, full loop on CPU (data, VAE, text, UNet)
    python benchmarks/train.py --sd15          # a full-size SD 1.5 UNet (8 input channels, random
                                               # weights): training steps at 256x256, batch 16,
                                               # mixed precision on a GPU (UNet step only: the VAE
                                               # and text encoder are frozen and cost far less)
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


def bench_tiny(steps: int, batch: int, resolution: int, threads: int) -> None:
    from simedit.train.config import parse_config
    from simedit.train.data.demo import make_demo_run
    from simedit.train.trainer.loop import Trainer
    from simedit.train.trainer.tiny import make_tiny_model

    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        model, data = make_tiny_model(Path(tmp) / "m"), make_demo_run(Path(tmp) / "d", n=16)
        cfg = parse_config({
            "model": {"base": str(model)},
            "data": {"datasets": [{"name": "d", "type": "render", "path": str(data)}], "stages": [{"mix": {"d": 1}}],
                     "resolution": resolution},
            "train": {"max_steps": steps + 3, "batch_size": batch, "checkpoint_every": 10**6, "learning_rate": 1e-3},
            "validation": {"num_examples": 0}, "output_dir": str(Path(tmp) / "o"),
        })
        tr = Trainer(cfg, device="cpu")
        tr.run(stop_after=3, progress=False)  # warm-up (writes a checkpoint)
        t0 = time.perf_counter()
        r = Trainer(cfg, device="cpu").run(resume=True, stop_after=steps, progress=False)
        dt = time.perf_counter() - t0
    print(f"tiny model, CPU x{threads} thread(s), {resolution}x{resolution}, batch {batch}: "
          f"{r.steps_per_second:.2f} steps/s in the loop ({steps / dt:.2f} incl. load), "
          f"{r.steps_per_second * batch:.1f} pairs/s, peak RSS {peak_rss_mib():.0f} MiB, final loss {r.losses[-1]:.3f}")


def bench_sd15(steps: int, batch: int, resolution: int, checkpointing: bool) -> None:
    from diffusers import UNet2DConditionModel

    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    amp = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if dev.type == "cuda" else None
    # Stable Diffusion 1.5's UNet config (diffusers defaults are SD 1.x), widened to 8 channels.
    unet = UNet2DConditionModel(sample_size=resolution // 8, in_channels=8, out_channels=4, cross_attention_dim=768,
                                attention_head_dim=8).to(dev).train()
    if checkpointing:
        unet.enable_gradient_checkpointing()
    n_params = sum(p.numel() for p in unet.parameters())
    opt = torch.optim.AdamW(unet.parameters(), lr=5e-5)
    scaler = torch.amp.GradScaler(dev.type, enabled=amp == torch.float16)
    lat = resolution // 8
    x = torch.randn(batch, 8, lat, lat, device=dev)
    h = torch.randn(batch, 77, 768, device=dev)
    target = torch.randn(batch, 4, lat, lat, device=dev)

    def step():
        t = torch.randint(0, 1000, (batch,), device=dev)
        opt.zero_grad(set_to_none=True)
        with torch.autocast(dev.type, dtype=amp or torch.float32, enabled=amp is not None):
            loss = torch.nn.functional.mse_loss(unet(x, t, encoder_hidden_states=h).sample.float(), target)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    step()  # warm-up (allocations, autotuning)
    if dev.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    mem = (f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB ({torch.cuda.get_device_name()})"
           if dev.type == "cuda" else f"peak RSS {peak_rss_mib():.0f} MiB")
    print(f"SD 1.5 UNet ({n_params / 1e6:.0f}M params, 8 ch), {dev.type}, {resolution}x{resolution}, batch {batch}, "
          f"precision {amp or 'fp32'}, checkpointing {checkpointing}: {steps / dt:.2f} steps/s, "
          f"{steps * batch / dt:.1f} pairs/s, {mem}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sd15", action="store_true", help="full-size SD 1.5 UNet configuration (random weights)")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--resolution", type=int, default=None)
    p.add_argument("--threads", type=int, default=1, help="CPU threads (tiny model)")
    p.add_argument("--gradient-checkpointing", action="store_true")
    a = p.parse_args()
    if a.sd15:
        bench_sd15(a.steps or 20, a.batch or 16, a.resolution or 256, a.gradient_checkpointing)
    else:
        bench_tiny(a.steps or 30, a.batch or 4, a.resolution or 32, a.threads)


if __name__ == "__main__":
    main()
