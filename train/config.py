"""The training config: YAML validated with pydantic (unknown keys are errors, so a typo in a
hyperparameter name never silently falls back to a default). Every number is finite, of the
right type and bounded to what a run can use (`simedit.render.common.fields`), so a value that
would hang, exhaust memory or train to NaN is refused when the file is loaded, naming the field.
Relative paths are resolved against the current directory, like any command-line path."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from simedit.render.common.fields import first_error, integer, number
from simedit.render.common.yaml_file import read_yaml
from simedit.train.errors import TrainError
from simedit.train.trainer.memory import check_micro_batch

MAX_STEPS = 10_000_000  # AURORA trained 55,000 steps; far beyond this is a typo, not a run
_EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _yaml11_exponent(value: Any) -> Any:
    # PyYAML follows YAML 1.1, where `1e-4` (no dot) is text, not a number; learning rates are
    # written that way everywhere, so such text is read as the number it plainly is.
    if isinstance(value, str) and _EXPONENT.fullmatch(value.strip()):
        return float(value)
    return value


def real(**bounds: float) -> Any:
    """A finite, bounded number (`fields.number`) that also takes YAML 1.1's `1e-4` text."""
    return Annotated[number(**bounds), BeforeValidator(_yaml11_exponent)]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    if "\0" in value:
        raise ValueError("must not contain a NUL character")
    return value


Text = Annotated[str, AfterValidator(_not_blank)]  # a name, a path, an instruction: never "" (the cwd)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelConfig(_Strict):
    base: Text  # a local diffusers pipeline folder (InstructPix2Pix, or Stable Diffusion: widened to 8 channels)
    mask_channel: bool = False  # region-aware: one more input channel with the edit mask (blank = free-form)
    mask_dropout: real(ge=0, le=1) = 0.5  # fraction of steps the mask is blanked, so free-form editing still works


class DatasetConfig(_Strict):
    name: Text
    type: Literal["render", "aurora_json", "hf", "video"]
    path: Text
    root: Text | None = None  # aurora_json/video: folder the image paths are relative to (default: the JSON's folder)


class StageConfig(_Strict):
    steps: integer(ge=1, le=MAX_STEPS) | None = None  # None: until train.max_steps
    mix: Annotated[dict[str, real(ge=0, le=1e6)], Field(min_length=1)]  # dataset name -> factor (upsampling multiplier)
    # AURORA began its second stage as a new run from the first stage's EMA weights: live
    # weights <- EMA, fresh optimizer state, EMA and LR warm-up start again. Needs train.ema.
    restart: bool = False

    @model_validator(mode="after")
    def _some_factor(self) -> "StageConfig":
        if not any(f > 0 for f in self.mix.values()):
            raise ValueError("mix needs a factor > 0: a stage must draw from some dataset")
        return self


def _multiple_of_8(value: int) -> int:
    if value % 8:
        raise ValueError(f"must be a multiple of 8, the VAE's downscaling (got {value}; try {max(8, value // 8 * 8)})")
    return value


# A square image side for the model: the VAE needs a multiple of 8; 2048 is beyond any Stable Diffusion.
Resolution = Annotated[integer(ge=8, le=2048), AfterValidator(_multiple_of_8)]


class DataConfig(_Strict):
    datasets: Annotated[list[DatasetConfig], Field(min_length=1)]
    stages: Annotated[list[StageConfig], Field(min_length=1)]
    resolution: Resolution = 256  # square training size
    resize: Literal["squash", "crop"] = "squash"  # squash: AURORA (whole frame, res x res); crop: short side + square crop
    random_crop: bool = True  # with resize: crop
    flip: Literal["swap", "skip", "off"] = "swap"
    num_workers: integer(ge=0, le=256) = 0
    # Pre-encode the VAE moments of every pair once (both flips) and reuse them every step; needs
    # a deterministic crop (resize: squash, or random_crop: false). Kept in cache_dir
    # (default OUTPUT_DIR/latent_cache) and reused by later runs with the same data and VAE.
    cache_latents: bool = False
    cache_dir: Text | None = None

    @model_validator(mode="after")
    def _check_names(self) -> "DataConfig":
        names = [d.name for d in self.datasets]
        if len(set(names)) != len(names):
            raise ValueError(f"dataset names must be unique: {names}")
        for i, st in enumerate(self.stages):
            for n in st.mix:
                if n not in names:
                    raise ValueError(f"stages[{i}].mix names unknown dataset {n[:40]!r} (known: {', '.join(names)})")
        for st in self.stages[:-1]:
            if st.steps is None:
                raise ValueError("only the last stage may omit steps")
        if self.cache_latents and not (self.resize == "squash" or not self.random_crop):
            raise ValueError("cache_latents needs a deterministic crop: resize: squash, or random_crop: false")
        return self


