"""Running a region-aware (mask-channel) editor end to end.

A model trained with `model.mask_channel: true` has a 9-channel UNet: noisy latent, source latent
and the edit mask. diffusers' `StableDiffusionInstructPix2PixPipeline` loads it (the folder is a
standard pipeline folder) but fails when called, because it feeds 8 channels. This subclass takes
`mask_image` (white = where to edit; None = a blank mask, free-form editing, as in training) and
feeds it as the 9th channel, at latent resolution, in the pipeline's three classifier-free
guidance branches (text+image, image only, neither: the mask is dropped with the image):

    from simedit.train.trainer.pipeline import MaskedInstructPix2PixPipeline
    pipe = MaskedInstructPix2PixPipeline.from_pretrained("out/run/final")
    edit = pipe("move the red mug to the left", image=src, mask_image=mask).images[0]

An 8-channel model runs unchanged (mask_image must then be None).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import StableDiffusionInstructPix2PixPipeline
from PIL import Image


def mask_tensor(mask: Image.Image | np.ndarray | torch.Tensor | None, size: tuple[int, int]) -> torch.Tensor | None:
    """A mask as 1 x 1 x H x W in [0, 1] at the image size (H, W); None stays None."""
    if mask is None:
        return None
    if isinstance(mask, torch.Tensor):
        m = mask.float()
        m = m[None, None] if m.ndim == 2 else (m[None] if m.ndim == 3 else m)
    else:
        img = mask if isinstance(mask, Image.Image) else Image.fromarray(np.asarray(mask).astype(np.uint8))
        img = img.convert("L").resize((size[1], size[0]), Image.NEAREST)
        m = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0)[None, None]
    return F.interpolate(m, size=size, mode="nearest") if tuple(m.shape[-2:]) != tuple(size) else m


class MaskedInstructPix2PixPipeline(StableDiffusionInstructPix2PixPipeline):
    """InstructPix2Pix with an optional edit-mask channel (see the module docstring)."""

    _mask: torch.Tensor | None = None

    @property
    def has_mask_channel(self) -> bool:
        return self.unet.config.in_channels == 2 * self.vae.config.latent_channels + 1

    def __call__(self, *args, mask_image=None, **kwargs):
        if mask_image is not None and not self.has_mask_channel:
            raise ValueError("this model has no mask channel; call it without mask_image")
        self._mask = mask_image
        try:
            return super().__call__(*args, **kwargs)
        finally:
            self._mask = None

    def prepare_image_latents(self, image, batch_size, num_images_per_prompt, dtype, device,
                              do_classifier_free_guidance, generator=None):
        latents = super().prepare_image_latents(image, batch_size, num_images_per_prompt, dtype, device,
                                                do_classifier_free_guidance, generator)
        if not self.has_mask_channel:
            return latents
        # The image latents come as (text+image, image only, neither) when guiding; the mask
        # follows the image: present in the first two, blank in the third, as in training.
        n = latents.shape[0] // 3 if do_classifier_free_guidance else latents.shape[0]
        size = latents.shape[-2:]
        m = mask_tensor(self._mask, tuple(s * self.vae_scale_factor for s in size))
        if m is None:
            m = torch.zeros(1, 1, *size)
        else:
            m = F.interpolate(m, size=size, mode="area")
        m = m.to(device, dtype).expand(n, 1, *size)
        if do_classifier_free_guidance:
            m = torch.cat([m, m, torch.zeros_like(m)])
        return torch.cat([latents, m], dim=1)
