"""The training loop: InstructPix2Pix objective (+ EditAction terms), AdamW with warm-up,
gradient accumulation, mixed precision on GPU, EMA, checkpoints with resume, validation grids,
and the final model saved as a diffusers InstructPix2Pix pipeline."""
from __future__ import annotations

import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from simedit.train.trainer import losses
from simedit.train.data.augment import AugmentConfig, augment
from simedit.train.data.batches import PairStream, StepSampler, collate
from simedit.train.trainer.checkpoint import load_latest, save_checkpoint
from simedit.train.config import Config
from simedit.train.data.sources import SkipCounter, Unreadable, open_source, _open_image
from simedit.train.errors import TrainError
from simedit.train.data.mixing import Mixture, Stage, StagePlan, sample_rng
from simedit.train.trainer.model import EMA, Components, frozen_copy, load_components, prepare_trainable
from simedit.train.trainer.validate import ValExample, encode_text, run_validation

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    output_dir: Path
    start_step: int
    end_step: int
    losses: list[float]  # one per optimizer step run in this call
    skipped: Counter = field(default_factory=Counter)
    final_dir: Path | None = None
    steps_per_second: float = 0.0
    validation_grids: list[Path] = field(default_factory=list)


def build_plan(cfg: Config) -> StagePlan:
    sources = {d.name: open_source(d.type, d.path, name=d.name, root=d.root) for d in cfg.data.datasets}
    stages = []
    for st in cfg.data.stages:
        names = [n for n in st.mix]
        stages.append(Stage(Mixture([sources[n] for n in names], [st.mix[n] for n in names]), st.steps))
    return StagePlan(stages)


def _step_generator(seed: int, step: int, micro: int) -> torch.Generator:
    state = np.random.SeedSequence([seed, step, micro]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def _precision(requested: str, device: torch.device) -> torch.dtype | None:
    if device.type != "cuda":
        if requested == "fp16":
            log.warning("mixed_precision fp16 needs a GPU; training in float32")
        return torch.bfloat16 if requested == "bf16" else None
    if requested == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"no": None, "fp16": torch.float16, "bf16": torch.bfloat16}[requested]


