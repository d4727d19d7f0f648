"""Seeds and splits: every shipped spec has its own seed, `--split NAME` draws from an independent
seed stream (two splits share no source scene), the same split is deterministic, no split is the
stream runs had before splits existed, and a run directory refuses to continue as another split."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from simedit.render.catalog.model import load_catalog
from simedit.render.common.errors import SimEditError
from simedit.render.plan import planner as planner_module
from simedit.render.plan.planner import Planner
from simedit.render.plan.seeds import attempt_entropy, check_split, split_key
from simedit.render.rundir.writer import RunWriter, make_record
from simedit.render.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
N = 40  # samples per split
SAME_PLACE_M = 0.005  # two source scenes are "the same" when every object matches within 5 mm


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def spec():
    return load_spec(ROOT / "scenes" / "mixed.yaml")


def scene_key(objects) -> list[tuple[str, np.ndarray]]:
    """(asset id, position) of each object, sorted by asset id and then position."""
    pairs = sorted((asset_id, tuple(map(float, position))) for asset_id, position in objects)
    return [(asset_id, np.asarray(position)) for asset_id, position in pairs]


def source_scenes(spec, catalog, split: str | None, n: int = N) -> dict[int, list[tuple[str, np.ndarray]]]:
    """index -> the source scene's objects as (asset id, position), sorted."""
    planner = Planner(spec, catalog, split=split)
    out = {}
    for i in range(n):
        sample = planner.plan(i).sample
        if sample is not None:
            assert sample.split == split
            out[i] = scene_key((o.asset_id, o.position) for o in sample.source.objects)
    assert len(out) >= 0.9 * n
    return out


def same_scene(a: list[tuple[str, np.ndarray]], b: list[tuple[str, np.ndarray]]) -> bool:
    if [x for x, _ in a] != [x for x, _ in b]:
        return False
    return all(np.abs(pa - pb).max() < SAME_PLACE_M for (_, pa), (_, pb) in zip(a, b))


@pytest.fixture(scope="module")
def streams(spec, catalog):
    return {split: source_scenes(spec, catalog, split) for split in (None, "train", "heldout")}


def test_every_shipped_spec_has_its_own_seed():
    seeds = {p.stem: yaml.safe_load(p.read_text())["seed"] for p in sorted((ROOT / "scenes").glob("*.yaml"))}
    assert len(seeds) >= 6 and len(set(seeds.values())) == len(seeds), seeds
    assert all(load_spec(ROOT / "scenes" / f"{name}.yaml").seed == s for name, s in seeds.items())


def test_two_splits_share_no_source_scene(streams):
    """40 samples of `train`, of `heldout` and of no split: no source scene (object assets and
    positions) appears in two of them, at any pair of indices."""
    for a, b in (("train", "heldout"), (None, "train"), (None, "heldout")):
        shared = [(i, j) for i, sa in streams[a].items() for j, sb in streams[b].items() if same_scene(sa, sb)]
        assert not shared, f"{a} and {b} share source scenes at indices {shared}"
    # the check can see a shared scene: a stream against itself matches at every index
    assert all(same_scene(s, s) for s in streams["train"].values())


def test_same_split_is_deterministic(spec, catalog, streams):
    first = Planner(spec, catalog, split="heldout")
    lines = [json.dumps(first.plan(i).sample.to_dict()) for i in (2, 9, 17)]
    second = Planner(spec, catalog, split="heldout")  # a fresh planner that first plans other samples
    second.plan(0), second.plan(5)
    assert [json.dumps(second.plan(i).sample.to_dict()) for i in (2, 9, 17)] == lines
    assert all(json.loads(line)["split"] == "heldout" for line in lines)
    for i in (2, 9, 17):
        if i in streams["heldout"]:
            plan = json.loads(lines[(2, 9, 17).index(i)])
            objects = scene_key((o["asset_id"], o["position"]) for o in plan["source"]["objects"])
            assert same_scene(objects, streams["heldout"][i])
    # another spec seed is another stream for the same split name
    other = Planner(spec.model_copy(update={"seed": spec.seed + 1}), catalog, split="heldout")
    assert json.dumps(other.plan(2).sample.to_dict()) != lines[0]


def test_no_split_is_the_stream_of_runs_before_splits(spec, catalog, monkeypatch):
    """Without a split, attempt k of sample i draws from default_rng([seed, i, k]) exactly as
    before, and the plan line carries no `split` key, so existing runs resume unchanged."""
    assert attempt_entropy(7, 3, 2) == [7, 3, 2]
    assert attempt_entropy(7, 3, 2, "train") == [7, 3, 2, split_key("train")]
    seen = []
    real = np.random.default_rng

    def spy(entropy=None):
        seen.append(entropy)
        return real(entropy)

    plain = Planner(spec, catalog)
    monkeypatch.setattr(planner_module.np.random, "default_rng", spy)
    outcome = plain.plan(4)
    monkeypatch.undo()
    assert seen == [[spec.seed, 4, k] for k in range(len(outcome.rejects) + 1)]
    line = outcome.sample.to_dict()
    assert "split" not in line and line["seed"] == spec.seed
    # the same plan, attempt by attempt, from a planner given split=None explicitly
    again = Planner(spec, catalog, split=None).plan(4)
    assert json.dumps(again.sample.to_dict()) == json.dumps(line)


