"""Region rendering, measured: the target rendered only where the edit can show (render/region.py)
against the same target rendered in full, on the same planned pairs, same seeds.

    python benchmarks/region.py [--n 50] [--size 256] [--samples 32] [--kinds rotation location ...]
                                [--denoise] [--outliers DIR]

Prints per kind: the largest and 99th-percentile |difference| (0..255, max over RGB) between the
two targets inside and outside the region, the share of outside pixels beyond the verifier's
tolerance (0.06 = 15/255), whether the masks are identical, the region's mean share of the frame
(a target rendered in full counts as 100%) and how many targets were rendered in full, and
seconds per pair both ways. Every pair with outside pixels beyond the tolerance is listed (plan
index, how many, the largest, where); `--outliers DIR` also saves each one's full target, region
target and their difference (x8) side by side, for a look.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image

from simedit.render.backends.base import RenderSettings
from simedit.render.backends.worker import RenderWorker
from simedit.render.catalog.model import load_catalog
from simedit.render.common.images import save_image
from simedit.render.common.paths import SCENES_DIR
from simedit.render.plan.planner import Planner
from simedit.render.spec import load_spec

TOLERANCE = 15  # the verifier's pixel_tolerance 0.06 of 255


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=50, help="pairs per kind")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--samples", type=int, default=32)
    p.add_argument("--kinds", nargs="+", default=["rotation", "location", "count", "attribute", "stack"])
    p.add_argument("--denoise", action="store_true", help="denoise both ways (OpenImageDenoise)")
    p.add_argument("--outliers", type=Path, default=None, help="save the pairs beyond the tolerance here")
    args = p.parse_args()
    catalog = load_catalog()
    print(f"{args.n} pairs per kind, {args.size}x{args.size}, {args.samples} samples"
          f"{', denoised' if args.denoise else ''}; |full - region| in 0..255", flush=True)
    print(f"{'kind':<10} {'in max':>7} {'out max':>8} {'out p99':>8} {'out >tol':>9} {'masks':>6} "
          f"{'region %':>9} {'in full':>8} {'s/pair full':>12} {'s/pair region':>14} {'ratio':>6}")
    totals = [0.0, 0.0]
    for kind in args.kinds:
        spec = load_spec(SCENES_DIR / f"{kind}.yaml")
        spec = spec.model_copy(update={"render": spec.render.model_copy(update={"width": args.size, "height": args.size})})
        planner = Planner(spec, catalog)
        full_s = region_s = 0.0
        in_max = out_max = 0
        p99s, beyond, shares, outliers = [], [], [], []
        masks_equal = True
        with RenderWorker(catalog, RenderSettings(samples=args.samples, region=False, denoise=args.denoise)) as full, \
                RenderWorker(catalog, RenderSettings(samples=args.samples, region=True, denoise=args.denoise)) as region:
            done, index = 0, 0
            while done < args.n:
                sample = planner.plan(index).sample
                index += 1
                if sample is None:
                    continue
                t0 = time.perf_counter()
                _, a = full.render_pair(sample.source, sample.target, 7)
                t1 = time.perf_counter()
                _, b = region.render_pair(sample.source, sample.target, 7)
                t2 = time.perf_counter()
                full_s, region_s = full_s + t1 - t0, region_s + t2 - t1
                d = np.abs(a.rgb.astype(int) - b.rgb.astype(int)).max(axis=2)
                inside = np.zeros(d.shape, bool)
                if b.region:
                    x0, y0, x1, y1 = b.region
                    inside[y0:y1, x0:x1] = True
                else:
                    inside[:] = True
                shares.append(inside.mean())
                in_max = max(in_max, int(d[inside].max()))
                if (~inside).any():
                    out_max = max(out_max, int(d[~inside].max()))
                    p99s.append(float(np.percentile(d[~inside], 99)))
                    beyond.append(float((d[~inside] > TOLERANCE).mean()))
                    bad = (d > TOLERANCE) & ~inside
                    if bad.any():
                        outliers.append(describe(kind, index - 1, bad, d, b.region))
                        if args.outliers is not None:
                            strip = np.concatenate([a.rgb, b.rgb, np.repeat(np.minimum(d * 8, 255).astype(np.uint8)[..., None], 3, 2)], 1)
                            save_image(Image.fromarray(strip), args.outliers / f"{kind}_{index - 1}.png", mkdir=True)
                masks_equal &= bool((a.mask == b.mask).all())
                done += 1
        totals[0] += full_s
        totals[1] += region_s
        print(f"{kind:<10} {in_max:>7} {out_max:>8} {max(p99s, default=0):>8.1f} {np.mean(beyond) if beyond else 0:>9.5f} "
              f"{'same' if masks_equal else 'DIFF':>6} {100 * np.mean(shares):>8.0f}% {sum(x == 1.0 for x in shares):>8} "
              f"{full_s / args.n:>12.2f} {region_s / args.n:>14.2f} {full_s / region_s:>6.2f}", flush=True)
        for line in outliers:
            print(line, flush=True)
    print(f"all kinds: {totals[0] / totals[1]:.2f}x faster per pair with region rendering")


def describe(kind: str, index: int, bad: np.ndarray, d: np.ndarray, region: list[int]) -> str:
    ys, xs = np.nonzero(bad)
    return (f"  {kind} plan {index}: {int(bad.sum())} px beyond {TOLERANCE} outside the region, max {int(d[bad].max())}, "
            f"at x {xs.min()}-{xs.max()}, y {ys.min()}-{ys.max()}; region {region}")


if __name__ == "__main__":
    main()
