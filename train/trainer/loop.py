"""The training loop on `accelerate`: one process or many (data parallel, `accelerate launch`),
mixed precision, gradient accumulation, EMA (diffusers' EMAModel), stages (with AURORA's restart
from the EMA weights), checkpoints with resume, validation grids, and the final model saved as a
diffusers pipeline.

Process r of W reads its slice of every global batch (`StepSampler`) and each item's random
draws depend only on the item (`objective.py`), so `accelerate launch --num_processes W` at
batch B follows the loss trajectory of one process at batch B*W.
"""
from __future__ import annotations

import contextlib
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

from simedit.train.config import Config
from simedit.train.data.actions import NegativePool
from simedit.train.data.augment import AugmentConfig, augment
from simedit.train.data.batches import PairStream, StepSampler, collate
from simedit.train.data.mixing import Stage, sample_rng
from simedit.train.data.sources import SkipCounter, Unreadable, _open_image
from simedit.train.errors import TrainError
from simedit.train.trainer.checkpoint import load_latest, save_checkpoint
from simedit.train.trainer.finite import check_value, stopped, weights_finite
from simedit.train.trainer.model import Components, frozen_copy, load_components, make_ema, place_ema, prepare_trainable
from simedit.train.trainer.objective import Frozen, micro_batch_loss
from simedit.train.trainer.preflight import Preflight, check_output_dir, preflight
from simedit.train.trainer.schedule import LRFactor
from simedit.train.trainer.validate import ValExample, encode_text, run_validation

log = logging.getLogger(__name__)
WARN_FIRST = 3


@dataclass
class TrainResult:
    output_dir: Path
    start_step: int
    end_step: int
    losses: list[float]  # one per optimizer step run in this call (mean over the global batch)
    skipped: Counter = field(default_factory=Counter)
    final_dir: Path | None = None
    steps_per_second: float = 0.0  # wall clock of the whole call: checkpoints and validation included
    step_seconds: list[float] = field(default_factory=list)  # each step alone: batches, forward, backward, update
    validation_grids: list[Path] = field(default_factory=list)
    action_loss_skipped: int = 0  # micro-batches where EditAction's action term found no negative
    processes: int = 1
    main_process: bool = True


def make_accelerator(cfg: Config, device: str | None):
    """One Accelerator per process: mixed precision from the config ("auto": bf16 on a GPU that
    has it, else fp16; none on a CPU), CPU when asked or when there is no GPU."""
    from accelerate import Accelerator

    try:
        kind = torch.device(device).type if device is not None else None
    except RuntimeError:
        raise TrainError(f"not a torch device: {device[:40]!r} (e.g. cpu, cuda, cuda:1)", field="--device") from None
    cpu = kind == "cpu" or not torch.cuda.is_available()
    mp = cfg.train.mixed_precision
    if mp == "auto":
        mp = "no" if cpu else ("bf16" if torch.cuda.is_bf16_supported() else "fp16")
    elif mp == "fp16" and cpu:
        log.warning("mixed_precision fp16 needs a GPU; training in float32")
        mp = "no"
    from accelerate.state import AcceleratorState, PartialState

    if AcceleratorState._shared_state and not PartialState().use_distributed:
        # A second trainer in the same (single) process, maybe with another precision: start afresh.
        AcceleratorState._reset_state(reset_partial_state=True)
    return Accelerator(cpu=cpu, mixed_precision=mp)


