"""The training objective's terms: InstructPix2Pix noise prediction, plus EditAction's.

- static: || eps - eps_theta(x_t, t, image, text) ||^2 on the target latent, with the source
  latent concatenated to x_t (InstructPix2Pix).
- action (EditAction eq. 4-5): the diffusion model as a classifier between the true instruction c
  and a negative c' with another action (`data/actions.py`); p(c | x0, i) = softmax over
  (-L_c, -L_c'), each L an ELBO estimate with the same noise and timestep, and we minimise
  -log p(c | x0, i) = softplus(L_c - L_c').
- reg (eq. 6): || eps_frozen - eps_theta ||^2 toward the frozen initial UNet.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def per_example_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(pred.float(), target.float(), reduction="none").mean(dim=tuple(range(1, pred.ndim)))


def action_loss(mse_true: torch.Tensor, mse_negative: torch.Tensor) -> torch.Tensor:
    """-log p(c | x0, i) with p from the two ELBO estimates (lower error = more likely)."""
    return F.softplus(mse_true - mse_negative)
