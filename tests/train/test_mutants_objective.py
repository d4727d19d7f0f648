"""The training objective on the real tiny UNet: what a user relies on when a run's loss is
logged and optimised. The loss is the noise-prediction error against the scheduler's target for
the model's prediction type; the latent cache gives the same loss as encoding the images; the
region mask reaches the UNet only for pairs that have one, and never without the image;
EditAction's action term prefers the true instruction and skips items trained without text; the
regulariser is zero for the frozen copy of the UNet itself."""
from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from test_train_dropout import config, latent_batch, tiny

from simedit.train.trainer import losses
from simedit.train.trainer.objective import draw, item_seed, micro_batch_loss, target_for

torch.set_num_threads(1)
KEYS = [(0, k) for k in range(6)]


def loss_seen(unet, *args, **kwargs):
    """micro_batch_loss(unet, ...) without gradients, and what the UNet received and returned in
    each forward pass (a forward hook)."""
    calls = []

    def hook(module, hook_args, hook_kwargs, output):
        calls.append({"x": hook_args[0].detach().clone(), "t": hook_args[1].detach().clone(),
                      "text": hook_kwargs["encoder_hidden_states"].detach().clone(),
                      "out": output.sample.detach().clone()})

    handle = unet.register_forward_hook(hook, with_kwargs=True)
    try:
        with torch.no_grad():
            return micro_batch_loss(unet, *args, **kwargs), calls
    finally:
        handle.remove()


def test_per_example_mse_and_the_action_loss():
    pred, target = torch.zeros(3, 2, 2, 2), torch.ones(3, 2, 2, 2)
    target[1] *= 3
    assert torch.allclose(losses.per_example_mse(pred, target), torch.tensor([1.0, 9.0, 1.0]))
    assert losses.per_example_mse(pred.half(), target.half()).dtype == torch.float32
    # -log p(true) over two candidates: log 2 when both explain the pair equally well
    equal = losses.action_loss(torch.tensor([0.5]), torch.tensor([0.5]))
    assert torch.allclose(equal, torch.tensor([math.log(2)]))
    better, worse = (losses.action_loss(torch.tensor([a]), torch.tensor([b])) for a, b in ((0.1, 0.9), (0.9, 0.1)))
    assert better < equal < worse and better > 0
    assert torch.allclose(losses.action_loss(torch.tensor([0.0]), torch.tensor([30.0])), torch.tensor([0.0]), atol=1e-6)


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction", "sample"])
def test_the_loss_is_the_error_against_the_schedulers_target(prediction_type):
    parts = tiny()
    frozen = copy.copy(parts.frozen)
    from diffusers import DDPMScheduler
    frozen.noise_scheduler = DDPMScheduler.from_config(parts.frozen.noise_scheduler.config,
                                                       prediction_type=prediction_type)
    assert frozen.noise_scheduler.config.prediction_type == prediction_type
    batch = latent_batch(KEYS, torch.Generator().manual_seed(1))
    (loss, stats), calls = loss_seen(parts.unet, frozen, batch, 5, config(conditioning_dropout=0.0))
    (call,) = calls
    # rebuild the noisy latent from the item draws: what the UNet saw is x_t, and its target
    d = draw(5, KEYS, (4, 4, 4), 1000)
    m = batch["moments"]
    mean_t, std_t = m[:, 1, :4], torch.exp(0.5 * m[:, 1, 4:])
    latents = (mean_t + std_t * d.latent_eps) * parts.frozen.vae.config.scaling_factor
    sch = frozen.noise_scheduler
    assert torch.equal(call["t"], d.timesteps)
    assert torch.allclose(call["x"][:, :4], sch.add_noise(latents, d.noise, d.timesteps), atol=1e-5)
    assert torch.allclose(call["x"][:, 4:], m[:, 0, :4])  # the source latent's mean, unscaled
    target = {"epsilon": d.noise, "v_prediction": sch.get_velocity(latents, d.noise, d.timesteps),
              "sample": latents}[prediction_type]
    assert torch.allclose(target_for(prediction_type, sch, latents, d.noise, d.timesteps), target)
    assert loss.item() == pytest.approx(F.mse_loss(call["out"], target).item(), rel=1e-5)
    assert set(stats) == {"static"} and stats["static"].item() == pytest.approx(loss.item())
    with pytest.raises(ValueError, match="flow"):
        target_for("flow", sch, latents, d.noise, d.timesteps)


