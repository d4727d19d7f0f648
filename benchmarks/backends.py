"""Our Cycles backend against the Kubric backend on the same planned pairs, in one run.

    python benchmarks/backends.py [--n 6] [--size 128] [--samples 32] [--spec mixed]

Plans N samples once (the planner `render --dry-run` uses), then renders every pair (source and
target, same noise seed as a run uses) with each backend in a fresh process of its own, at the
same size and samples, CPU, all cores. Each backend is used the way a run uses it: ours with
region rendering of the target (its default), Kubric with two full renders (it has no region
rendering). Verification and writing are left out: they are the same code for both.

Prints, per backend: pairs/hour over the render calls, the start-up (engine import and first
scene), and where the time goes (scene build, the engine's render call, reading the output back);
then the ratio ours/kubric, the size the kubric extra adds to site-packages and the time of
`import kubric` in a fresh interpreter. Needs the kubric extra (README, "Kubric backend").
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# ---- child: one backend renders the planned pairs ----------------------------------------------
def child(backend: str, plans: Path, samples: int, out: Path) -> None:
    start = time.perf_counter()
    from simedit.render.backends.base import RenderSettings, create_renderer
    from simedit.render.catalog.model import load_catalog
    from simedit.render.run.attempt import noise_seed
    from simedit.render.scene import Scene

    catalog = load_catalog(None)
    pairs = [json.loads(line) for line in plans.read_text().splitlines()]
    renderer = create_renderer(catalog, RenderSettings(samples=samples, backend=backend))
    timings = {"build": 0.0, "engine": 0.0, "read": 0.0}
    if backend == "cycles":  # the Cycles backend keeps no timings of its own: time its three steps
        from simedit.render.backends import cycles

        def timed(fn, key):
            def wrapper(*a, **kw):
                t = time.perf_counter()
                try:
                    return fn(*a, **kw)
                finally:
                    timings[key] += time.perf_counter() - t
            return wrapper

        renderer.sync = timed(renderer.sync, "build")
        cycles._read_exr = timed(cycles._read_exr, "read")
    ready = time.perf_counter()
    seconds = []
    engine = 0.0
    for p in pairs:
        t = time.perf_counter()
        src, tgt = renderer.render_pair(Scene.from_dict(p["source"]), Scene.from_dict(p["target"]),
                                        noise_seed(p["seed"], p["index"], p["attempt"]))
        seconds.append(time.perf_counter() - t)
        engine += src.engine_seconds + tgt.engine_seconds
    if backend == "cycles":
        timings["engine"] = engine
    else:
        timings = dict(renderer.timings)
    renderer.close()
    out.write_text(json.dumps({"startup": ready - start, "seconds": seconds, "timings": timings}))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # bpy 4.5 can deadlock in its exit handlers (delayed_close_thread): skip them


# ---- parent --------------------------------------------------------------------------------------
def plan(spec_name: str, n: int, size: int, samples: int, path: Path) -> None:
    from simedit.render.catalog.model import load_catalog
    from simedit.render.cli import resolve_spec
    from simedit.render.plan.planner import Planner
    from simedit.render.spec import load_spec

    spec = load_spec(resolve_spec(spec_name))
    spec = spec.model_copy(update={"render": spec.render.model_copy(update={"width": size, "height": size, "samples": samples})})
    planner = Planner(spec, load_catalog(None), spec_name)
    lines, index = [], 0
    while len(lines) < n:
        sample = planner.plan(index).sample
        index += 1
        if sample is not None:
            lines.append(json.dumps(sample.to_dict()))
    path.write_text("\n".join(lines) + "\n")


def run_backend(backend: str, plans: Path, samples: int, tmp: Path) -> dict:
    out = tmp / f"{backend}.json"
    cmd = [sys.executable, __file__, "--child", backend, "--plans", str(plans), "--samples", str(samples), "--result", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    if proc.returncode or not out.is_file():
        sys.exit(f"{backend} failed:\n{proc.stderr[-4000:]}")
    return json.loads(out.read_text())


def extra_size_mb() -> tuple[float, int]:
    """MB on disk of the distributions the kubric extra brings that simedit's own install does not
    (kubric-nightly included), and how many there are."""
    def closure(reqs: list[str], seen: set[str]) -> set[str]:
        from packaging.requirements import Requirement

        todo = list(reqs)
        while todo:
            req = Requirement(todo.pop())
            name = req.name.lower().replace("_", "-")
            if name in seen:
                continue
            try:
                dist = metadata.distribution(req.name)
            except metadata.PackageNotFoundError:
                continue
            seen.add(name)
            for sub in dist.requires or []:
                r = Requirement(sub)
                if r.marker is None or any(r.marker.evaluate({"extra": e}) for e in [""] + list(req.extras)):
                    todo.append(sub)
        return seen

    own = metadata.requires("simedit") or []
    base = [r.split(";")[0] for r in own if "extra ==" not in r or any(f'extra == "{e}"' in r for e in ("train", "test"))]
    kub = [r.split(";")[0] for r in own if 'extra == "kubric"' in r] + ["kubric-nightly"]
    added = closure(kub, set()) - closure(base, set())
    total = 0
    for name in added:
        for f in metadata.distribution(name).files or []:
            p = f.locate()
            if p.is_file():
                total += p.stat().st_size
    return total / 1e6, len(added)


def import_seconds() -> float:
    code = "import time; t = time.perf_counter(); import kubric; print(time.perf_counter() - t)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tempfile.gettempdir())
    return float(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=6, help="planned pairs")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--samples", type=int, default=32)
    p.add_argument("--spec", default="mixed")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--plans", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        try:
            child(args.child, args.plans, args.samples, args.result)
        except BaseException:
            import traceback

            traceback.print_exc()
            sys.stderr.flush()
            os._exit(1)  # past bpy's exit handlers, which can deadlock
        return
    from simedit.render.backends.kubric import require_kubric

    require_kubric()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        plans = tmp / "plans.jsonl"
        plan(args.spec, args.n, args.size, args.samples, plans)
        results = {b: run_backend(b, plans, args.samples, tmp) for b in ("cycles", "kubric")}
    print(f"{args.spec}: {args.n} planned pairs at {args.size}x{args.size}, {args.samples} samples, CPU, "
          f"{os.cpu_count()} cores, load average {load:.1f} at the start")
    rate = {}
    for backend, label in (("cycles", "ours (cycles, region targets)"), ("kubric", "kubric (two full renders)")):
        r = results[backend]
        total = sum(r["seconds"])
        rate[backend] = 3600 * len(r["seconds"]) / total
        t = r["timings"]
        rest = max(total - sum(t.values()), 0.0)
        print(f"  {label:32s} {rate[backend]:7.0f} pairs/hour  ({total / len(r['seconds']):.2f} s a pair; "
              f"start-up {r['startup']:.1f} s)")
        print(f"    {'':30s} scene build {t['build']:.2f} s, engine render {t['engine']:.2f} s, "
              f"output reading {t['read']:.2f} s, other {rest:.2f} s")
    size, count = extra_size_mb()
    print(f"ours / kubric: {rate['cycles'] / rate['kubric']:.2f}x pairs per hour")
    print(f"kubric extra: {size / 1000:.2f} GB in site-packages ({count} distributions); "
          f"`import kubric` {import_seconds():.1f} s in a fresh interpreter")


if __name__ == "__main__":
    main()
