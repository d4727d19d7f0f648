"""Evaluation: DiscEdit (hand-built editors and the tiny model), reference metrics with masks,
and the DiscEdit triples the generator emits for a render run."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
from conftest import square_pair, write_render_run
from PIL import Image

from simedit.render.catalog.model import load_catalog
from simedit.train.eval.triples import triples_for_run, write_triples
from simedit.train.data.sources import RenderRun
from simedit.train.eval.discedit import (
    Triple,
    copy_editor,
    load_triples,
    markdown,
    pixel_encoder,
    run_discedit,
    triple_score,
)
from simedit.train.eval.cli import main as evaluate_main
from simedit.train.eval.metrics import pair_metrics, reference_metrics

NO_CHANGE = {"remove the purple giraffe", "turn the tennis ball around"}


def scrambling_editor(source: Image.Image, prompt: str, seed: int) -> Image.Image:
    """Copies the source for no-change prompts, scrambles its pixels for change prompts."""
    if prompt in NO_CHANGE:
        return source.copy()
    a = np.asarray(source).reshape(-1, 3)
    return Image.fromarray(np.random.default_rng(seed).permutation(a).reshape(np.asarray(source).shape))


def _triples(tmp_path, n: int = 3) -> list[Triple]:
    out = []
    for i in range(n):
        src, _, instr = square_pair(i)
        p = tmp_path / f"s{i}.png"
        src.save(p)
        out.append(Triple(p, instr, sorted(NO_CHANGE)[i % 2], "location" if i % 2 else "rotation"))
    return out


def test_discedit_hand_built_editor_scores_one(tmp_path):
    res = run_discedit(_triples(tmp_path), scrambling_editor, pixel_encoder, seeds=(0, 1, 2))
    report = res.as_dict("scrambler")
    assert report["tasks"] == {"location": {"n": 1, "examples": 3, "accuracy": 1.0, "se": 0.0},
                               "rotation": {"n": 2, "examples": 6, "accuracy": 1.0, "se": 0.0}}
    assert report["overall"]["accuracy"] == 1.0
    # Copying for every prompt ties (distance 0 both ways): strict comparison gives 0.
    assert run_discedit(_triples(tmp_path), copy_editor, pixel_encoder, seeds=(0,)).as_dict()["overall"]["accuracy"] == 0.0
    # Editing only when told not to is scored 0.
    def backwards(src, prompt, seed):
        return scrambling_editor(src, "x" if prompt in NO_CHANGE else min(NO_CHANGE), seed)
    assert run_discedit(_triples(tmp_path), backwards, pixel_encoder, seeds=(0,)).as_dict()["overall"]["accuracy"] == 0.0
    assert "| location | 1 | 1.000 | 0.000 |" in markdown(report)


def test_discedit_on_tiny_model_follows_the_formula(tiny_model, tmp_path, capsys):
    from simedit.train.eval.discedit import DiffusersEditor

    editor = DiffusersEditor(tiny_model, steps=2, resolution=16)
    triples = _triples(tmp_path, 2)
    rows: list = []
    res = run_discedit(triples, editor, editor.encode, seeds=(0, 1), grid_rows=rows)
    scores = []
    for t in res.triples:
        assert len(t["d_change"]) == len(t["d_no_change"]) == 2
        expected = np.mean([float(n < c) for c, n in zip(t["d_change"], t["d_no_change"])])
        assert t["score"] == pytest.approx(expected) == triple_score(t["d_change"], t["d_no_change"])
        assert all(d > 0 for d in t["d_change"] + t["d_no_change"])
        scores.append(t["score"])
    overall = res.as_dict()["overall"]
    assert 0.0 <= overall["accuracy"] <= 1.0
    assert overall["accuracy"] == pytest.approx(np.mean(scores))
    p = overall["accuracy"]  # AURORA: every (triple, seed) an example
    assert overall["examples"] == 4 and overall["se"] == pytest.approx(np.sqrt(p * (1 - p) / 4))
    assert len(rows) == 2 and rows[0][1].size == (16, 16)
    # Same seeds, same scores: the evaluation is deterministic.
    again = run_discedit(triples[:1], editor, editor.encode, seeds=(0, 1))
    assert again.triples[0]["d_change"] == pytest.approx(res.triples[0]["d_change"])
    # And through the command line, from a triples file.
    tfile = tmp_path / "t.json"
    tfile.write_text(json.dumps([{"source": "s0.png", "change": "make it blue", "no_change": "remove the purple giraffe",
                                  "task": "attribute"}]))
    out = tmp_path / "disc"
    assert evaluate_main(["discedit", "--model", str(tiny_model), "--triples", str(tfile), "--seeds", "0",
                          "--steps", "1", "--resolution", "16", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["tasks"]["attribute"]["n"] == 1 and report["tasks"]["attribute"]["accuracy"] in (0.0, 1.0)
    assert (out / "report.md").is_file() and (out / "grid.png").is_file()
    assert "| attribute | 1 |" in capsys.readouterr().out


def test_masked_metrics_rank_copy_below_perfect_editor(render_run):
    run = RenderRun(render_run)
    targets = {run.load(i).source.tobytes(): run.load(i).target for i in range(len(run))}

    def perfect(src, prompt, seed):
        return targets[src.tobytes()]

    rows: list = []
    r = reference_metrics(run, {"perfect": perfect, "copy": copy_editor}, grid_rows=rows)
    p, c = r["methods"]["perfect"], r["methods"]["copy"]
    assert p["l1"] == p["edited_l1"] == p["unedited_l1"] == 0.0
    assert c["edited_l1"] > p["edited_l1"] and c["edited_l1"] > 0.1  # copying looks fine globally, fails where the edit is
    assert c["edited_l1"] > 1.5 * c["l1"] and c["unedited_l1"] == pytest.approx(0.0)
    assert c["n"] == c["n_masked"] == len(run) and set(c["by_kind"]) == {"location"}
    assert len(rows) == len(run) and len(rows[0]) == 5
    # By hand on one pair: L2 is the mean squared error on [0, 1].
    ex = run.load(0)
    m = pair_metrics(ex.source, ex.target, ex.mask, dilate=0)
    d = np.abs(np.asarray(ex.source, float) - np.asarray(ex.target, float)) / 255
    assert m["l1"] == pytest.approx(d.mean(), abs=1e-6) and m["l2"] == pytest.approx((d ** 2).mean(), abs=1e-6)
    inside = np.asarray(ex.mask) > 127
    assert m["edited_l1"] == pytest.approx(d[inside].mean(), abs=1e-6)


def test_reference_cli_copy_baseline_and_errors(render_run, tmp_path, capsys):
    out = tmp_path / "ref"
    assert evaluate_main(["reference", "--copy-baseline", "--run", str(render_run), "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert list(report["methods"]) == ["copy baseline"]
    assert "| copy baseline | 6 |" in (out / "report.md").read_text()
    assert (out / "grid.png").is_file()
    capsys.readouterr()
    assert evaluate_main(["discedit", "--model", str(tmp_path / "nomodel"), "--triples", str(tmp_path / "t.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("evaluate: error: ") and "t.json" in err and "\n" not in err
    (tmp_path / "t.json").write_text(json.dumps([{"source": "a.png", "change": "x"}]))
    assert evaluate_main(["discedit", "--model", str(tmp_path / "nomodel"), "--triples", str(tmp_path / "t.json")]) == 2
    assert "[0].no_change" in capsys.readouterr().err


def _obj(uid, asset_id, name):
    return {"uid": uid, "asset_id": asset_id, "name": name}


def write_triples_run(root):
    """A render-style run whose manifest has scenes, one row per case."""
    write_render_run(root, n=5)
    scene = [_obj("o0", "coffee_mug", "red coffee mug"), _obj("o1", "tennis_ball", "green tennis ball"),
             _obj("o2", "bowl", "blue bowl"), _obj("o3", "bowl", "blue bowl")]
    cases = [
        ("rotation", "turn_around", "turn the red coffee mug around", ["o0"], scene),
        ("location", "relative", "move the red coffee mug to the left of the green tennis ball", ["o0"], scene),
        ("count", "remove_all", "remove all two blue bowls", ["o2", "o3"], scene),
        ("count", "add", "add a white bowl", ["o4"], scene),
        ("attribute", "color", "change the color of the red coffee mug to pink", ["o0"], scene[:1]),
    ]
    rows = [json.loads(l) for l in (root / "manifest.jsonl").read_text().splitlines()]
    for row, (kind, sub, instr, edited, objs) in zip(rows, cases):
        row.update(kind=kind, subtype=sub, instruction=instr, edited=edited,
                   source_scene={"objects": objs}, target_scene={"objects": objs})
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def test_triples_for_run(tmp_path):
    run = write_triples_run(tmp_path / "run")
    skipped = Counter()
    triples = triples_for_run(run, skipped=skipped)
    assert skipped == {"count_add_has_no_no_change": 1}
    by_task = {t["task"]: t for t in triples}
    assert by_task["rotation"]["no_change"] == "turn the green tennis ball around"
    assert by_task["rotation"]["no_change_kind"] == "invariant_rotation"
    catalog = load_catalog()
    scene_cats = {"cup", "ball", "bowl"}
    for task in ("location", "count", "attribute"):
        t = by_task[task]
        assert t["no_change_kind"] == "absent_object" and t["no_change"] != t["change"]
        (old, new), = t["replaced"].items()
        asset = next(a for a in catalog.assets.values() if new.endswith(a.name))
        assert asset.category not in scene_cats  # names an object that is not in the scene
        assert old not in t["no_change"]
    assert by_task["location"]["no_change"].endswith("to the left of the green tennis ball")
    assert by_task["count"]["no_change"].startswith("remove all two ") and by_task["count"]["no_change"].endswith("s")
    assert triples_for_run(run) == triples  # deterministic
    path = write_triples(triples, tmp_path / "t" / "triples.json")
    loaded = load_triples(path)
    assert [t.source for t in loaded] == [tmp_path / "t" / ".." / "run" / "images" / f"{i:06d}_source.png" for i in (0, 1, 2, 4)]
    assert all(t.source.is_file() for t in loaded)


def test_triples_skip_a_torn_last_manifest_line(tmp_path):
    run = write_triples_run(tmp_path / "run")
    whole = triples_for_run(run)
    manifest = run / "manifest.jsonl"
    text = manifest.read_text()
    manifest.write_text(text + text.splitlines()[0][:25])  # a crash mid-append: no final newline
    assert triples_for_run(run) == whole
    out = write_triples(whole, tmp_path / "t.json")
    assert len(json.loads(out.read_text())) == len(whole)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_triples_cli_needs_no_torch(tmp_path):
    run = write_triples_run(tmp_path / "run")
    code = ("import sys; from simedit.train.eval.cli import main; "
            f"rc = main(['triples', {str(run)!r}, '--out', {str(tmp_path / 't.json')!r}]); "
            "assert rc == 0, rc; assert not [m for m in sys.modules if m.split('.')[0] in ('torch', 'diffusers', 'bpy')]")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "4 triples written" in r.stdout and "count_add_has_no_no_change: 1" in r.stdout
    assert len(json.loads((tmp_path / "t.json").read_text())) == 4


def test_standard_error_as_aurora_reports_it():
    from simedit.train.eval.discedit import summarize

    # AURORA table 5, Kubric: 0.592 over 30 triples x 4 noise samples -> SE 0.045.
    rows = [{"d_change": [1.0] * 4, "d_no_change": [0.0 if (4 * i + k) < 71 else 2.0 for k in range(4)]}
            for i in range(30)]
    s = summarize(rows)
    assert s["examples"] == 120 and s["accuracy"] == pytest.approx(71 / 120)
    assert round(s["se"], 3) == 0.045


def test_aurora_discedit_files_are_read_as_aurora_uses_them(tmp_path):
    """`pos` is the no-change prompt (true of the image already), `neg` (else `prompt`) the
    change; items without `pos` are left out, as AURORA's EditITMDataset does."""
    folder = tmp_path / "disc_edit_data" / "ag"
    folder.mkdir(parents=True)
    (folder / "valid.json").write_text(json.dumps([
        {"prompt": "Make her close the door", "pos": "Make her open the door", "input": "data/ag/a.png",
         "output": "data/ag/a_out.png"},
        {"prompt": "Make him lower both arms", "input": "data/ag/b.png", "output": "data/ag/b_out.png"},
        {"id": "1", "prompt": "the cylinder turns gray", "input": "data/ag/c.png", "pos": "make the cube brown",
         "neg": "make the cube red"}]))
    (tmp_path / "whatsup.json").write_text(json.dumps([
        {"image": "data/w/x.jpeg", "pos": "Move the cup on the table", "neg": "Move the cup under the table"}]))
    ag = load_triples(folder / "valid.json", root=tmp_path)
    assert [(t.change, t.no_change, t.task) for t in ag] == [
        ("Make her close the door", "Make her open the door", "ag"), ("make the cube red", "make the cube brown", "ag")]
    assert ag[0].source == tmp_path / "data" / "ag" / "a.png"
    (w,) = load_triples(tmp_path / "whatsup.json", task="whatsup")
    assert (w.source, w.change, w.no_change, w.task) == (tmp_path / "data/w/x.jpeg", "Move the cup under the table",
                                                           "Move the cup on the table", "whatsup")


