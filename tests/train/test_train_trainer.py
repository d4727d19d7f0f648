"""The loop on accelerate: processes, EMA placement, warm-up, stage restarts, logging, sampling."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import tiny_config, write_render_run

from simedit.train.config import load_config, parse_config
from simedit.train.errors import TrainError
from simedit.train.trainer.loop import Trainer
from simedit.train.trainer.schedule import F_START, LRFactor

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:for .*copying from a non-meta parameter")]
CONFIGS = Path(__file__).resolve().parents[2] / "train" / "configs"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return write_render_run(tmp_path_factory.mktemp("data") / "run", n=6)


def _log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]


def test_two_processes_follow_one_process_at_the_same_global_batch(tiny_model, run_dir, tmp_path):
    """`accelerate launch --num_processes 2` (gloo on CPU) at batch 2 = one process at batch 4. On
    the CPU on any machine: on one with a single GPU both processes would take it (NCCL refuses)."""
    common = {"train": {"max_steps": 4, "log_every": 1, "checkpoint_every": 100, "gradient_accumulation": 2},
              "validation": {"num_examples": 0}}
    one = tiny_config(tiny_model, run_dir, tmp_path / "one", **common)
    one["train"]["batch_size"] = 4
    two = tiny_config(tiny_model, run_dir, tmp_path / "two", **common)
    two["train"]["batch_size"] = 2
    (tmp_path / "two.yaml").write_text(yaml.safe_dump(two))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    r = subprocess.run([shutil.which("accelerate") or "accelerate", "launch", "--multi_gpu", "--num_processes", "2",
                        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                        "-m", "simedit.train", "--config", str(tmp_path / "two.yaml")],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "on 2 processes" in r.stdout and r.stdout.count("trained steps") == 1  # one summary
    single = Trainer(parse_config(one), device="cpu").run(progress=False)
    two_losses = [row["loss"] for row in _log(tmp_path / "two")]
    assert np.allclose(single.losses, two_losses, rtol=1e-4, atol=1e-6), (single.losses, two_losses)
    # the same weights at the end
    from diffusers import UNet2DConditionModel
    a = UNet2DConditionModel.from_pretrained(tmp_path / "one" / "final", subfolder="unet").conv_out.weight
    b = UNet2DConditionModel.from_pretrained(tmp_path / "two" / "final", subfolder="unet").conv_out.weight
    assert torch.allclose(a, b, atol=1e-5)


def _ema_config(model, run, out, **train):
    return parse_config(tiny_config(model, run, out, train={"max_steps": 6, "ema": {"enabled": True, "decay": 0.9},
                                                              **train}, validation={"num_examples": 0}))


def test_ema_from_a_checkpoint_goes_next_to_the_weights(tiny_model, run_dir, tmp_path):
    """A checkpoint loads on the CPU; the EMA copy must follow the weights to their device (on a
    GPU the first update would otherwise mix devices). The weights are put on the meta device
    here: the same code path, and the same failure without the fix."""
    cfg = _ema_config(tiny_model, run_dir, tmp_path / "o")
    tr = Trainer(cfg)
    tr.run(stop_after=2, progress=False)
    state = torch.load(tmp_path / "o" / "checkpoints" / "step-000002" / "state.pt", map_location="cpu",
                       weights_only=False)
    tr.unwrapped.to("meta")
    tr.params = [p for p in tr.unwrapped.parameters() if p.requires_grad]
    tr.load_state_dict(state)
    assert {s.device.type for s in tr.ema.shadow_params} == {"meta"}
    tr.ema.step(tr.params)  # "Tensor on device meta is not on the expected device cpu!" without the fix


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_ema_resume_on_a_gpu(tiny_model, run_dir, tmp_path):
    cfg = _ema_config(tiny_model, run_dir, tmp_path / "o")
    Trainer(cfg, device="cuda").run(stop_after=2, progress=False)
    tr = Trainer(cfg, device="cuda")
    r = tr.run(resume=True, stop_after=2, progress=False)
    assert r.end_step == 4 and {s.device.type for s in tr.ema.shadow_params} == {"cuda"}


def test_warm_up_applies_to_every_schedule_and_restarts_with_a_stage():
    f = LRFactor("constant", warmup=4, total=10)
    assert np.allclose([f(s) for s in range(6)], [F_START, 0.25, 0.5, 0.75, 1.0, 1.0], atol=1e-5)
    g = LRFactor("cosine", warmup=2, total=12, restarts=(6,))
    assert g(6) == F_START and g(8) == 1.0 and g(5) < 0.2 and g(11) < 0.2
    cfg = load_config(CONFIGS / "aurora_mix.yaml")
    assert cfg.train.warmup_steps == 1000 and cfg.data.stages[1].restart  # AURORA: 1,000 warm-up steps


def test_the_trainer_warms_up_a_constant_schedule(tiny_model, run_dir, tmp_path):
    tr = Trainer(parse_config(tiny_config(tiny_model, run_dir, tmp_path / "o",
                                          train={"warmup_steps": 3, "learning_rate": 1e-3})))
    lrs = []
    for _ in range(4):
        lrs.append(tr.lr_scheduler.get_last_lr()[0])
        tr.optimizer.step()
        tr.lr_scheduler.step()
    assert np.allclose(lrs, [1e-9, 1e-3 / 3, 2e-3 / 3, 1e-3], rtol=1e-3)


def test_unknown_prediction_type_is_a_user_error(tiny_model, run_dir, tmp_path):
    model = tmp_path / "m"
    shutil.copytree(tiny_model, model)
    p = model / "scheduler" / "scheduler_config.json"
    p.write_text(json.dumps({**json.loads(p.read_text()), "prediction_type": "flow"}))
    with pytest.raises(TrainError, match="prediction_type 'flow'"):
        Trainer(parse_config(tiny_config(model, run_dir, tmp_path / "o")))


def test_logged_loss_parts_average_every_micro_batch(tiny_model, run_dir, tmp_path):
    cfg = tiny_config(tiny_model, run_dir, tmp_path / "o", validation={"num_examples": 0},
                      train={"max_steps": 3, "gradient_accumulation": 3, "log_every": 1})
    Trainer(parse_config(cfg)).run(progress=False)
    for row in _log(tmp_path / "o"):  # without other terms the loss is the static part
        assert row["static"] == pytest.approx(row["loss"], rel=1e-5)


def test_a_restart_stage_begins_from_the_ema_weights(tiny_model, run_dir, tmp_path):
    raw = tiny_config(tiny_model, run_dir, tmp_path / "o", validation={"num_examples": 0},
                      train={"max_steps": 4, "ema": {"enabled": True, "decay": 0.9}, "warmup_steps": 1})
    raw["data"]["stages"] = [{"steps": 2, "mix": {"run": 1}}, {"mix": {"run": 1}, "restart": True}]
    tr = Trainer(parse_config(raw))
    assert tr.plan.restarts() == (2,)
    tr.run(stop_after=2, progress=False)
    ema = [s.clone() for s in tr.ema.shadow_params]
    assert tr.optimizer.optimizer.state
    tr.restart_from_ema()
    assert all(torch.equal(p, s) for p, s in zip(tr.params, ema))
    assert not tr.optimizer.optimizer.state and tr.ema.optimization_step == 0
    assert tr.lr_scheduler.lr_lambdas[0](2) == F_START  # the warm-up starts again
    raw["train"]["ema"]["enabled"] = False
    with pytest.raises(TrainError, match="restart"):
        parse_config(raw)


def test_saving_the_pipeline_keeps_the_frozen_parts_in_the_training_precision(tiny_model, run_dir, tmp_path):
    """The pipeline is saved in float32; the trainer's VAE and text encoder go back to the precision
    it trains them in (bf16 on a GPU), or the next loss feeds bf16 images to a float32 VAE (seen
    on an H100). Here the parts are put in bf16 by hand: the same path on the CPU."""
    tr = Trainer(parse_config(tiny_config(tiny_model, run_dir, tmp_path / "o", validation={"num_examples": 0})))
    for part in (tr.c.vae, tr.c.text_encoder):
        part.to(torch.bfloat16)
    tr.frozen.weight_dtype = torch.bfloat16
    out = tr.save_pipeline(tmp_path / "saved")
    assert tr.c.vae.dtype == tr.c.text_encoder.dtype == torch.bfloat16
    from safetensors import safe_open
    with safe_open(str(next((out / "vae").glob("*.safetensors"))), "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float32}  # as saved, not as loaded
