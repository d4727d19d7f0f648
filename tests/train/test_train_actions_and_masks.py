"""EditAction's negatives differ in the action; the region mask covers the change; a mask-channel
model runs end to end."""
from __future__ import annotations

import json
import logging
from collections import Counter

import numpy as np
import pytest
import torch
from conftest import tiny_config, write_render_run
from PIL import Image

from simedit.render.rundir.contract import RunDir
from simedit.train.config import parse_config
from simedit.train.data.actions import NegativePool, content_words, verb_phrase
from simedit.train.data.demo import make_demo_run
from simedit.train.data.sources import RenderRun
from simedit.train.trainer.loop import Trainer

pytestmark = pytest.mark.slow


def test_actions_come_from_the_manifest_and_the_verb_phrase(tmp_path):
    run = RenderRun(make_demo_run(tmp_path / "demo", n=4))
    assert run.actions() == ["location.absolute", "attribute.color"] * 2
    assert verb_phrase("Putting a cup on the table") == "put"
    assert verb_phrase("please pick the cup up") == "pick up"
    assert verb_phrase("dropping the pen") == "drop"
    assert content_words("move the cup to the left of the bowl") == {"move", "cup", "left", "bowl"}


def test_negatives_differ_in_the_action_not_in_stopwords():
    rng = np.random.default_rng(0)
    texts, actions = [], []
    for i in range(300):  # every instruction has "the"; a few kinds dominate, as in a real run
        kind = ["count.remove", "location.relative", "rotation.flip", "stack.put_on"][i % 4 if i % 10 else 0]
        texts.append(f"{kind.split('.')[1]} the object{i % 7} with the thing")
        actions.append(kind)
    texts.append("turn mug")  # the only instruction without "the"
    actions.append("rotation.turn_90")
    pool = NegativePool(texts, actions)
    picks = Counter()
    for j in range(400):
        i = int(rng.integers(len(texts) - 1))
        neg = pool.pick(texts[i], actions[i], rng)
        assert neg is not None and actions[texts.index(neg)] != actions[i]
        picks[neg] += 1
    assert picks["turn mug"] < 20  # a stopword-free instruction is no longer the favourite negative
    assert NegativePool(["a", "b"], ["x", "x"]).pick("a", "x", rng) is None


def test_the_action_loss_runs_on_the_demo_data_and_warns_when_it_cannot(tiny_model, tmp_path, caplog):
    demo = make_demo_run(tmp_path / "demo", n=8, size=16)
    raw = tiny_config(tiny_model, demo, tmp_path / "o", train={"max_steps": 2, "log_every": 1},
                      editaction={"action_weight": 0.5}, validation={"num_examples": 0})
    Trainer(parse_config(raw)).run(progress=False)
    rows = [json.loads(line) for line in (tmp_path / "o" / "train_log.jsonl").read_text().splitlines()]
    assert all("action" in r for r in rows)
    one = write_render_run(tmp_path / "one", n=4)  # a single action: no negative can exist
    raw = tiny_config(tiny_model, one, tmp_path / "o2", train={"max_steps": 1},
                      editaction={"action_weight": 0.5}, validation={"num_examples": 0})
    with caplog.at_level(logging.WARNING):
        r = Trainer(parse_config(raw)).run(progress=False)
    assert r.action_loss_skipped == 1
    assert "no negative exists" in caplog.text and "skipped this micro-batch" in caplog.text


def _shadow_run(root):
    """A render-style run where the moved square casts a shadow on the floor (not in any mask)."""
    run = write_render_run(root, n=3)
    for i in range(3):
        key = f"{i:06d}"
        for side in ("source", "target"):
            a = np.array(Image.open(run / "images" / f"{key}_{side}.png"))
            m = np.array(Image.open(run / "masks" / f"{key}_{side}.png"))
            ys, xs = np.nonzero(m == 2)
            sh = np.zeros_like(m, bool)
            sh[ys.max() + 1: ys.max() + 4, xs.min() + 2: xs.max() + 4] = True  # below-right of the square
            a[sh & (m == 0)] = (90, 90, 90)
            Image.fromarray(a).save(run / "images" / f"{key}_{side}.png")
    return run


def test_the_region_mask_covers_the_change_shadows_included(tmp_path):
    run_dir = _shadow_run(tmp_path / "r")
    run, rd = RenderRun(run_dir), RunDir(run_dir)
    for i in range(3):
        ex = run.load(i)
        a, b = (np.asarray(x, dtype=np.int16) for x in (ex.source, ex.target))
        changed = np.abs(a - b).max(-1) > 10
        exact = rd.edit_mask(run.rows[i])
        assert (exact & changed).sum() / changed.sum() < 0.8  # the instance masks miss the shadow
        mask = np.asarray(ex.mask) > 0
        assert (mask & changed).sum() == changed.sum()  # every changed pixel is inside
        assert not mask[-3, 2]  # the still (unedited) dot is not
        assert mask.mean() < 0.6


def test_a_mask_channel_model_runs_end_to_end(tiny_model, tmp_path):
    from diffusers import StableDiffusionInstructPix2PixPipeline

    from simedit.train.trainer.pipeline import MaskedInstructPix2PixPipeline

    run = write_render_run(tmp_path / "r", n=4)
    raw = tiny_config(tiny_model, run, tmp_path / "o", train={"max_steps": 1}, validation={"num_examples": 0})
    raw["model"].update(mask_channel=True)
    final = Trainer(parse_config(raw)).run(progress=False).final_dir
    src = Image.new("RGB", (16, 16), (180, 180, 180))
    mask = Image.new("L", (16, 16), 0)
    mask.paste(255, (4, 4, 10, 10))
    stock = StableDiffusionInstructPix2PixPipeline.from_pretrained(final)
    with pytest.raises(ValueError):  # the stock pipeline feeds 8 channels to a 9-channel UNet
        stock("move it", image=src, num_inference_steps=1, output_type="np")
    pipe = MaskedInstructPix2PixPipeline.from_pretrained(final)
    kw = dict(image=src, num_inference_steps=2, output_type="np")
    with_mask = pipe("move it", mask_image=mask, generator=torch.Generator().manual_seed(0), **kw).images[0]
    blank = pipe("move it", generator=torch.Generator().manual_seed(0), **kw).images[0]
    assert with_mask.shape == (16, 16, 3) and np.isfinite(with_mask).all() and np.isfinite(blank).all()
    plain = MaskedInstructPix2PixPipeline.from_pretrained(tiny_model)  # an 8-channel model runs as usual
    with pytest.raises(ValueError, match="no mask channel"):
        plain("move it", mask_image=mask, **kw)
    assert plain("move it", **kw).images[0].shape == (16, 16, 3)