class EmaConfig(_Strict):
    enabled: bool = False
    decay: real(gt=0, lt=1) = 0.9999


class TrainConfig(_Strict):
    max_steps: integer(ge=1, le=MAX_STEPS)
    # Per process and micro-batch; see `trainer/memory.py` for the limit with the resolution.
    batch_size: integer(ge=1) = 4
    gradient_accumulation: integer(ge=1, le=100_000) = 1
    learning_rate: real(gt=0, le=1) = 5e-5  # AURORA / InstructPix2Pix; above 1 AdamW only diverges
    adam_beta1: real(ge=0, lt=1) = 0.9
    adam_beta2: real(ge=0, lt=1) = 0.999
    adam_epsilon: real(gt=0, le=1) = 1e-8
    weight_decay: real(ge=0, le=1) = 1e-2  # decoupled (AdamW): each step shrinks weights by lr x weight_decay
    lr_scheduler: Literal["constant", "linear", "cosine"] = "constant"  # after warm-up (any scheduler)
    warmup_steps: integer(ge=0, le=MAX_STEPS) = 0  # linear from 1e-6 x lr, as AURORA's LambdaLinearScheduler
    max_grad_norm: real(ge=0, le=1e6) | None = 1.0  # 0 or null: no clipping
    mixed_precision: Literal["auto", "no", "fp16", "bf16"] = "auto"  # auto: bf16 on a GPU that has it, else fp16; none on CPU
    gradient_checkpointing: bool = False
    compile: bool = False  # torch.compile the UNet (GPU; the first steps pay for compilation)
    conditioning_dropout: real(ge=0, le=1 / 3) = 0.05  # InstructPix2Pix: 5% no text, 5% no image, 5% neither
    ema: EmaConfig = EmaConfig()
    checkpoint_every: integer(ge=1, le=MAX_STEPS) = 500
    keep_checkpoints: integer(ge=1, le=1000) = 3
    log_every: integer(ge=1, le=MAX_STEPS) = 10


class EditActionConfig(_Strict):
    """EditAction (section 3.3): L = L_static + action_weight * L_action + reg_weight * L_reg."""

    freeze_cross_attention: bool = False
    action_weight: real(ge=0, le=1000) = 0.0
    reg_weight: real(ge=0, le=1000) = 0.0


class ValidationExample(_Strict):
    image: Text
    instruction: Text
    target: Text | None = None


class ValidationConfig(_Strict):
    every: integer(ge=1, le=MAX_STEPS) = 500
    examples: list[ValidationExample] = []  # empty: the first `num_examples` pairs of the first stage's datasets
    num_examples: integer(ge=0, le=64) = 4  # one grid row each
    inference_steps: integer(ge=1, le=1000) = 20
    guidance_scale: real(ge=0, le=100) = 7.5  # text
    image_guidance_scale: real(ge=0, le=100) = 1.5


class Config(_Strict):
    model: ModelConfig
    data: DataConfig
    train: TrainConfig
    output_dir: Text
    seed: integer(ge=0, le=2**63 - 1) = 0
    editaction: EditActionConfig = EditActionConfig()
    validation: ValidationConfig = ValidationConfig()

    @model_validator(mode="after")
    def _check_restart(self) -> "Config":
        for i, st in enumerate(self.data.stages):
            if st.restart and not self.train.ema.enabled:
                raise ValueError(f"data.stages[{i}].restart begins from the EMA weights: enable train.ema")
        return self


def load_config(path: str | Path) -> Config:
    path = Path(path)
    return parse_config(read_yaml(path, "config", TrainError), str(path))


def parse_config(raw: object, file: str = "<config>") -> Config:
    """The validated config, or one TrainError line naming the file and the field."""
    if raw is None:
        raise TrainError("the config is empty", file=file)
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as e:
        field, msg = first_error(e)
        raise TrainError(msg, file=file, field=field or None) from None
    check_micro_batch(cfg.train.batch_size, cfg.data.resolution, file=file)
    return cfg
