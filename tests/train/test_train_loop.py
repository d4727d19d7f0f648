"""End-to-end on the tiny model (CPU, one thread)."""
import numpy as np
import pytest
import torch
from conftest import square_pair, tiny_config, write_aurora_json, write_render_run
from PIL import Image

from simedit.train.data.batches import collate
from simedit.train.config import parse_config
from simedit.train.trainer.loop import Trainer
from simedit.train.trainer.model import cross_attention_parameters, widen_conv_in

pytestmark = pytest.mark.slow
STEPS = 30


def fixed_loss(tr: Trainer, batch: dict) -> float:
    """The objective on a fixed batch: its items' keys fix the noise and timesteps."""
    with torch.no_grad():
        return tr.compute_loss(batch)[0].item()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_render_run(tmp_path_factory.mktemp("data") / "run", n=6)


@pytest.fixture(scope="module")
def trained(tiny_model, data, tmp_path_factory):
    """One uninterrupted run, shared by the tests below."""
    out = tmp_path_factory.mktemp("runs") / "full"
    cfg = parse_config(tiny_config(tiny_model, data, out, train={"max_steps": STEPS},
                                   validation={"every": STEPS, "num_examples": 2, "inference_steps": 2}))
    tr = Trainer(cfg)
    stream_batch = collate([tr_item for tr_item in (_item(tr, n) for n in range(4))])
    before = fixed_loss(tr, stream_batch)
    result = tr.run(progress=False)
    return {"cfg": cfg, "result": result, "before": before, "after": fixed_loss(tr, stream_batch)}


def _item(tr, n):
    from simedit.train.data.augment import AugmentConfig
    from simedit.train.data.batches import PairStream
    return PairStream(tr.plan, AugmentConfig(16, flip="off"), 99)[(0, n)]


def test_loss_falls(trained):
    r = trained["result"]
    assert len(r.losses) == STEPS and all(np.isfinite(r.losses))
    # each step's own time (benchmarks/train.py's figure): checkpoints and validation are not in it
    assert len(r.step_seconds) == STEPS and all(s > 0 for s in r.step_seconds)
    assert sum(r.step_seconds) < STEPS / r.steps_per_second
    assert trained["after"] < 0.6 * trained["before"], (trained["before"], trained["after"])
    assert np.mean(r.losses[-8:]) < 0.7 * np.mean(r.losses[:4])


def test_resume_reproduces_next_step_loss(trained, tiny_model, data, tmp_path):
    full = trained["result"].losses
    cfg = parse_config(tiny_config(tiny_model, data, tmp_path / "part", train={"max_steps": STEPS},
                                   validation={"num_examples": 0}))
    first = Trainer(cfg).run(stop_after=4, progress=False)
    assert first.final_dir is None and np.allclose(first.losses, full[:4], rtol=1e-5)
    second = Trainer(cfg).run(resume=True, stop_after=2, progress=False)  # a new process, in effect
    assert second.start_step == 4
    assert np.allclose(second.losses, full[4:6], rtol=1e-5, atol=1e-7), (second.losses, full[4:6])


def test_saved_pipeline_loads_and_edits(trained):
    from diffusers import StableDiffusionInstructPix2PixPipeline
    r = trained["result"]
    pipe = StableDiffusionInstructPix2PixPipeline.from_pretrained(r.final_dir)
    src = square_pair(0)[0].resize((16, 16))
    out = pipe("move the red square to the right", image=src, num_inference_steps=2,
               generator=torch.Generator().manual_seed(0), output_type="np").images[0]
    assert out.shape == (16, 16, 3) and np.isfinite(out).all()
    assert len(r.validation_grids) == 1
    grid = Image.open(r.validation_grids[0])
    assert grid.size == (3 * 16, 2 * 16)  # rows: examples; columns: source, target, edit
    assert (r.output_dir / "checkpoints").is_dir()


def _grads(tr: Trainer) -> dict[str, bool]:
    batch = collate([_item(tr, n) for n in range(2)])
    tr.optimizer.zero_grad(set_to_none=True)
    loss, stats = tr.compute_loss(batch, 0)
    loss.backward()
    return {n: p.grad is not None and bool(p.grad.abs().sum() > 0) for n, p in tr.unet.named_parameters()}, stats


