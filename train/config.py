"""The training config: YAML validated with pydantic (unknown keys are errors, so a typo in a
hyperparameter name never silently falls back to a default). Relative paths are resolved against
the current directory, like any command-line path."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from simedit.render.common.yaml_file import read_yaml
from simedit.train.errors import TrainError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelConfig(_Strict):
    base: str  # a local diffusers pipeline folder (InstructPix2Pix, or Stable Diffusion: widened to 8 channels)
    mask_channel: bool = False  # region-aware: one more input channel with the edit mask (blank = free-form)
    mask_dropout: float = Field(0.5, ge=0, le=1)  # fraction of steps the mask is blanked, so free-form editing still works


class DatasetConfig(_Strict):
    name: str
    type: Literal["render", "aurora_json", "hf", "video"]
    path: str
    root: str | None = None  # aurora_json/video: folder the image paths are relative to (default: the JSON's folder)


class StageConfig(_Strict):
    steps: int | None = Field(None, gt=0)  # None: until train.max_steps
    mix: dict[str, float]  # dataset name -> factor (upsampling multiplier)
    # AURORA began its second stage as a new run from the first stage's EMA weights: live
    # weights <- EMA, fresh optimizer state, EMA and LR warm-up start again. Needs train.ema.
    restart: bool = False


class DataConfig(_Strict):
    datasets: list[DatasetConfig] = Field(min_length=1)
    stages: list[StageConfig] = Field(min_length=1)
    resolution: int = Field(256, gt=0)
    resize: Literal["squash", "crop"] = "squash"  # squash: AURORA (whole frame, res x res); crop: short side + square crop
    random_crop: bool = True  # with resize: crop
    flip: Literal["swap", "skip", "off"] = "swap"
    num_workers: int = Field(0, ge=0)
    # Pre-encode the VAE moments of every pair once (both flips) and reuse them every step; needs
    # a deterministic crop (resize: squash, or random_crop: false). Kept in cache_dir
    # (default OUTPUT_DIR/latent_cache) and reused by later runs with the same data and VAE.
    cache_latents: bool = False
    cache_dir: str | None = None

    @model_validator(mode="after")
    def _check_names(self) -> "DataConfig":
        names = [d.name for d in self.datasets]
        if len(set(names)) != len(names):
            raise ValueError(f"dataset names must be unique: {names}")
        for i, st in enumerate(self.stages):
            for n, f in st.mix.items():
                if n not in names:
                    raise ValueError(f"stages[{i}].mix names unknown dataset {n!r} (known: {', '.join(names)})")
                if f < 0:
                    raise ValueError(f"stages[{i}].mix[{n!r}] must be >= 0")
        for st in self.stages[:-1]:
            if st.steps is None:
                raise ValueError("only the last stage may omit steps")
        if self.cache_latents and not (self.resize == "squash" or not self.random_crop):
            raise ValueError("cache_latents needs a deterministic crop: resize: squash, or random_crop: false")
        return self


class EmaConfig(_Strict):
    enabled: bool = False
    decay: float = Field(0.9999, gt=0, lt=1)


class TrainConfig(_Strict):
    max_steps: int = Field(gt=0)
    batch_size: int = Field(4, gt=0)
    gradient_accumulation: int = Field(1, gt=0)
    learning_rate: float = Field(5e-5, gt=0)  # AURORA / InstructPix2Pix
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    weight_decay: float = 1e-2
    lr_scheduler: Literal["constant", "linear", "cosine"] = "constant"  # after warm-up (any scheduler)
    warmup_steps: int = Field(0, ge=0)  # linear from 1e-6 x lr, as AURORA's LambdaLinearScheduler
    max_grad_norm: float | None = 1.0
    mixed_precision: Literal["auto", "no", "fp16", "bf16"] = "auto"  # auto: bf16 on a GPU that has it, else fp16; none on CPU
    gradient_checkpointing: bool = False
    compile: bool = False  # torch.compile the UNet (GPU; the first steps pay for compilation)
    conditioning_dropout: float = Field(0.05, ge=0, le=1 / 3)  # InstructPix2Pix: 5% no text, 5% no image, 5% neither
    ema: EmaConfig = EmaConfig()
    checkpoint_every: int = Field(500, gt=0)
    keep_checkpoints: int = Field(3, gt=0)
    log_every: int = Field(10, gt=0)


class EditActionConfig(_Strict):
    """EditAction (section 3.3): L = L_static + action_weight * L_action + reg_weight * L_reg."""

    freeze_cross_attention: bool = False
    action_weight: float = Field(0.0, ge=0)
    reg_weight: float = Field(0.0, ge=0)


class ValidationExample(_Strict):
    image: str
    instruction: str
    target: str | None = None


class ValidationConfig(_Strict):
    every: int = Field(500, gt=0)
    examples: list[ValidationExample] = []  # empty: the first `num_examples` pairs of the first stage's datasets
    num_examples: int = Field(4, ge=0)
    inference_steps: int = Field(20, gt=0)
    guidance_scale: float = 7.5  # text
    image_guidance_scale: float = 1.5


class Config(_Strict):
    model: ModelConfig
    data: DataConfig
    train: TrainConfig
    output_dir: str
    seed: int = 0
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
    try:
        return Config.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or None
        more = f" (and {len(e.errors()) - 1} more)" if len(e.errors()) > 1 else ""
        raise TrainError(f"{err['msg']}{more}", file=file, field=loc) from None