class Trainer:
    def __init__(self, cfg: Config, device: str | torch.device | None = None):
        self.cfg = cfg
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.out = Path(cfg.output_dir)
        self.plan = build_plan(cfg)
        self.c: Components = load_components(cfg.model.base, cfg.model.mask_channel)
        self.unet = self.c.unet.to(self.device).train()
        self.c.vae.to(self.device).eval().requires_grad_(False)
        self.c.text_encoder.to(self.device).eval().requires_grad_(False)
        t = cfg.train
        if t.gradient_checkpointing:
            self.unet.enable_gradient_checkpointing()
        self.ref_unet = frozen_copy(self.unet) if cfg.editaction.reg_weight > 0 else None
        self.params = prepare_trainable(self.unet, cfg.editaction.freeze_cross_attention)
        self.optimizer = torch.optim.AdamW(self.params, lr=t.learning_rate, betas=(t.adam_beta1, t.adam_beta2),
                                           eps=t.adam_epsilon, weight_decay=t.weight_decay)
        from diffusers import DDPMScheduler
        from diffusers.optimization import get_scheduler
        self.lr_scheduler = get_scheduler(t.lr_scheduler, self.optimizer, num_warmup_steps=t.warmup_steps,
                                          num_training_steps=t.max_steps)
        self.noise_scheduler = DDPMScheduler.from_config(self.c.scheduler_config)
        self.amp_dtype = _precision(t.mixed_precision, self.device)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)
        self.ema = EMA(self.unet, t.ema.decay) if t.ema.enabled else None
        self.skips = SkipCounter()
        # Negatives for the action loss come from the instructions of the stage's own sources.
        self.pools = [[s for src in st.mixture.sources for s in src.instructions()] if cfg.editaction.action_weight else []
                      for st in self.plan.stages]
        with torch.no_grad():
            self.null_text = encode_text(self.c.tokenizer, self.c.text_encoder, [""], self.device)

    # --- objective -------------------------------------------------------------------------
    def compute_loss(self, batch: dict, gen: torch.Generator, pool: list[str], neg_rng: np.random.Generator) -> tuple[torch.Tensor, dict]:
        cfg, dev, vae = self.cfg, self.device, self.c.vae
        src, tgt = batch["source"].to(dev), batch["target"].to(dev)
        b = src.shape[0]
        with torch.no_grad():
            latents = vae.encode(tgt).latent_dist.sample(generator=gen) * vae.config.scaling_factor
            image = vae.encode(src).latent_dist.mode()  # unscaled, as InstructPix2Pix does
            text = encode_text(self.c.tokenizer, self.c.text_encoder, batch["instruction"], dev)
        noise = torch.randn(latents.shape, generator=gen).to(dev)
        t = torch.randint(0, self.noise_scheduler.config.num_train_timesteps, (b,), generator=gen).to(dev)
        noisy = self.noise_scheduler.add_noise(latents, noise, t)
        # Conditioning dropout (InstructPix2Pix): with p = dropout, [0,p) drops text, [p,2p) both,
        # [2p,3p) the image. This trains the unconditional branches classifier-free guidance needs.
        p, u = cfg.train.conditioning_dropout, torch.rand(b, generator=gen).to(dev)
        drop_text = u < 2 * p
        keep_image = ~((u >= p) & (u < 3 * p))
        text = torch.where(drop_text[:, None, None], self.null_text.expand_as(text), text)
        image = image * keep_image[:, None, None, None]
        parts = [noisy, image]
        if cfg.model.mask_channel:
            # Region-aware: the exact edit mask from simulation; blanked for pairs without one, for a
            # share of steps (so free-form editing still works), and when the image is dropped.
            m = torch.nn.functional.interpolate(batch["mask"].to(dev), size=latents.shape[2:], mode="area")
            keep_m = (torch.rand(b, generator=gen).to(dev) >= cfg.model.mask_dropout) & batch["has_mask"].to(dev) & keep_image
            parts.append(m * keep_m[:, None, None, None])
        model_in = torch.cat(parts, dim=1)
        pt = self.noise_scheduler.config.prediction_type
        target = noise if pt == "epsilon" else self.noise_scheduler.get_velocity(latents, noise, t)
        with torch.autocast(dev.type, dtype=self.amp_dtype or torch.float32, enabled=self.amp_dtype is not None):
            pred = self.unet(model_in, t, encoder_hidden_states=text).sample
        mse = losses.per_example_mse(pred, target)
        loss = mse.mean()
        stats = {"static": loss.item()}
        ea = cfg.editaction
        if ea.action_weight > 0:
            negs = [None if d else losses.pick_negative(c, pool, neg_rng) for c, d in zip(batch["instruction"], drop_text.tolist())]
            valid = torch.tensor([n is not None for n in negs], device=dev)
            if valid.any():
                with torch.no_grad():
                    neg_text = encode_text(self.c.tokenizer, self.c.text_encoder, [n or "" for n in negs], dev)
                with torch.autocast(dev.type, dtype=self.amp_dtype or torch.float32, enabled=self.amp_dtype is not None):
                    pred_neg = self.unet(model_in, t, encoder_hidden_states=neg_text).sample
                act = losses.action_loss(mse, losses.per_example_mse(pred_neg, target))[valid].mean()
                loss = loss + ea.action_weight * act
                stats["action"] = act.item()
        if ea.reg_weight > 0:
            with torch.no_grad(), torch.autocast(dev.type, dtype=self.amp_dtype or torch.float32, enabled=self.amp_dtype is not None):
                ref = self.ref_unet(model_in, t, encoder_hidden_states=text).sample
            reg = losses.per_example_mse(pred, ref).mean()
            loss = loss + ea.reg_weight * reg
            stats["reg"] = reg.item()
        return loss, stats

    # --- state -----------------------------------------------------------------------------
    def _fingerprint(self) -> dict:
        # What must not change across a resume, or the data order / model would differ.
        return {"seed": self.cfg.seed, "data": self.cfg.data.model_dump(), "model": self.cfg.model.model_dump(),
                "batch": [self.cfg.train.batch_size, self.cfg.train.gradient_accumulation]}

    def state_dict(self, step: int) -> dict:
        return {"step": step, "unet": self.unet.state_dict(), "optimizer": self.optimizer.state_dict(),
                "lr_scheduler": self.lr_scheduler.state_dict(), "scaler": self.scaler.state_dict(),
                "ema": self.ema.state_dict() if self.ema else None, "fingerprint": self._fingerprint(),
                "skipped": dict(self.skips.counts)}

    def load_state_dict(self, state: dict) -> int:
        if state["fingerprint"] != self._fingerprint():
            changed = [k for k in state["fingerprint"] if state["fingerprint"][k] != self._fingerprint().get(k)]
            raise TrainError(f"--resume: the config's {', '.join(changed)} changed since the checkpoint; "
                             f"resuming would not continue the same run", file=str(self.out), field=changed[0])
        self.unet.load_state_dict(state["unet"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.lr_scheduler.load_state_dict(state["lr_scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        if self.ema and state["ema"]:
            self.ema.load_state_dict(state["ema"])
        self.skips.counts.update(state.get("skipped", {}))
        return int(state["step"])

    # --- validation and export -------------------------------------------------------------
    def validation_examples(self) -> list[ValExample]:
        v, aug = self.cfg.validation, AugmentConfig(self.cfg.data.resolution, random_crop=False, flip="off")
        rng = np.random.default_rng(0)
        out: list[ValExample] = []
        if v.examples:
            for e in v.examples:
                try:
                    src = _open_image(Path(e.image))
                    tgt = _open_image(Path(e.target)) if e.target else src
                except Unreadable as err:
                    raise TrainError(str(err), field="validation.examples") from None
                a = augment(src, tgt, e.instruction, None, aug, rng)
                out.append(ValExample(a.source, e.instruction, a.target if e.target else None))
            return out
        sources = self.plan.stages[0].mixture.sources
        for i in range(max((len(s) for s in sources), default=0)):
            for s in sources:
                if len(out) >= v.num_examples:
                    return out
                if i < len(s):
                    try:
                        ex = s.load(i)
                    except Unreadable:
                        continue
                    a = augment(ex.source, ex.target, ex.instruction, ex.mask, aug, rng)
                    out.append(ValExample(a.source, a.instruction, a.target, a.mask))
        return out

    def inference_scheduler(self):
        import diffusers
        cls = getattr(diffusers, self.c.scheduler_config.get("_class_name", "DDIMScheduler"), diffusers.DDIMScheduler)
        return cls.from_config(self.c.scheduler_config)

    def validate(self, step: int, examples: list[ValExample]) -> Path:
        if self.ema:
            self.ema.swap_into(self.unet)
        try:
            return run_validation(self.c, self.unet, self.inference_scheduler(), examples, self.cfg.validation,
                                  self.out / "validation" / f"step-{step:06d}.png", self.cfg.seed, self.device)
        finally:
            if self.ema:
                self.ema.swap_into(self.unet)

    def save_pipeline(self, path: Path) -> Path:
        """The trained model as a diffusers pipeline (EMA weights when enabled)."""
        from diffusers import StableDiffusionInstructPix2PixPipeline
        if self.ema:
            self.ema.swap_into(self.unet)
        try:
            pipe = StableDiffusionInstructPix2PixPipeline(
                vae=self.c.vae, text_encoder=self.c.text_encoder, tokenizer=self.c.tokenizer, unet=self.unet,
                scheduler=self.inference_scheduler(), safety_checker=None, feature_extractor=None,
                requires_safety_checker=False)
            pipe.save_pretrained(str(path), safe_serialization=True)
        finally:
            if self.ema:
                self.ema.swap_into(self.unet)
        return path

    # --- loop ------------------------------------------------------------------------------
    def run(self, resume: bool = False, stop_after: int | None = None, progress: bool = True) -> TrainResult:
        """Train to train.max_steps (or stop after `stop_after` steps, with a checkpoint)."""
        cfg, t = self.cfg, self.cfg.train
        self.out.mkdir(parents=True, exist_ok=True)
        start = self.load_state_dict(load_latest(self.out)[1]) if resume else 0
        end = t.max_steps if stop_after is None else min(t.max_steps, start + stop_after)
        result = TrainResult(self.out, start, end, [])
        if start >= t.max_steps:
            log.warning("already at step %d of %d; nothing to train", start, t.max_steps)
        val_examples = self.validation_examples() if cfg.validation.num_examples or cfg.validation.examples else []
        per_step = t.batch_size * t.gradient_accumulation
        loader = DataLoader(PairStream(self.plan, AugmentConfig(cfg.data.resolution, cfg.data.random_crop, cfg.data.flip), cfg.seed),
                            batch_size=t.batch_size, sampler=StepSampler(self.plan, start, end, per_step),
                            num_workers=cfg.data.num_workers, collate_fn=collate,
                            persistent_workers=False, pin_memory=self.device.type == "cuda")
        batches = iter(loader)
        log_file = (self.out / "train_log.jsonl").open("a")
        bar = tqdm(total=end, initial=start, unit="step", desc="train", disable=not progress, dynamic_ncols=True)
        t0 = time.perf_counter()
        for step in range(start, end):
            stage = self.plan.locate(step)[0]
            self.optimizer.zero_grad(set_to_none=True)
            total, stats = 0.0, {}
            for micro in range(t.gradient_accumulation):
                batch = next(batches)
                for name, reason in batch["skipped"]:
                    self.skips.skip(name, reason)
                loss, stats = self.compute_loss(batch, _step_generator(cfg.seed, step, micro), self.pools[stage],
                                                sample_rng(cfg.seed, 1, step, micro))
                self.scaler.scale(loss / t.gradient_accumulation).backward()
                total += loss.item() / t.gradient_accumulation
            if t.max_grad_norm:
                self.scaler.unscale_(self.optimizer)
                torch.nn.utils.clip_grad_norm_(self.params, t.max_grad_norm)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.lr_scheduler.step()
            if self.ema:
                self.ema.update(self.unet, step)
            done = step + 1
            result.losses.append(total)
            bar.update(1)
            bar.set_postfix(loss=f"{total:.4f}", lr=f"{self.lr_scheduler.get_last_lr()[0]:.2e}", stage=stage,
                            skipped=self.skips.total)
            if done % t.log_every == 0 or done == end:
                log_file.write(json.dumps({"step": done, "loss": total, **stats, "lr": self.lr_scheduler.get_last_lr()[0]}) + "\n")
                log_file.flush()
            if done % t.checkpoint_every == 0 or done == end:
                save_checkpoint(self.out, done, self.state_dict(done), t.keep_checkpoints)
            if val_examples and (done % cfg.validation.every == 0 or done == t.max_steps):
                result.validation_grids.append(self.validate(done, val_examples))
        bar.close()
        log_file.close()
        elapsed = time.perf_counter() - t0
        result.steps_per_second = (end - start) / elapsed if elapsed > 0 and end > start else 0.0
        result.skipped = Counter(self.skips.counts)
        if end >= t.max_steps:
            result.final_dir = self.save_pipeline(self.out / "final")
        return result


def train(cfg: Config, resume: bool = False, stop_after: int | None = None, progress: bool = True,
          device: str | None = None) -> TrainResult:
    return Trainer(cfg, device).run(resume=resume, stop_after=stop_after, progress=progress)