def test_editaction_options_change_which_parameters_get_gradients(tiny_model, tmp_path):
    # Two sources so every instruction has a negative sharing no word with it.
    run = write_render_run(tmp_path / "r", n=4)
    aj = write_aurora_json(tmp_path / "aj", n=4, instruction="shift")
    base = tiny_config(tiny_model, run, tmp_path / "o", train={"conditioning_dropout": 0.0})
    base["data"]["datasets"].append({"name": "aj", "type": "aurora_json", "path": str(aj)})
    base["data"]["stages"] = [{"mix": {"run": 1, "aj": 1}}]

    plain = Trainer(parse_config(base))
    g, stats = _grads(plain)
    cross = set(cross_attention_parameters(plain.unet))
    assert cross and all(g[n] for n in cross)
    assert set(stats) == {"static"}

    ea = parse_config({**base, "editaction": {"freeze_cross_attention": True, "action_weight": 1.0, "reg_weight": 1.0}})
    tr = Trainer(ea)
    g, stats = _grads(tr)
    assert not any(g[n] for n in cross)  # frozen cross-attention
    assert all(g[n] for n in g if n not in cross)  # everything else still trains
    assert len(tr.params) == len(g) - len(cross)  # the optimizer never sees them
    assert all(p.grad is None for p in tr.frozen.ref_unet.parameters())
    assert all(p.grad is None for p in tr.c.text_encoder.parameters())
    assert stats["reg"] < 1e-10  # at the start the UNet is the frozen one
    assert stats["action"] > 0
    assert {tr.negatives(collate([_item(tr, n)]), 0)[0] for n in range(4)} <= set(tr.pools[0].texts)


def test_mask_channel_and_widening(tiny_model, tmp_path):
    run = write_render_run(tmp_path / "r", n=4)
    raw = tiny_config(tiny_model, run, tmp_path / "o")
    raw["model"].update(mask_channel=True, mask_dropout=0.0)
    tr = Trainer(parse_config(raw))
    assert tr.unet.config.in_channels == 9
    w = tr.unet.conv_in.weight
    assert torch.all(w[:, 8] == 0)
    g, _ = _grads(tr)
    assert tr.unet.conv_in.weight.grad[:, 8].abs().sum() > 0  # the mask reaches the model
    # Widening keeps the old function: zero weights for the new channels.
    from diffusers import UNet2DConditionModel
    unet = UNet2DConditionModel.from_pretrained(tiny_model, subfolder="unet").eval()
    x, t, h = torch.randn(1, 8, 8, 8), torch.tensor([10]), torch.randn(1, 5, 32)
    with torch.no_grad():
        before = unet(x, t, encoder_hidden_states=h).sample
        widen_conv_in(unet, 9)
        after = unet(torch.cat([x, torch.randn(1, 1, 8, 8)], 1), t, encoder_hidden_states=h).sample
    assert unet.config.in_channels == 9 and torch.allclose(before, after, atol=1e-6)


def test_ema_accumulation_and_stages_run_and_resume(tiny_model, tmp_path):
    run = write_render_run(tmp_path / "r", n=4)
    aj = write_aurora_json(tmp_path / "aj", n=4)
    raw = tiny_config(tiny_model, run, tmp_path / "o",
                      train={"max_steps": 4, "gradient_accumulation": 2, "ema": {"enabled": True, "decay": 0.9},
                             "lr_scheduler": "cosine", "warmup_steps": 1, "checkpoint_every": 1, "keep_checkpoints": 2},
                      validation={"every": 2, "num_examples": 1, "inference_steps": 1})
    raw["data"]["datasets"].append({"name": "aj", "type": "aurora_json", "path": str(aj)})
    raw["data"]["stages"] = [{"steps": 2, "mix": {"run": 1}}, {"mix": {"aj": 1}}]
    cfg = parse_config(raw)
    tr = Trainer(cfg)
    init = {n: p.detach().clone() for n, p in tr.unet.named_parameters()}
    r = tr.run(progress=False)
    assert len(r.losses) == 4 and r.final_dir is not None and len(r.validation_grids) == 2
    names = sorted(p.name for p in (tmp_path / "o" / "checkpoints").iterdir())
    assert names == ["step-000003", "step-000004"]  # keep the last K
    # The EMA lies between the initial and the live weights; the live weights survive validation swaps.
    n = "conv_out.weight"
    k = [name for name, p in tr.unwrapped.named_parameters() if p.requires_grad].index(n)
    live, ema = tr.unwrapped.get_parameter(n).detach(), tr.ema.shadow_params[k]
    assert not torch.equal(live, init[n]) and not torch.equal(ema, live) and not torch.equal(ema, init[n])
    # The saved pipeline holds the EMA weights.
    from diffusers import UNet2DConditionModel
    saved = UNet2DConditionModel.from_pretrained(r.final_dir, subfolder="unet")
    assert torch.allclose(saved.get_parameter(n), ema.cpu())  # the EMA lives on the training device
    # A changed data config refuses to resume (it would not be the same run).
    raw["seed"] = 4
    raw["train"]["max_steps"] = 5
    from simedit.train.errors import TrainError
    with pytest.raises(TrainError, match="seed"):
        Trainer(parse_config(raw)).run(resume=True, progress=False)