def test_already_true_no_change_prompts(tmp_path, monkeypatch):
    """A kind that lists "already_true" gets its inverse edit phrased on the source: the state the
    source already shows."""
    from simedit.render.plan.edits import KINDS
    from simedit.train.eval.triples import triple_for_row

    from pathlib import Path
    plan = json.loads((Path(__file__).parent / "fixtures" / "stack_plan.json").read_text())
    row = {**plan, "source_scene": plan["source"], "target_scene": plan["target"], "edited": plan["edit"]["objects"]}
    assert row["instruction"] == "stack the brown pyramid block on top of the red jar"
    kind = KINDS[row["kind"]]
    monkeypatch.setattr(kind, "no_change_prompts", lambda subtype: ("already_true", "absent_object"))
    t, why = triple_for_row(row, load_catalog())
    assert why == "" and t["no_change_kind"] == "already_true"
    assert "brown pyramid block" in t["no_change"] and "red jar" in t["no_change"] and t["no_change"] != t["change"]
    assert "on top" not in t["no_change"].replace("instead of on top", "")  # asks for it beside the jar: as it is
    monkeypatch.setattr(kind, "no_change_prompts", lambda subtype: ("absent_object",))
    assert triple_for_row(row, load_catalog())[0]["no_change_kind"] == "absent_object"