def test_the_draws_are_a_function_of_seed_and_key():
    a, b = draw(1, [(0, 1), (2, 3)], (4, 2, 2), 1000), draw(1, [(2, 3)], (4, 2, 2), 1000)
    assert torch.equal(a.noise[1], b.noise[0]) and torch.equal(a.timesteps[1:], b.timesteps)
    assert not torch.equal(a.noise[0], a.noise[1]) and not torch.equal(a.latent_eps[0], a.noise[0])
    assert ((a.timesteps >= 0) & (a.timesteps < 1000)).all()
    assert ((a.u_drop >= 0) & (a.u_drop < 1)).all() and not torch.equal(a.u_drop, a.u_mask)
    assert item_seed(1, (2, 3)) != item_seed(1, (3, 2)) != item_seed(2, (2, 3))
    assert 0 <= item_seed(1, (2, 3)) < 2 ** 64
    big = draw(0, [(0, k) for k in range(400)], (1, 1, 1), 1000)
    assert big.timesteps.float().std() > 200  # spread over the whole schedule


def test_the_latent_cache_gives_the_loss_of_the_encoded_images():
    parts = tiny()
    g = torch.Generator().manual_seed(2)
    source, target = torch.rand(3, 3, 16, 16, generator=g) * 2 - 1, torch.rand(3, 3, 16, 16, generator=g) * 2 - 1
    keys = KEYS[:3]
    images = {"key": keys, "source": source, "target": target, "instruction": ["a", "b", "c"],
              "has_mask": torch.zeros(3, dtype=torch.bool)}
    with torch.no_grad():
        enc = [parts.frozen.vae.encode(x).latent_dist for x in (source, target)]
    moments = torch.stack([torch.cat([d.mean, d.logvar], 1) for d in enc], 1)
    cached = {**images, "moments": moments}
    cfg = config(conditioning_dropout=0.0)
    with torch.no_grad():
        a = micro_batch_loss(parts.unet, parts.frozen, images, 9, cfg)[0]
        b = micro_batch_loss(parts.unet, parts.frozen, cached, 9, cfg)[0]
        c = micro_batch_loss(parts.unet, parts.frozen, cached, 10, cfg)[0]
    assert a.item() == pytest.approx(b.item(), rel=1e-4)
    assert c.item() != pytest.approx(b.item(), rel=1e-4)  # another seed, other noise


def test_the_region_mask_reaches_the_unet_only_for_pairs_that_have_one():
    parts = tiny()
    unet = copy.deepcopy(parts.unet)
    from simedit.train.trainer.model import widen_conv_in
    widen_conv_in(unet, 9)
    n = 400
    batch = latent_batch([(0, k) for k in range(n)], torch.Generator().manual_seed(3))
    batch["has_mask"] = torch.arange(n) % 2 == 0
    batch["mask"] = torch.ones(n, 1, 16, 16)
    cfg = config(conditioning_dropout=0.1, model={"mask_channel": True, "mask_dropout": 0.3})
    x = loss_seen(unet, parts.frozen, batch, 3, cfg)[1][0]["x"]
    assert x.shape[1] == 9
    mask_seen = x[:, 8].flatten(1).amax(1) > 0
    image_seen = x[:, 4:8].flatten(1).abs().amax(1) > 0
    assert torch.allclose(x[mask_seen, 8], torch.ones_like(x[mask_seen, 8]))  # the area-resized mask
    assert not mask_seen[~batch["has_mask"]].any()  # a pair without a mask never shows one
    assert not (mask_seen & ~image_seen).any()  # nor one whose image was dropped
    with_mask = batch["has_mask"] & image_seen
    share = mask_seen[with_mask].float().mean().item()
    assert abs(share - 0.7) < 0.1, share  # blanked for mask_dropout of the steps
    # the cached, latent-sized mask is used as it is
    batch["latent_mask"] = torch.full((n, 1, 4, 4), 0.5)
    x = loss_seen(unet, parts.frozen, batch, 3, cfg)[1][0]["x"]
    assert set(x[:, 8].unique().tolist()) == {0.0, 0.5}


