"""Image quality against cost: Cycles sample counts, OpenImageDenoise and adaptive sampling.

    python benchmarks/quality.py [--scenes 10] [--size 256] [--reference 2048] [--cache DIR]

Plans `--scenes` fixed pairs of the mixed spec (indices 0.., the first attempt that plans), and
renders each source with every setting below and once with `--reference` samples. Prints, per
setting: PSNR (dB) of the source against the reference over the pixels the edit does not reach
(outside the edited objects' masks, dilated), seconds per pair (source + target, the way a run
renders them), and how far the target departs from the source outside the edit (max |diff| in
0..255, and the share of those pixels over the verifier's pixel tolerance).

The reference renders are the slow part (minutes each on a laptop CPU): `--cache DIR` keeps them
(`ref-<spec>-<size>-<samples>-<index>.npz`) for the next run. Adaptive sampling is switched on in the benchmark only (the product keeps a fixed sample count:
the same noise pattern wherever the scene is the same).
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from simedit.render.backends.base import RenderSettings
from simedit.render.backends.cycles import CyclesRenderer
from simedit.render.catalog.model import load_catalog
from simedit.render.common.paths import SCENES_DIR
from simedit.render.common.quiet import quiet_fds
from simedit.render.masks import object_mask
from simedit.render.plan.planner import Planner
from simedit.render.spec import load_spec


@dataclass(frozen=True)
class Setting:
    samples: int
    denoise: bool = False
    adaptive: bool = False

    @property
    def label(self) -> str:
        return f"{self.samples:4d} spp" + (" + OIDN" if self.denoise else "") + (" adaptive" if self.adaptive else "")


SETTINGS = [Setting(32), Setting(64), Setting(128), Setting(32, True), Setting(64, True), Setting(128, True),
            Setting(128, False, True), Setting(64, True, True)]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(float) - b.astype(float)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def renderer(catalog, setting: Setting, size: int) -> CyclesRenderer:
    r = CyclesRenderer(catalog, RenderSettings(samples=setting.samples, denoise=setting.denoise))
    r.scene.cycles.use_adaptive_sampling = setting.adaptive
    return r


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenes", type=int, default=10)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--reference", type=int, default=2048, help="samples of the reference render")
    p.add_argument("--spec", default="mixed")
    p.add_argument("--cache", type=Path, default=None, help="keep the reference renders here")
    args = p.parse_args()
    catalog = load_catalog()
    spec = load_spec(SCENES_DIR / f"{args.spec}.yaml")
    planner = Planner(spec, catalog)
    plans = [planner.plan(i).sample for i in range(args.scenes)]
    plans = [s for s in plans if s is not None]
    for s in plans:
        for scene in (s.source, s.target):
            scene.camera.width = scene.camera.height = args.size
    tolerance = spec.verify.pixel_tolerance * 255

    with quiet_fds():
        ref = renderer(catalog, Setting(args.reference), args.size)
    refs, outside = [], []
    t0 = time.perf_counter()
    for s in plans:
        cached = args.cache / f"ref-{args.spec}-{args.size}-{args.reference}-{s.index}.npz" if args.cache else None
        if cached is not None and cached.is_file():
            with np.load(cached) as f:
                rgb, mask = f["rgb"], f["mask"]
        else:
            with quiet_fds():
                out = ref.render(s.source, seed=s.index)
            rgb, mask = out.rgb, out.mask
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                np.savez(cached, rgb=rgb, mask=mask)
        refs.append(rgb)
        edited = np.zeros(mask.shape, bool)
        for uid in s.edit.objects:
            edited |= object_mask(mask, uid)
        outside.append(~ndimage.binary_dilation(edited, iterations=6))
    ref.close()
    print(f"{len(plans)} scenes of the {args.spec} spec at {args.size}x{args.size}; reference: {args.reference} "
          f"samples ({(time.perf_counter() - t0) / len(plans):.1f} s an image, cached ones included)", flush=True)
    print(f"{'setting':24s} {'PSNR dB':>8s} {'min dB':>7s} {'s/pair':>7s} {'tgt-src max':>12s} {'>tol':>8s}")
    for setting in SETTINGS:
        with quiet_fds():
            r = renderer(catalog, setting, args.size)
        scores, seconds, worst, over = [], 0.0, 0, 0.0
        for s, reference, keep in zip(plans, refs, outside):
            start = time.perf_counter()
            with quiet_fds():
                src, tgt = r.render_pair(s.source, s.target, seed=s.index)
            seconds += time.perf_counter() - start
            scores.append(psnr(src.rgb[keep], reference[keep]))
            # outside the edit (and its shadows, roughly: the dilated masks of both images)
            moved = np.zeros(src.mask.shape, bool)
            for uid in s.edit.objects:
                moved |= object_mask(src.mask, uid) | object_mask(tgt.mask, uid)
            away = ~ndimage.binary_dilation(moved, iterations=12)
            diff = np.abs(src.rgb.astype(int) - tgt.rgb.astype(int)).max(axis=2)[away]
            worst = max(worst, int(diff.max()) if diff.size else 0)
            over = max(over, float((diff > tolerance).mean()) if diff.size else 0.0)
        r.close()
        print(f"{setting.label:24s} {np.mean(scores):8.2f} {np.min(scores):7.2f} {seconds / len(plans):7.2f} "
              f"{worst:12d} {over:8.4f}", flush=True)


if __name__ == "__main__":
    main()
