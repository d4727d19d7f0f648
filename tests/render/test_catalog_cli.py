"""The `catalog` command: import / list / validate / preview, messages and exit codes."""
from __future__ import annotations

from pathlib import Path

import pytest
import trimesh
import yaml

from simedit.render.catalog.cli import main


@pytest.fixture()
def mesh_dir(tmp_path: Path) -> Path:
    root = tmp_path / "meshes"
    root.mkdir()
    trimesh.creation.cylinder(radius=0.03, height=0.12, sections=24).export(root / "candle.obj")
    trimesh.creation.box(extents=(0.2, 0.15, 0.1)).export(root / "cardboard_box.obj")
    return root


def test_import_list_validate(mesh_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mine.yaml"
    assert main(["import", str(mesh_dir), "--out", str(out), "--no-collision"]) == 0
    captured = capsys.readouterr()
    text = captured.out
    assert "imported 2 models (mesh_folder layout)" in text and "skipped 0" in text
    assert f"report: {tmp_path / 'mine_import.md'}" in text and (tmp_path / "mine_import.md").is_file()
    assert captured.err.count("warning: ") == 1 and "plain mesh folder" in captured.err  # said before falling back
    assert main(["import", str(mesh_dir), "--out", str(out), "--layout", "gso"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--layout gso: expected" in err and "looks like the mesh_folder layout" in err
    assert main(["list", "--catalog", str(out), "--tag", "can-fall"]) == 0
    text = capsys.readouterr().out
    assert "candle" in text and "cardboard_box" not in text and "1 of 2 objects" in text
    assert main(["validate", str(out)]) == 0
    assert "0 error(s)" in capsys.readouterr().out


def test_validate_lists_every_problem(mesh_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mine.yaml"
    main(["import", str(mesh_dir), "--out", str(out), "--no-collision"])
    capsys.readouterr()
    raw = yaml.safe_load(out.read_text())
    candle, box = raw["assets"]
    open_mesh = trimesh.Trimesh(vertices=[[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], faces=[[0, 1, 2], [0, 1, 3]])
    open_mesh.export(tmp_path / "open.obj")
    raw["assets"] += [
        dict(candle, mesh_scale=25.0),  # duplicate id and name, 3 m candle
        {k: v for k, v in box.items() if k != "tags"} | {"id": "box2", "name": "box two",
                                                         "collision_mesh": "open.obj"},
        dict(box, id="ghost", name="ghost", render_mesh="nowhere.obj"),
    ]
    out.write_text(yaml.safe_dump(raw, sort_keys=False))
    assert main(["validate", str(out)]) == 1
    text = capsys.readouterr().out
    assert "duplicate id 'candle'" in text
    assert "name 'candle' collides" in text
    assert "absurd size: 3 m for a candle" in text
    assert "collision_mesh: not watertight" in text
    assert "missing tags" in text
    assert "render_mesh: file not found" in text
    assert "error(s) in 3 entries" in text


def test_validate_reports_malformed_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("colors: {red: [1, 0, 0]}\nassets:\n  - {id: [oops\n")
    assert main(["validate", str(bad)]) == 1  # a finding in the report, not a crash or a usage error
    text = capsys.readouterr().out
    assert f"{bad}: error: malformed YAML at line" in text and "1 error(s)" in text
    assert main(["validate", str(tmp_path / "missing.yaml")]) == 2  # nothing to validate
    assert "cannot read catalog" in capsys.readouterr().err


def test_user_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(tmp_path / "nope"), "--out", str(tmp_path / "x.yaml")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    (tmp_path / "empty").mkdir()
    assert main(["import", str(tmp_path / "empty"), "--out", str(tmp_path / "x.yaml")]) == 2
    assert "no models found" in capsys.readouterr().err
    assert main(["list", "--tag", "shiny"]) == 2
    assert "unknown tag 'shiny'" in capsys.readouterr().err
    assert main(["import", str(tmp_path), "--out", str(tmp_path / "x.yaml"), "--jobs", "0"]) == 2
    assert capsys.readouterr().err.strip() == "error: --jobs: expected at least 1"


def test_list_builtin(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--tag", "invariant"]) == 0
    text = capsys.readouterr().out
    assert "soccer_ball" in text and "3 of 35 objects" in text
    assert main(["list", "--tag", "support"]) == 0
    text = capsys.readouterr().out
    assert "book" in text and "coffee_mug" not in text and "7 of 35 objects" in text


@pytest.mark.slow
def test_preview_renders_each_object(mesh_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image

    out = tmp_path / "mine.yaml"
    main(["import", str(mesh_dir), "--out", str(out), "--no-collision"])
    png = tmp_path / "sheet.png"
    assert main(["preview", str(out), "--out", str(png), "--size", "48", "--samples", "4", "--columns", "2"]) == 0
    assert "wrote" in capsys.readouterr().out
    with Image.open(png) as im:
        assert im.width >= 2 * 48 and im.height > 48
