"""Bad input gets one clear line: seeded mutations of the shipped specs (and the failures users
met, one by one) give exit 2 with one short error line naming the file and field, or run;
never a traceback, a hang or a write outside the target. `python benchmarks/fuzz.py` runs
hundreds more."""
from __future__ import annotations

from pathlib import Path

import pytest

import fuzz_inputs as F
from simedit.render.cli import main as render_main

# Each failure from issue #10, as a user wrote it: (spec text, field named in the error)
MEASURED = [
    ("camera: {fov_deg: 1}", "camera.fov_deg"),
    ("camera: {fov_deg: .inf}", "camera.fov_deg"),
    ("camera: {fov_deg: 179.9}", "camera.fov_deg"),
    ("camera: {distance: 0.05}", "camera.distance"),
    ("camera: {elevation_deg: -30}", "camera.elevation_deg"),
    ("placement: {margin_px: 1.0e12}", "placement.margin_px"),
    ("placement: {area: [[0.3, -0.3], [-0.25, 0.25]]}", "placement.area[0]"),
    ("seed: -1", "seed"),
    ("objects: {count: 0}", "objects.count"),
    ("objects: {count: -3}", "objects.count"),
    ("objects: {count: '3'}", "objects.count"),
    ("floor: {colors: []}", "floor.colors"),
    ("edits: [{kind: attribute, subtypes: {color: {colors: [octarine]}}}]", "edits[0].subtypes.color.colors[0]"),
    ("edits: [{kind: attribute, subtypes: {size: {directions: []}}}]", "edits[0].subtypes.size.directions"),
    ("edits: [{kind: count, subtypes: {add: {n: [0, 3]}}}]", "edits[0].subtypes.add.n[0]"),
    ("edits: [{kind: rotation, weight: .nan}]", "edits[0].weight"),
    ("edits: [{kind: rotation, subtypes: {flip: {angle_deg: .inf}}}]", "edits[0].subtypes.flip.angle_deg"),
    ("edits: [{kind: location, subtypes: {attract: {factor: [1.5, 2]}}}]", "edits[0].subtypes.attract.factor"),
]


def dry_run(path: Path, out: Path) -> list[str]:
    return ["--spec", str(path), "--n", "2", "--dry-run", "--out", str(out)]


@pytest.mark.parametrize("text, field", MEASURED, ids=[m[1] for m in MEASURED])
def test_each_measured_failure_is_one_line_naming_the_field(tmp_path, text, field):
    if not text.startswith("edits"):
        text += "\nedits: [{kind: rotation}]"
    o = F.run_case(F.Case(field, text.encode()), tmp_path, dry_run, render_main, tmp_path)
    assert o.code == 2 and not F.problems(o), (o.stderr, F.problems(o))
    assert f"input.yaml: {field}: " in o.stderr
    assert not (tmp_path / "out" / "plans.jsonl").exists()


def test_mutated_specs_never_trace_hang_or_write_outside(tmp_path):
    outcomes = [F.run_case(case, tmp_path / f"c{i}", dry_run, render_main, tmp_path)
                for i, case in enumerate(F.spec_cases(120, seed=11))]
    bad = [(o.case.name, F.problems(o)) for o in outcomes if F.problems(o)]
    assert not bad, bad
    assert {o.code for o in outcomes} == {0, 2}  # some mutations are harmless and must still run
    for i, o in enumerate(outcomes):
        if o.code == 0:
            assert len((tmp_path / f"c{i}" / "out" / "plans.jsonl").read_text().splitlines()) == 2
