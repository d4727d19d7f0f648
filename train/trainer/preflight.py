"""Everything the trainer checks before its first step, without torch and without loading a
weight: the config's memory rule, the base pipeline folder (its JSON files), the datasets (their
indexes: every pair counted), the validation examples, and the output folder (a fresh run never
lands on an earlier run's checkpoints; `--resume` needs one). `train --check` runs exactly this
and stops, so a config can be tried in a second; `train` and `Trainer` run it first."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from simedit.train.config import Config
from simedit.train.data.mixing import Mixture, Stage, StagePlan
from simedit.train.data.sources import Unreadable, _open_image, open_source
from simedit.train.errors import TrainError
from simedit.train.trainer.base_model import BaseFolder, check_prediction_type, read_base_folder
from simedit.train.trainer.checkpoint import checkpoint_dir, list_checkpoints
from simedit.train.trainer.memory import REFUSE_UNITS, check_micro_batch, micro_batch_units


@dataclass
class Preflight:
    cfg: Config
    plan: StagePlan
    base: BaseFolder
    warnings: list[str] = field(default_factory=list)
    resume_step: int | None = None  # the checkpoint `--resume` continues from

    def summary(self) -> str:
        c, t = self.cfg, self.cfg.train
        pairs = ", ".join(f"{s.name}: {len(s)}" for s in self._sources())
        units = micro_batch_units(t.batch_size, c.data.resolution, self.base.vae_factor)
        start = f"resumes from step {self.resume_step}" if self.resume_step is not None else "a new run"
        return (f"config OK: {self.base.kind} model {self.base.path}; pairs {pairs}; {len(self.plan.stages)} stage(s), "
                f"{t.max_steps} steps; micro-batch {t.batch_size} at {c.data.resolution}x{c.data.resolution} "
                f"({units:.4g} of {REFUSE_UNITS} units of a 32x32 latent) x {t.gradient_accumulation} accumulated; "
                f"{c.output_dir}: {start}")

    def _sources(self) -> list:
        seen: dict[str, object] = {}
        for st in self.plan.stages:
            for s in st.mixture.sources:
                seen.setdefault(s.name, s)
        return list(seen.values())


def build_plan(cfg: Config) -> StagePlan:
    """Open every dataset (reading its index) and the stages' mixes."""
    sources = {d.name: open_source(d.type, d.path, name=d.name, root=d.root) for d in cfg.data.datasets}
    stages = []
    for i, st in enumerate(cfg.data.stages):
        names = list(st.mix)
        try:
            mixture = Mixture([sources[n] for n in names], [st.mix[n] for n in names])
        except TrainError as e:
            raise TrainError(e.detail, field=f"data.stages[{i}].mix") from None
        stages.append(Stage(mixture, st.steps, st.restart))
    return StagePlan(stages)


def check_base(cfg: Config) -> BaseFolder:
    folder = read_base_folder(cfg.model.base)
    check_prediction_type(folder)
    if folder.mask_channel and not cfg.model.mask_channel:
        raise TrainError("the base UNet has a mask channel; set model.mask_channel: true", field="model.mask_channel")
    if cfg.data.resolution % folder.vae_factor:
        raise TrainError(f"must be a multiple of {folder.vae_factor}, the base VAE's downscaling",
                         field="data.resolution")
    return folder


def check_output_dir(cfg: Config, resume: bool) -> int | None:
    """The step `--resume` continues from; refuses a fresh run over an earlier run's work."""
    out = Path(cfg.output_dir)
    if out.exists() and not out.is_dir():
        raise TrainError("output_dir is a file, not a folder", file=str(out), field="output_dir")
    cache = cfg.data.cache_dir
    if cache and Path(cache).exists() and not Path(cache).is_dir():
        raise TrainError("cache_dir is a file, not a folder", file=cache, field="data.cache_dir")
    found = list_checkpoints(out)
    if resume:
        if not found:
            raise TrainError("--resume: no checkpoint to resume from", file=str(checkpoint_dir(out)))
        return found[-1][0]
    if found or (out / "final" / "model_index.json").is_file():
        what = f"checkpoints up to step {found[-1][0]}" if found else "a final model"
        # Training on would delete its checkpoints (keep_checkpoints) and overwrite its final model.
        raise TrainError(f"holds {what} of an earlier run; continue it with --resume, or choose another "
                         f"output_dir", file=str(out), field="output_dir")
    return None


def check_validation_examples(cfg: Config) -> None:
    for i, e in enumerate(cfg.validation.examples):
        for side in ("image", "target"):
            path = getattr(e, side)
            if path is None:
                continue
            try:
                _open_image(Path(path))
            except Unreadable as err:
                raise TrainError(str(err).split(": ", 1)[-1][:200], file=path,
                                 field=f"validation.examples[{i}].{side}") from None


def preflight(cfg: Config, resume: bool | None = None) -> Preflight:
    """All the checks; `resume` None leaves the output folder unchecked (`Trainer.run` checks it)."""
    plan = build_plan(cfg)  # the data first, as the trainer always read it
    base = check_base(cfg)
    warning = check_micro_batch(cfg.train.batch_size, cfg.data.resolution, base.vae_factor)  # with its own VAE
    resume_step = check_output_dir(cfg, resume) if resume is not None else None
    check_validation_examples(cfg)
    return Preflight(cfg, plan, base, [warning] if warning else [], resume_step)