def test_editaction_terms():
    parts = tiny()
    n = 40
    batch = latent_batch([(0, k) for k in range(n)], torch.Generator().manual_seed(4))
    negatives = ["turn it upside down"] * (n - 1) + [None]
    cfg = config(conditioning_dropout=0.1, editaction={"action_weight": 0.5})
    (loss, stats), calls = loss_seen(parts.unet, parts.frozen, batch, 3, cfg, negatives)
    (call,) = calls  # one forward for the instruction and its negative together
    assert call["x"].shape[0] == 2 * n and torch.equal(call["x"][:n], call["x"][n:])
    assert set(stats) == {"static", "action"}
    assert loss.item() == pytest.approx(stats["static"].item() + 0.5 * stats["action"].item(), rel=1e-5)
    # the action term averages the items that have a negative and kept their text
    d = draw(3, batch["key"], (4, 4, 4), 1000)
    null = parts.frozen.null_text[0]
    kept_text = (call["text"][:n] - null).abs().flatten(1).amax(1) > 1e-6
    valid = kept_text.clone()
    valid[-1] = False
    assert 0 < valid.sum() < n - 1
    target = d.noise
    mse = F.mse_loss(call["out"][:n], target, reduction="none").flatten(1).mean(1)
    mse_neg = F.mse_loss(call["out"][n:], target, reduction="none").flatten(1).mean(1)
    assert stats["action"].item() == pytest.approx(F.softplus(mse - mse_neg)[valid].mean().item(), rel=1e-4)
    assert stats["static"].item() == pytest.approx(mse.mean().item(), rel=1e-5)
    # without a usable negative the action term does not run
    with torch.no_grad():
        _, stats = micro_batch_loss(parts.unet, parts.frozen, batch, 3, cfg, [None] * n)
    assert set(stats) == {"static"}


def test_the_regulariser_pulls_toward_the_frozen_unet():
    parts = tiny()
    frozen = copy.copy(parts.frozen)
    frozen.ref_unet = copy.deepcopy(parts.unet).requires_grad_(False)
    batch = latent_batch(KEYS, torch.Generator().manual_seed(5))
    cfg = config(editaction={"reg_weight": 2.0})
    with torch.no_grad():
        loss, stats = micro_batch_loss(parts.unet, frozen, batch, 3, cfg)
    assert set(stats) == {"static", "reg"} and stats["reg"].item() < 1e-10
    assert loss.item() == pytest.approx(stats["static"].item(), rel=1e-6)
    with torch.no_grad():
        for p in frozen.ref_unet.conv_out.parameters():
            p.add_(0.05)
        loss, stats = micro_batch_loss(parts.unet, frozen, batch, 3, cfg)
    assert stats["reg"].item() > 1e-4
    assert loss.item() == pytest.approx(stats["static"].item() + 2.0 * stats["reg"].item(), rel=1e-5)


def test_terms_switched_off_do_not_run_and_weight_one_does():
    parts = tiny()
    batch = latent_batch(KEYS, torch.Generator().manual_seed(6))
    negatives = ["turn it upside down"] * len(KEYS)
    (_, stats), calls = loss_seen(parts.unet, parts.frozen, batch, 3, config(), negatives)
    assert set(stats) == {"static"} and calls[0]["x"].shape[0] == len(KEYS)  # action_weight 0: no second pass
    frozen = copy.copy(parts.frozen)
    frozen.ref_unet = copy.deepcopy(parts.unet).requires_grad_(False)
    with torch.no_grad():
        for p in frozen.ref_unet.conv_out.parameters():
            p.add_(0.05)
    (loss, stats), _ = loss_seen(parts.unet, frozen, batch, 3, config(editaction={"reg_weight": 1.0}))
    assert set(stats) == {"static", "reg"}
    assert loss.item() == pytest.approx(stats["static"].item() + stats["reg"].item(), rel=1e-5)


def test_a_corrupt_latent_variance_cannot_blow_up_the_loss():
    parts = tiny()
    batch = latent_batch(KEYS, torch.Generator().manual_seed(7))
    batch["moments"][:, 1, 4:] = 500.0  # log-variance far beyond anything a VAE gives
    (loss, _), _ = loss_seen(parts.unet, parts.frozen, batch, 3, config())
    assert torch.isfinite(loss)
    batch["moments"][:, 1, 4:] = -500.0
    (loss, _), _ = loss_seen(parts.unet, parts.frozen, batch, 3, config())
    assert torch.isfinite(loss)


def test_a_thin_region_mask_is_averaged_onto_the_latent_grid_not_lost():
    parts = tiny()
    unet = copy.deepcopy(parts.unet)
    from simedit.train.trainer.model import widen_conv_in
    widen_conv_in(unet, 9)
    batch = latent_batch(KEYS, torch.Generator().manual_seed(8))
    mask = torch.zeros(len(KEYS), 1, 16, 16)
    mask[..., ::4] = 1.0  # one-pixel stripes, a quarter of the area
    batch.update(mask=mask, has_mask=torch.ones(len(KEYS), dtype=torch.bool))
    cfg = config(conditioning_dropout=0.0, model={"mask_channel": True, "mask_dropout": 0.0})
    x = loss_seen(unet, parts.frozen, batch, 3, cfg)[1][0]["x"]
    assert torch.allclose(x[:, 8], torch.full_like(x[:, 8], 0.25))