class Trainer:
    def __init__(self, cfg: Config, device: str | torch.device | None = None, checked: Preflight | None = None):
        """`checked`: the preflight already run on this config (else it runs here, first)."""
        checked = checked or preflight(cfg)
        for warning in checked.warnings:
            log.warning(warning)
        self.cfg = cfg
        t = cfg.train
        self.acc = make_accelerator(cfg, str(device) if device is not None else None)
        self.device = self.acc.device
        self.out = Path(cfg.output_dir)
        self.plan = checked.plan
        self._restarts = set(self.plan.restarts())  # global steps where a stage begins from the EMA
        self.c: Components = load_components(cfg.model.base, cfg.model.mask_channel)
        weight_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(self.acc.mixed_precision, torch.float32)
        if self.device.type == "cpu":
            weight_dtype = torch.float32  # frozen parts in half precision only where it saves GPU memory
        unet = self.c.unet.to(self.device).train()
        for part in (self.c.vae, self.c.text_encoder):
            part.to(self.device).eval().requires_grad_(False)
            if weight_dtype != torch.float32:
                part.to(weight_dtype)
        if t.gradient_checkpointing:
            unet.enable_gradient_checkpointing()
        ref_unet = frozen_copy(unet) if cfg.editaction.reg_weight > 0 else None
        self.params = prepare_trainable(unet, cfg.editaction.freeze_cross_attention)
        optimizer = torch.optim.AdamW(self.params, lr=t.learning_rate, betas=(t.adam_beta1, t.adam_beta2),
                                      eps=t.adam_epsilon, weight_decay=t.weight_decay)
        # The schedule is stepped once per optimizer step here (not prepared: accelerate would
        # step it once per process).
        self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, LRFactor(t.lr_scheduler, t.warmup_steps, t.max_steps, self.plan.restarts()))
        if t.compile:
            unet = torch.compile(unet)
        self.unet, self.optimizer = self.acc.prepare(unet, optimizer)
        self.ema = make_ema(self.params, t.ema.decay) if t.ema.enabled else None
        self.skips = SkipCounter()
        from diffusers import DDPMScheduler
        noise_scheduler = DDPMScheduler.from_config(self.c.scheduler_config)
        with torch.no_grad():
            null_text = encode_text(self.c.tokenizer, self.c.text_encoder, [""], self.device)
        self.frozen = Frozen(self.c.vae, self.c.text_encoder, self.c.tokenizer, noise_scheduler, null_text,
                             weight_dtype, ref_unet, self.acc.autocast)
        # EditAction's negatives come from the instructions of the stage's own sources.
        self.pools = [self._pool(st) if cfg.editaction.action_weight > 0 else None for st in self.plan.stages]
        self.action_skipped = 0

    @staticmethod
    def _pool(stage: Stage) -> NegativePool:
        texts, actions = [], []
        for src in stage.mixture.sources:
            texts += src.instructions()
            actions += src.actions()
        pool = NegativePool(texts, actions)
        if pool.n_actions < 2:
            log.warning("EditAction: every instruction of this stage has the action %r, so no negative exists "
                        "and the action loss will not run", pool.names[0] if pool.names else "")
        return pool

    @property
    def unwrapped(self):
        return self.acc.unwrap_model(self.unet)

    # --- objective -------------------------------------------------------------------------
    def negatives(self, batch: dict, stage: int) -> list[str | None] | None:
        pool = self.pools[stage]
        if pool is None:
            return None
        return [pool.pick(text, action, sample_rng(self.cfg.seed, 3, *key))
                for text, action, key in zip(batch["instruction"], batch["action"], batch["key"])]

    def compute_loss(self, batch: dict, stage: int = 0) -> tuple[torch.Tensor, dict]:
        return micro_batch_loss(self.unet, self.frozen, batch, self.cfg.seed, self.cfg, self.negatives(batch, stage))

    # --- state -----------------------------------------------------------------------------
    def _fingerprint(self) -> dict:
        # What must not change across a resume, or the data order / model would differ.
        t = self.cfg.train
        return {"seed": self.cfg.seed, "data": self.cfg.data.model_dump(exclude={"num_workers", "cache_latents", "cache_dir"}),
                "model": self.cfg.model.model_dump(),
                "batch": t.batch_size * t.gradient_accumulation * self.acc.num_processes}

    def state_dict(self, step: int, skipped: Counter) -> dict:
        return {"step": step, "unet": self.unwrapped.state_dict(), "optimizer": self.optimizer.state_dict(),
                "lr_scheduler": self.lr_scheduler.state_dict(),
                "scaler": self.acc.scaler.state_dict() if self.acc.scaler is not None else None,
                "ema": self.ema.state_dict() if self.ema else None, "fingerprint": self._fingerprint(),
                "skipped": dict(skipped)}

    def load_state_dict(self, state: dict) -> int:
        mine = self._fingerprint()
        if state["fingerprint"] != mine:
            changed = [k for k in state["fingerprint"] if state["fingerprint"][k] != mine.get(k)] or ["fingerprint"]
            raise TrainError(f"--resume: the config's {', '.join(changed)} changed since the checkpoint "
                             f"(batch is batch_size x gradient_accumulation x processes); resuming would not "
                             f"continue the same run", file=str(self.out), field=changed[0])
        self.unwrapped.load_state_dict(state["unet"])
        self.optimizer.load_state_dict(state["optimizer"])  # moves its state to the weights' device
        self.lr_scheduler.load_state_dict(state["lr_scheduler"])
        if self.acc.scaler is not None and state.get("scaler"):
            self.acc.scaler.load_state_dict(state["scaler"])
        self._apply_optimizer_settings()
        if self.ema and state["ema"]:
            self.ema.load_state_dict(state["ema"])
            place_ema(self.ema, self.params)  # loaded on the CPU: back next to the weights
        if self.acc.is_main_process:  # the others count only what they skip from now on
            self.skips.counts.update(state.get("skipped", {}))
        return int(state["step"])

    def _apply_optimizer_settings(self) -> None:
        """The config's AdamW settings over the checkpoint's: unchanged, the same numbers (resume stays
        bit-exact); changed (a lower learning rate after a NaN stop), they take effect at once."""
        t = self.cfg.train
        self.lr_scheduler.base_lrs = [t.learning_rate for _ in self.lr_scheduler.base_lrs]
        for group, f in zip(self.optimizer.param_groups, self.lr_scheduler.lr_lambdas):
            group.update(initial_lr=t.learning_rate, lr=t.learning_rate * f(self.lr_scheduler.last_epoch),
                         betas=(t.adam_beta1, t.adam_beta2), eps=t.adam_epsilon, weight_decay=t.weight_decay)
        self.lr_scheduler._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def _check_weights(self, step: int) -> None:
        """Before the weights are saved or shown: the update of `step` may have made them NaN."""
        if not weights_finite(self.params):
            raise stopped("its update made the weights non-finite", step, self.out)

    def restart_from_ema(self) -> None:
        """AURORA's stage switch: live weights <- EMA, fresh optimizer state, EMA restarted."""
        self.ema.copy_to(self.params)
        self.optimizer.optimizer.state.clear()
        self.ema = make_ema(self.params, self.cfg.train.ema.decay)

    @contextlib.contextmanager
    def ema_weights(self):
        """The EMA weights in the model for the duration (validation, export)."""
        if not self.ema:
            yield
            return
        self.ema.store(self.params)
        self.ema.copy_to(self.params)
        try:
            yield
        finally:
            self.ema.restore(self.params)

    # --- validation and export -------------------------------------------------------------
    def validation_examples(self) -> list[ValExample]:
        v = self.cfg.validation
        aug = AugmentConfig(self.cfg.data.resolution, random_crop=False, flip="off", resize=self.cfg.data.resize)
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
        with self.ema_weights():
            return run_validation(self.c, self.unwrapped, self.inference_scheduler(), examples, self.cfg.validation,
                                  self.out / "validation" / f"step-{step:06d}.png", self.cfg.seed, self.device)

    def save_pipeline(self, path: Path) -> Path:
        """The trained model as a diffusers pipeline (EMA weights when enabled). A mask-channel
        model runs with `simedit.train.trainer.pipeline.MaskedInstructPix2PixPipeline`."""
        from diffusers import StableDiffusionInstructPix2PixPipeline
        parts = (self.c.vae, self.c.text_encoder)
        dtypes = [part.dtype for part in parts]
        with self.ema_weights():
            unet = self.unwrapped
            unet = getattr(unet, "_orig_mod", unet)  # torch.compile's wrapper
            try:
                for part in parts:  # saved in float32 whatever trained
                    part.to(torch.float32)
                pipe = StableDiffusionInstructPix2PixPipeline(
                    vae=self.c.vae, text_encoder=self.c.text_encoder,
                    tokenizer=self.c.tokenizer, unet=unet, scheduler=self.inference_scheduler(), safety_checker=None,
                    feature_extractor=None, requires_safety_checker=False)
                pipe.save_pretrained(str(path), safe_serialization=True)
            finally:
                # back to the training precision: the objective feeds them `frozen.weight_dtype`
                # (on a GPU, bf16 images into a float32 VAE failed after a save)
                for part, dtype in zip(parts, dtypes):
                    part.to(dtype)
        return path

    # --- loop ------------------------------------------------------------------------------
    def loader(self, start: int, end: int, caches: dict | None = None) -> DataLoader:
        cfg, t = self.cfg, self.cfg.train
        aug = AugmentConfig(cfg.data.resolution, cfg.data.random_crop, cfg.data.flip, resize=cfg.data.resize)
        sampler = StepSampler(self.plan, start, end, t.batch_size, t.gradient_accumulation,
                              self.acc.process_index, self.acc.num_processes)
        workers = cfg.data.num_workers
        return DataLoader(PairStream(self.plan, aug, cfg.seed, caches), batch_size=t.batch_size, sampler=sampler,
                          num_workers=workers, collate_fn=collate, persistent_workers=workers > 0,
                          pin_memory=self.device.type == "cuda", prefetch_factor=4 if workers else None)

    def latent_caches(self) -> dict | None:
        if not self.cfg.data.cache_latents:
            return None
        from simedit.train.data.latents import build_caches
        cache_dir = Path(self.cfg.data.cache_dir or self.out / "latent_cache")
        return build_caches(self.plan, self.c.vae, self.cfg.data, cache_dir, self.acc, self.frozen.weight_dtype)

    def _reduce(self, value: torch.Tensor) -> float:
        return float(self.acc.reduce(value.detach().float().reshape(1), reduction="mean").item())

    def _step(self, step: int, stage: int, batches) -> tuple[float, dict[str, list[torch.Tensor]]]:
        """One optimizer step: the micro-batches' gradients, checked, then the update. Returns the
        loss (mean over the global batch) and each loss part per micro-batch."""
        t, acc = self.cfg.train, self.acc
        if step in self._restarts:
            self.restart_from_ema()
        self.optimizer.zero_grad(set_to_none=True)
        total = torch.zeros((), device=self.device)
        parts: dict[str, list[torch.Tensor]] = {}
        for micro in range(t.gradient_accumulation):
            batch = next(batches)
            for name, reason in batch["skipped"]:
                self.skips.skip(name, reason)
            # Gradients are averaged across processes only on the last micro-batch.
            sync = contextlib.nullcontext() if micro == t.gradient_accumulation - 1 else acc.no_sync(self.unet)
            with sync:
                loss, stats = self.compute_loss(batch, stage)
                acc.backward(loss / t.gradient_accumulation)
            total += loss.detach() / t.gradient_accumulation
            for k, v in stats.items():
                parts.setdefault(k, []).append(v)
            if self.pools[stage] is not None and "action" not in stats:
                self.action_skipped += 1
                if self.action_skipped <= WARN_FIRST:
                    log.warning("EditAction: no item of step %d had a negative with another action "
                                "(or all its texts were dropped); the action loss skipped this micro-batch "
                                "(%d so far)", step, self.action_skipped)
        loss_value = self._reduce(total)
        check_value("loss", loss_value, step + 1, self.out)  # before the update: the weights stay good
        if t.max_grad_norm:
            norm = acc.clip_grad_norm_(self.params, t.max_grad_norm)
            if acc.scaler is None and norm is not None:  # with fp16's scaler an inf norm only skips the step
                check_value("gradient norm", float(norm), step + 1, self.out)
        self.optimizer.step()
        self.lr_scheduler.step()
        if self.ema:
            self.ema.step(self.params)
        return loss_value, parts

    def run(self, resume: bool = False, stop_after: int | None = None, progress: bool = True) -> TrainResult:
        """Train to train.max_steps (or stop after `stop_after` steps, with a checkpoint)."""
        cfg, t, acc = self.cfg, self.cfg.train, self.acc
        main = acc.is_main_process
        check_output_dir(cfg, resume)  # every process, before any of them writes
        if main:
            self.out.mkdir(parents=True, exist_ok=True)
        acc.wait_for_everyone()
        start = self.load_state_dict(load_latest(self.out)[1]) if resume else 0
        end = t.max_steps if stop_after is None else min(t.max_steps, start + stop_after)
        result = TrainResult(self.out, start, end, [], processes=acc.num_processes, main_process=main)
        if start >= t.max_steps:
            log.warning("already at step %d of %d; nothing to train", start, t.max_steps)
        val_examples = (self.validation_examples() if main and (cfg.validation.num_examples or cfg.validation.examples)
                        else [])
        batches = iter(self.loader(start, end, self.latent_caches()))
        log_file = (self.out / "train_log.jsonl").open("a") if main else None
        bar = tqdm(total=end, initial=start, unit="step", desc="train", disable=not progress or not main,
                   dynamic_ncols=True)
        t0 = time.perf_counter()
        try:
            for step in range(start, end):
                stage = self.plan.locate(step)[0]
                began = time.perf_counter()
                loss_value, parts = self._step(step, stage, batches)  # a float: the step has finished
                result.step_seconds.append(time.perf_counter() - began)
                done = step + 1
                result.losses.append(loss_value)
                bar.update(1)
                lr = self.lr_scheduler.get_last_lr()[0]
                bar.set_postfix(loss=f"{loss_value:.4f}", lr=f"{lr:.2e}", stage=stage, skipped=self.skips.total)
                if done % t.log_every == 0 or done == end:
                    # Each part averaged over the micro-batches where it ran, then over processes.
                    means = {k: self._reduce(torch.stack(v).mean()) for k, v in parts.items()}
                    if log_file:
                        log_file.write(json.dumps({"step": done, "loss": loss_value, **means, "lr": lr}) + "\n")
                        log_file.flush()
                checkpoint = done % t.checkpoint_every == 0 or done == end
                validation = val_examples and (done % cfg.validation.every == 0 or done == t.max_steps)
                if checkpoint or validation:
                    self._check_weights(done)
                if checkpoint:
                    skipped = self._all_skips()
                    if main:
                        save_checkpoint(self.out, done, self.state_dict(done, skipped), t.keep_checkpoints)
                    acc.wait_for_everyone()
                if validation:
                    result.validation_grids.append(self.validate(done, val_examples))
        finally:
            bar.close()
            if log_file:
                log_file.close()
        elapsed = time.perf_counter() - t0
        result.steps_per_second = (end - start) / elapsed if elapsed > 0 and end > start else 0.0
        result.skipped = self._all_skips()
        result.action_loss_skipped = self.action_skipped
        if end >= t.max_steps:
            self._check_weights(end)
            if main:
                result.final_dir = self.save_pipeline(self.out / "final")
            acc.wait_for_everyone()
            result.final_dir = self.out / "final"
        return result

    def _all_skips(self) -> Counter:
        """Skipped pairs counted by every process, summed."""
        if self.acc.num_processes == 1:
            return Counter(self.skips.counts)
        from accelerate.utils import gather_object
        total: Counter = Counter()
        for counts in gather_object([dict(self.skips.counts)]):
            total.update(counts)
        return total


def train(cfg: Config, resume: bool = False, stop_after: int | None = None, progress: bool = True,
          device: str | None = None, checked: Preflight | None = None) -> TrainResult:
    """`checked`: `preflight(cfg, resume)` already run (the CLI runs it first); else it runs here."""
    checked = checked or preflight(cfg, resume)
    return Trainer(cfg, device, checked).run(resume=resume, stop_after=stop_after, progress=progress)
