"""Spec validation and the `render --dry-run` command as a user runs it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from simedit.render.catalog.model import load_catalog
from simedit.render.common.errors import SimEditError
from simedit.render.plan.planner import Planner
from simedit.render.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["rotation", "location", "count", "attribute", "stack", "mixed", "aurora_compat"])
def test_shipped_specs_load_and_are_feasible(name):
    Planner(load_spec(ROOT / "scenes" / f"{name}.yaml"), load_catalog())


@pytest.mark.parametrize(
    "text, field, words",
    [
        ("edits: [{kind: rotation}\n", None, "malformed YAML at line"),
        ("edits: [{kind: rotation, colour: red}]", "edits[0].colour", "unknown key"),
        ("objects: {count: many}\nedits: [{kind: count}]", "objects.count", "or a [low, high] pair"),
        ("objects: {count: [5, 2]}\nedits: [{kind: count}]", "objects.count", "low > high"),
        ("edits: [{kind: rotation, subtypes: {flip: {weight: -1, angle_deg: 180}}}]", "edits[0].subtypes.flip.weight", "must be >= 0 (got -1)"),
        ("seed: 0\n", "edits", "required field is missing"),
        ("render: {width: wide}\nedits: [{kind: count}]", "render.width", "integer"),
        ("edits: [{kind: spin}]", "edits[0]", "does not match any of the expected tags"),
        ("objects: {size_m: [2, 4], scale: 2}\nedits: [{kind: count}]", "objects", "objects.size_m replaces objects.scale"),
        ("objects: {size_m: 0}\nedits: [{kind: count}]", "objects.size_m", "must be >= 0.01"),
        ("render: {backend: vulkan}\nedits: [{kind: count}]", "render.backend", "unknown render backend 'vulkan'"),
    ],
)
def test_invalid_specs_name_file_and_field(tmp_path, text, field, words):
    path = write(tmp_path, text)
    with pytest.raises(SimEditError) as err:
        load_spec(path)
    message = str(err.value)
    assert message.startswith(str(path))
    if field:
        assert f": {field}: " in message
    assert words in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "text, field, words",
    [
        ("objects: {include: {ids: [no_such_mug]}}\nedits: [{kind: rotation}]", "objects.include.ids[0]", "unknown object id 'no_such_mug'"),
        ("objects: {include: {categories: [ball]}}\nedits: [{kind: rotation}]", "edits[0].subtypes.turn_around", "no object in the pool can take this edit"),
        (
            "objects: {include: {categories: [ball]}}\n"
            "edits: [{kind: rotation, subtypes: {turn_around: {weight: 0, angle_deg: 180}, turn_90: {weight: 0, angle_deg: 90}, flip: {weight: 0, angle_deg: 180}}}]",
            "edits[0].subtypes.fall_over", "needs a can-fall object",
        ),
        ("objects: {count: [2, 3]}\nedits: [{kind: count, subtypes: {remove: {n: 5}}}]", "edits[0].subtypes.remove.n", "cannot remove 5 objects"),
        ("objects: {count: 40}\nedits: [{kind: rotation}]", "objects.count", "cannot fit in placement.area"),
        ("objects: {colors: [mauve]}\nedits: [{kind: rotation}]", "objects.colors[0]", "unknown color 'mauve'"),
        ("objects: {include: {tags: [invariant]}, exclude: {tags: [round]}}\nedits: [{kind: count}]", "objects", "leave no object"),
    ],
)
def test_impossible_specs_fail_before_planning(tmp_path, text, field, words):
    path = write(tmp_path, text)
    with pytest.raises(SimEditError) as err:
        Planner(load_spec(path), load_catalog(), str(path))
    assert f"{path}: {field}: " in str(err.value)
    assert words in str(err.value)


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simedit.render.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path):
    spec = write(tmp_path, "objects: {include: {ids: [teapot]}}\nedits: [{kind: rotation}]")
    result = run_cli("--spec", str(spec), "--n", "2", "--dry-run", "--out", str(tmp_path / "plans"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = [l for l in result.stderr.splitlines() if l.strip()]
    assert line.startswith("error: ") and "objects.include.ids[0]" in line and "teapot" in line
    missing = run_cli("--spec", str(tmp_path / "nope.yaml"), "--n", "2", "--dry-run", "--out", str(tmp_path / "p"))
    assert missing.returncode == 2 and "nope.yaml" in missing.stderr and "Traceback" not in missing.stderr


def test_cli_dry_run_writes_plan_lines(tmp_path):
    out = tmp_path / "plans"
    result = run_cli("--spec", "scenes/rotation.yaml", "--n", "6", "--dry-run", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "planned 6 samples" in result.stdout and "rejected attempts" in result.stdout
    assert "planning" in result.stderr  # the progress bar
    lines = [json.loads(l) for l in (out / "plans.jsonl").read_text().splitlines()]
    assert len(lines) == 6
    for line in lines:
        assert line["kind"] == "rotation" and line["instruction"]
        for scene in (line["source"], line["target"]):
            assert scene["camera"] and scene["lights"] and scene["objects"]
            for obj in scene["objects"]:
                assert {"uid", "asset_id", "name", "position", "rotation", "scale", "color"} <= obj.keys()
        assert {"kind", "subtype", "objects", "params"} <= line["edit"].keys()
    # the same command again gives byte-identical lines
    again = run_cli("--spec", "scenes/rotation.yaml", "--n", "6", "--dry-run", "--out", str(tmp_path / "again"))
    assert again.returncode == 0
    assert (tmp_path / "again" / "plans.jsonl").read_bytes() == (out / "plans.jsonl").read_bytes()


def small_catalog(tmp_path: Path, missing: int) -> Path:
    """Three box-ish objects; the first `missing` of them point at mesh files that don't exist."""
    import trimesh

    lines = ["colors: {red: [0.8, 0.05, 0.05], blue: [0.05, 0.1, 0.8], gray: [0.5, 0.5, 0.5], white: [0.9, 0.9, 0.9], brown: [0.3, 0.15, 0.05]}", "assets:"]
    for i, size in enumerate([(0.06, 0.06, 0.1), (0.08, 0.05, 0.05), (0.05, 0.05, 0.12)]):
        mesh = tmp_path / f"thing{i}.obj"
        if i >= missing:
            trimesh.creation.box(size).export(mesh)
        lines.append(f"  - {{id: thing{i}, name: thing {'abc'[i]}, category: thing, tags: [], render_mesh: {mesh.name}}}")
    path = tmp_path / "mine.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_missing_mesh_is_skipped_with_a_warning(tmp_path):
    catalog = small_catalog(tmp_path, missing=1)
    spec = write(tmp_path, "objects: {count: [2, 3]}\nedits: [{kind: count}]")
    result = run_cli("--spec", str(spec), "--catalog", str(catalog), "--n", "3", "--dry-run", "--out", str(tmp_path / "p"))
    assert result.returncode == 0, result.stderr
    warning = [l for l in result.stderr.splitlines() if l.startswith("warning:")]
    assert len(warning) == 1 and "thing0" in warning[0] and "thing0.obj" in warning[0]
    plans = [json.loads(l) for l in (tmp_path / "p" / "plans.jsonl").read_text().splitlines()]
    assert plans and all(o["asset_id"] != "thing0" for p in plans for o in p["source"]["objects"] + p["target"]["objects"])


