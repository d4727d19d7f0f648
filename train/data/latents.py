"""Pre-encoded VAE latents (`data.cache_latents: true`).

Without a cache the frozen VAE encodes the source and the target of every pair at every step. With
a deterministic crop (`resize: squash`, or `random_crop: false`) the only random geometry left is
the flip, so each pair has exactly two augmented versions: both are encoded once, before training,
and the VAE moments (mean and log-variance, 2 x 4 channels at 1/8 of the resolution, float16) are
read from a memory map afterwards. The loss samples the target latent from the cached moments
with the item's own noise, exactly as it samples a freshly encoded one.

A cache lives in `CACHE_DIR/<source>-<key>/` (`moments.npy`, `mask.npy`, `index.json`); the key
hashes the source's files, the resolution, the resize mode and the VAE's weights, so a changed
dataset or VAE gets a new cache and an unchanged one is reused by later runs. The main process
builds it (progress bar); the others wait and read.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from simedit.render.common.atomic import atomic_write
from simedit.train.data.augment import AugmentConfig, Decision, apply
from simedit.train.data.batches import mask_to_tensor, to_tensor
from simedit.train.data.sources import Unreadable

VERSION = 1


class LatentCache:
    """Read side: moments of pair i (flipped or not) as tensors; Unreadable for a pair that was."""

    def __init__(self, folder: Path):
        self.folder = folder
        index = json.loads((folder / "index.json").read_text())
        self.valid = np.asarray(index["valid"], dtype=bool)
        self.has_mask = np.asarray(index["has_mask"], dtype=bool)
        self._moments = self._mask = None  # opened lazily: memory maps do not pickle to workers

    def get(self, i: int, flip: bool) -> tuple[torch.Tensor, torch.Tensor, bool]:
        if not self.valid[i]:
            raise Unreadable(f"pair {i} was unreadable when the latent cache {self.folder} was built")
        if self._moments is None:
            self._moments = np.load(self.folder / "moments.npy", mmap_mode="r")
            self._mask = np.load(self.folder / "mask.npy", mmap_mode="r")
        f = int(flip)
        return (torch.from_numpy(np.array(self._moments[i, f], dtype=np.float32)),
                torch.from_numpy(np.array(self._mask[i, f], dtype=np.float32)), bool(self.has_mask[i]))

    def __getstate__(self):
        return {**self.__dict__, "_moments": None, "_mask": None}


def _fingerprint(source, data_cfg, vae) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([VERSION, type(source).__name__, str(getattr(source, "root", "")), len(source),
                         data_cfg.resolution, data_cfg.resize, data_cfg.random_crop]).encode())
    for text in source.instructions():
        h.update(text.encode())
    manifest = Path(getattr(source, "root", "")) / "manifest.jsonl"
    for f in (manifest, Path(str(getattr(source, "path", "")))):
        if f.is_file():
            st = f.stat()
            h.update(f"{f}:{st.st_size}:{st.st_mtime_ns}".encode())
    h.update(json.dumps(dict(vae.config), sort_keys=True, default=str).encode())
    with torch.no_grad():
        for name, p in sorted(vae.state_dict().items()):
            h.update(name.encode())
            h.update(f"{float(p.float().sum()):.6e}:{float(p.float().abs().sum()):.6e}".encode())
    return h.hexdigest()[:16]


@torch.no_grad()
def build_cache(source, vae, data_cfg, folder: Path, dtype: torch.dtype, batch: int = 8,
                progress: bool = True) -> LatentCache:
    """Encode every pair of `source` (both flips) into `folder` unless a complete cache is there."""
    if (folder / "index.json").is_file():
        return LatentCache(folder)
    aug = AugmentConfig(data_cfg.resolution, data_cfg.random_crop, "off", resize=data_cfg.resize)
    device = next(vae.parameters()).device
    scale = 2 ** (len(vae.config.block_out_channels) - 1)
    lat = data_cfg.resolution // scale
    c2 = 2 * vae.config.latent_channels
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    n = len(source)
    moments = np.lib.format.open_memmap(tmp / "moments.npy", mode="w+", dtype=np.float16, shape=(n, 2, 2, c2, lat, lat))
    masks = np.lib.format.open_memmap(tmp / "mask.npy", mode="w+", dtype=np.float16, shape=(n, 2, 1, lat, lat))
    valid, has_mask = [True] * n, [False] * n
    for first in tqdm(range(0, n, batch), desc=f"encoding latents of {source.name}", unit="batch",
                      disable=not progress):
        idx, imgs, msks = [], [], []
        for i in range(first, min(n, first + batch)):
            try:
                ex = source.load(i)
            except Unreadable:
                valid[i] = False
                continue
            has_mask[i] = ex.mask is not None
            for flip in (False, True):
                a = apply(ex.source, ex.target, ex.mask, Decision(0.5, 0.5, flip, ex.instruction), aug)
                imgs += [to_tensor(a.source), to_tensor(a.target)]
                msks.append(mask_to_tensor(a.mask, data_cfg.resolution))
            idx.append(i)
        if not idx:
            continue
        dist = vae.encode(torch.stack(imgs).to(device, dtype)).latent_dist
        mom = torch.cat([dist.mean, dist.logvar], dim=1).float().cpu().numpy()
        moments[idx] = mom.reshape(len(idx), 2, 2, c2, lat, lat).astype(np.float16)
        m = F.interpolate(torch.stack(msks), size=(lat, lat), mode="area").numpy()
        masks[idx] = m.reshape(len(idx), 2, 1, lat, lat).astype(np.float16)
    moments.flush()
    masks.flush()
    del moments, masks
    atomic_write(tmp / "index.json", json.dumps({"version": VERSION, "n": n, "valid": valid, "has_mask": has_mask}))
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return LatentCache(folder)


def build_caches(plan, vae, data_cfg, cache_dir: Path, acc, dtype: torch.dtype) -> dict[str, LatentCache]:
    """One cache per source of the plan (source name -> cache); built by the main process."""
    sources = {s.name: s for st in plan.stages for s in st.mixture.sources}
    folders = {name: Path(cache_dir) / f"{name}-{_fingerprint(src, data_cfg, vae)}" for name, src in sources.items()}
    if acc.is_main_process:
        for name, src in sources.items():
            build_cache(src, vae, data_cfg, folders[name], dtype)
    acc.wait_for_everyone()
    return {name: LatentCache(folder) for name, folder in folders.items()}