def test_split_key_is_stable_and_names_are_checked():
    # sha256("train")[:8], big-endian: pinned, because every split run's scenes depend on it
    assert split_key("train") == 0x116F54C41D0405DB
    assert split_key("train") != split_key("heldout") != split_key("Train")
    assert check_split("heldout-2024.v1") == "heldout-2024.v1"
    for bad in ("", "-x", "a b", "x/y", "é", "a" * 65):
        with pytest.raises(SimEditError, match="split name"):
            check_split(bad)


def record(split: str | None) -> dict:
    return make_record(spec={"seed": 7}, spec_path="s.yaml", spec_hash="sha256:aa", catalog_path="c.yaml",
                       catalog_hash="sha256:bb", versions={}, argv=["render"], split=split)


def test_a_run_directory_continues_only_as_its_own_split(tmp_path):
    with RunWriter(tmp_path / "a", record("train")):
        pass
    assert json.loads((tmp_path / "a" / "run.json").read_text())["split"] == "train"
    with RunWriter(tmp_path / "a", record("train")):
        pass  # the same split resumes
    with pytest.raises(SimEditError, match=r"different split \('train' here, 'heldout' now\)"):
        RunWriter(tmp_path / "a", record("heldout"))
    with pytest.raises(SimEditError, match=r"different split \('train' here, no split now\)"):
        RunWriter(tmp_path / "a", record(None))
    # a run made before splits existed has no `split` in run.json: it is a run without one
    with RunWriter(tmp_path / "old", record(None)):
        pass
    assert "split" not in json.loads((tmp_path / "old" / "run.json").read_text())
    with RunWriter(tmp_path / "old", record(None)):
        pass
    with pytest.raises(SimEditError, match=r"different split \(no split here, 'train' now\)"):
        RunWriter(tmp_path / "old", record("train"))


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simedit.render.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_cli_dry_run_honours_the_split(tmp_path, spec, catalog):
    result = cli("--spec", "mixed", "--n", "3", "--dry-run", "--split", "heldout", "--out", str(tmp_path / "p"))
    assert result.returncode == 0, result.stderr
    assert "planned 3 samples of split 'heldout'" in result.stdout
    lines = (tmp_path / "p" / "plans.jsonl").read_text().splitlines()
    planner = Planner(spec, catalog, split="heldout")
    for line in lines:
        row = json.loads(line)
        assert row["split"] == "heldout" and row["seed"] == spec.seed
        assert json.dumps(planner.plan(row["index"]).sample.to_dict()) == json.dumps(row)
    bad = cli("--spec", "mixed", "--n", "3", "--dry-run", "--split", "a b", "--out", str(tmp_path / "q"))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    (err,) = [line for line in bad.stderr.splitlines() if line.strip()]
    assert err.startswith("error: ") and "--split" in err


def test_render_records_the_split_and_refuses_another(tmp_path):
    """A real (tiny) run: run.json and every manifest line carry the split; the same directory
    with another split is one line and exit 2, before anything is rendered."""
    out = tmp_path / "run"
    tiny = ["--size", "64", "--samples", "4"]
    result = cli("--spec", "rotation", "--n", "1", "--split", "train", "--out", str(out), *tiny)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads((out / "run.json").read_text())["split"] == "train"
    (row,) = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert row["split"] == "train"
    other = cli("--spec", "rotation", "--n", "2", "--split", "heldout", "--out", str(out), *tiny)
    assert other.returncode == 2 and "Traceback" not in other.stderr
    (err,) = [line for line in other.stderr.splitlines() if line.strip()]
    assert err.startswith("error: ") and "different split ('train' here, 'heldout' now)" in err
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 1


HELD_OUT = ["tea_mug", "coffee_mug", "donut", "egg", "cereal_box", "book", "tennis_ball"]


def test_held_out_objects_by_spec_filters(spec, catalog):
    """The README's recipe for held-out objects: the train spec excludes their ids, the held-out
    spec includes only them; no object crosses, in source or target (counts add copies, shape
    edits swap within the pool)."""
    objects = spec.objects
    train = spec.model_copy(update={"objects": objects.model_copy(
        update={"exclude": objects.exclude.model_copy(update={"ids": HELD_OUT})})})
    held = spec.model_copy(update={"objects": objects.model_copy(
        update={"include": objects.include.model_copy(update={"ids": HELD_OUT})})})
    seen: dict[str, set[str]] = {}
    for name, s in (("train", train), ("heldout", held)):
        planner = Planner(s, catalog, split=name)
        ids: set[str] = set()
        for i in range(20):
            sample = planner.plan(i).sample
            if sample is not None:
                ids |= {o.asset_id for scene in (sample.source, sample.target) for o in scene.objects}
        seen[name] = ids
    assert seen["heldout"] and seen["heldout"] <= set(HELD_OUT), seen["heldout"]
    assert seen["train"] and not seen["train"] & set(HELD_OUT), seen["train"] & set(HELD_OUT)