def test_no_usable_object_stops_with_a_clear_error(tmp_path):
    catalog = small_catalog(tmp_path, missing=3)
    spec = write(tmp_path, "edits: [{kind: count}]")
    result = run_cli("--spec", str(spec), "--catalog", str(catalog), "--n", "3", "--dry-run", "--out", str(tmp_path / "p"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no usable object left (3 skipped for missing files)" in result.stderr and "mine.yaml" in result.stderr


def test_aurora_compat_renders_like_kubric_edit():
    """scenes/aurora_compat.yaml: AURORA's camera at (0, -10, 15) looking at the origin, 512x512,
    64 samples, and Kubric's object normalisation (largest side 2 to 4 m) through objects.size_m."""
    import math

    import numpy as np

    spec = load_spec(ROOT / "scenes" / "aurora_compat.yaml")
    assert (spec.render.width, spec.render.height, spec.render.samples) == (512, 512, 64)
    catalog = load_catalog()
    planner = Planner(spec, catalog)
    sample = next(o.sample for o in map(planner.plan, range(5)) if o.sample is not None)
    cam = sample.source.camera
    assert np.allclose(cam.position, (0.0, -10.0, 15.0), atol=1e-4) and np.allclose(cam.look_at, (0, 0, 0))
    assert math.degrees(cam.fov) == pytest.approx(2 * math.degrees(math.atan(18 / 35)), abs=1e-3)
    for obj in sample.source.objects:
        side = float(np.max(catalog.geometry(obj.asset_id).extents)) * obj.scale
        if sample.edit.subtype != "size" or obj.uid not in sample.edit.objects:
            assert 2.0 - 1e-6 <= side <= 4.0 + 1e-6


def test_backend_from_the_spec_unless_the_cli_names_one(tmp_path):
    from simedit.render.run.inputs import RunInputs
    from simedit.render.run.options import RunOptions
    from simedit.render.run.pipeline import record_dump, render_settings

    path = write(tmp_path, "render: {backend: kubric}\nedits: [{kind: rotation}]")
    inputs = RunInputs(load_spec(path), load_catalog(), str(path))
    assert render_settings(inputs, RunOptions(spec=path, n=1, out=tmp_path), 1).backend == "kubric"
    assert render_settings(inputs, RunOptions(spec=path, n=1, out=tmp_path, backend="cycles"), 1).backend == "cycles"
    assert record_dump(inputs.spec)["render"]["backend"] == "kubric"
    # fields added later stay out of the run record at their default: older run directories resume
    plain = record_dump(load_spec(ROOT / "scenes" / "rotation.yaml"))
    assert "backend" not in plain["render"] and "size_m" not in plain["objects"]


def test_region_targets_on_the_cpu_full_targets_on_a_gpu_and_a_resumed_run_keeps_its_choice(tmp_path):
    """Region rendering pays on the CPU and not on a GPU (README, region rendering); a flag wins;
    a run directory goes on as it began, so its targets do not change kind halfway."""
    from simedit.render.cli import build_parser, options_from
    from simedit.render.run.options import RunOptions
    from simedit.render.run.pipeline import target_region

    def opts(*flags: str) -> RunOptions:
        argv = ["--spec", "rotation", "--n", "1", "--out", str(tmp_path / "run"), *flags]
        parser = build_parser()
        return options_from(parser.parse_args(argv), parser, argv)

    assert target_region(opts()) is True
    assert target_region(opts("--device", "GPU")) is False
    assert target_region(opts("--device", "GPU", "--region-target")) is True
    assert target_region(opts("--full-target")) is False
    with pytest.raises(SystemExit):
        opts("--full-target", "--region-target")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run.json").write_text(json.dumps({"render_options": {"target_region": True}}))
    assert target_region(opts("--device", "GPU")) is True  # begun on the CPU: resumed on a GPU the same way
    assert target_region(opts("--device", "GPU", "--full-target")) is False  # the writer then refuses it
    (tmp_path / "run" / "run.json").write_text(json.dumps({"spec_hash": "sha256:00"}))
    assert target_region(opts()) is False  # a run from before region rendering rendered full targets
