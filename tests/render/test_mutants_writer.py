"""The writer's less travelled paths, in process: a shard's pairs adopted into the merged run,
the per-session figures in run.json, what a run record holds, which records may resume a
directory (shards, records from before a field existed, an unreadable run.json), and the
canonical form `finalize` leaves (rejects deduplicated and sorted, nothing kept for n = 0), the
objects table of a manifest line (what `render stats` counts), the provenance of every forced spec
(its pairs and split), a manifest path that leaves the directory, the missing-files warning, an
exhausted index done at once, and a writer closed twice.
Pairs come from the fake renderer of test_writer (numpy rectangles), no Blender."""
from __future__ import annotations

import json
import sys

import pytest

from simedit.render.common.errors import SimEditError
from simedit.render.rundir.contract import RunDir, read_manifest, read_record, read_rejects, row_files
from simedit.render.rundir.writer import RunWriter, make_record
from test_writer import fake_plan, fake_render, put, record


def test_an_adopted_pair_is_copied_byte_for_byte_with_its_manifest_line(tmp_path):
    shard, out = tmp_path / "shard", tmp_path / "out"
    with RunWriter(shard, record()) as w:
        line = put(w, 5, depth=True)
    with RunWriter(out, record()) as w:
        w.adopt_pair(line, shard)
        assert w.done() == {5} and w.accepted() == 1
        with pytest.raises(ValueError, match="already in the manifest"):
            w.adopt_pair(line, shard)
    assert read_manifest(out) == [line]
    assert len(row_files(line)) == 6  # image, mask and depth of both sides
    for rel in row_files(line):
        assert (out / rel).read_bytes() == (shard / rel).read_bytes()
    with RunWriter(out, record()) as w:  # a later writer counts it as done
        assert w.done() == {5}


def test_a_pair_that_cannot_be_adopted_leaves_nothing_behind(tmp_path):
    shard, out = tmp_path / "shard", tmp_path / "out"
    with RunWriter(shard, record()) as w:
        line = put(w, 2)
    (shard / line["target"]["mask"]).unlink()  # the last file of the pair
    with RunWriter(out, record()) as w:
        with pytest.raises(FileNotFoundError):
            w.adopt_pair(line, shard)
        assert w.done() == set()
    assert read_manifest(out) == []
    assert not any((out / rel).exists() for rel in row_files(line))


def test_each_session_appends_its_figures_to_the_run_record(tmp_path):
    with RunWriter(tmp_path, record()) as w:
        w.record_session(seconds=12.5, new_pairs=3)
        w.record_session(seconds=1.0, new_pairs=0)
    text = (tmp_path / "run.json").read_text()
    assert text.endswith("}\n")
    rec = json.loads(text)
    assert rec["spec_hash"] == "sha256:aa" and rec["command"] == ["render", "x"]  # the rest is kept
    first, second = rec["sessions"]
    assert (first["seconds"], first["new_pairs"], second["new_pairs"]) == (12.5, 3, 0)
    assert first["finished"][:2] == "20" and first["finished"].endswith("+00:00")


def test_the_run_record_holds_what_was_run_and_how(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["render", "--n", "8"])
    rec = make_record(spec={"seed": 7}, spec_path="scenes/x.yaml", spec_hash="sha256:aa", catalog_path="cat.yaml",
                      catalog_hash="sha256:cc", versions={"numpy": "2.0"}, render_options={"target_region": True},
                      shard={"index": 1, "count": 4, "n": 100})
    with RunWriter(tmp_path, rec):
        pass
    got = RunDir(tmp_path).record()
    assert {k: got[k] for k in ("spec", "spec_path", "catalog_path", "versions", "render_options", "command", "shard")} == {
        "spec": {"seed": 7}, "spec_path": "scenes/x.yaml", "catalog_path": "cat.yaml", "versions": {"numpy": "2.0"},
        "render_options": {"target_region": True}, "command": ["render", "--n", "8"],
        "shard": {"index": 1, "count": 4, "n": 100}}
    assert got["started"][:2] == "20" and got["started"].endswith("+00:00")
    assert "shard" not in record()


def shard_record(index: int, count: int, n: int) -> dict:
    return make_record(spec={"seed": 7}, spec_path=None, spec_hash="sha256:aa", catalog_path=None,
                       catalog_hash="sha256:cc", versions={}, argv=["render", "--shard", f"{index}/{count}"],
                       shard={"index": index, "count": count, "n": n})


def test_a_shard_resumes_as_the_same_part_of_a_larger_run_but_not_as_another_part(tmp_path):
    with RunWriter(tmp_path, shard_record(1, 4, 100)) as w:
        put(w, 1)
    with RunWriter(tmp_path, shard_record(1, 4, 200)) as w:  # the same part, of a larger whole
        assert w.done() == {1}
    assert read_record(tmp_path)["shard"] == {"index": 1, "count": 4, "n": 200}
    for other in (shard_record(2, 4, 200), shard_record(1, 2, 200)):
        with pytest.raises(SimEditError) as e:
            RunWriter(tmp_path, other)
        assert e.value.field == "shard"
    with pytest.raises(SimEditError):
        RunWriter(tmp_path, record())  # a whole run is not this shard


def test_a_record_from_before_render_options_resumes_only_with_full_renders(tmp_path):
    old = record()
    del old["render_options"]  # written before target-region rendering existed: full renders
    with RunWriter(tmp_path, old):
        pass
    full = record()
    full["render_options"] = {"target_region": False}
    with RunWriter(tmp_path, full):
        pass
    region = record()
    region["render_options"] = {"target_region": True}
    with pytest.raises(SimEditError) as e:
        RunWriter(tmp_path, region)
    assert e.value.field == "render_options"


def test_an_unreadable_run_record_needs_force(tmp_path):
    with RunWriter(tmp_path, record()) as w:
        put(w, 0)
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(SimEditError, match="force"):
        RunWriter(tmp_path, record())
    with RunWriter(tmp_path, record("sha256:new"), force=True) as w:
        assert w.done() == {0}
    rec = read_record(tmp_path)
    assert rec["spec_hash"] == "sha256:new"


def test_finalize_sorts_and_deduplicates_the_rejects_and_updates_what_is_done(tmp_path):
    with RunWriter(tmp_path, record()) as w:
        w.write_reject(9, 0, "occluded")  # beyond the last kept pair: cut
        w.write_reject(1, 2, "too_small")
        w.write_reject(1, 0, "occluded")
        w.write_reject(1, 2, "too_small")  # a resumed run wrote it again
        w.write_exhausted(3)
        w.write_reject(3, 1, "occluded")
        w.write_reject(1, 1, "overlap")
        for i in (4, 0, 2, 6):
            put(w, i)
        w.finalize(3)
        assert w.done() == {0, 2, 3, 4} and w.accepted() == 3
    assert [r["index"] for r in read_manifest(tmp_path)] == [0, 2, 4]
    rejects = read_rejects(tmp_path)
    assert [(r["index"], r.get("attempt"), r.get("exhausted", False)) for r in rejects] == [
        (1, 0, False), (1, 1, False), (1, 2, False), (3, 1, False), (3, None, True)]
    with RunWriter(tmp_path, record()) as w:
        assert w.done() == {0, 2, 3, 4}


def test_finalize_to_zero_pairs_keeps_nothing(tmp_path):
    with RunWriter(tmp_path, record()) as w:
        put(w, 0)
        w.write_reject(0, 0, "occluded")
        w.write_reject(1, 0, "occluded")
        w.finalize(0)
        assert w.done() == set() and w.accepted() == 0
    assert read_manifest(tmp_path) == [] and read_rejects(tmp_path) == []
    assert not any((tmp_path / "images").iterdir())


def test_the_objects_table_names_every_object_and_what_it_became(tmp_path):
    """`render stats` counts assets and reads instruction templates from this table."""
    plan = fake_plan(0)
    src, tgt = plan["source"], plan["target"]
    extra = dict(src["objects"][0], uid="o10", name="green mug")
    src["objects"].append(extra)
    tgt["objects"][1] = dict(tgt["objects"][1], asset_id="bowl", name="red bowl")  # repainted
    tgt["objects"].append(dict(extra))
    tgt["objects"].append(dict(src["objects"][0], uid="o2", asset_id="cup", name="white cup"))  # added
    with RunWriter(tmp_path, record()) as w:
        line = w.write_pair(plan, fake_render(0, "source"), fake_render(0, "target"))
    assert line["objects"] == {
        "o0": {"asset_id": "mug", "name": "red mug"},
        "o1": {"asset_id": "bowl", "name": "blue bowl", "target": {"asset_id": "bowl", "name": "red bowl"}},
        "o2": {"asset_id": "cup", "name": "white cup"},
        "o10": {"asset_id": "mug", "name": "green mug"}}
    assert list(line["objects"]) == ["o0", "o1", "o2", "o10"]  # o2 before o10
    assert line["source_scene"] == src and line["target_scene"] == tgt
    assert line["source"]["image"] == "images/000000_source.png" and line["edited"] == ["o1"]


def split_record(spec_hash: str, split: str | None) -> dict:
    return make_record(spec={"seed": 7}, spec_path=f"{spec_hash}.yaml", spec_hash=spec_hash, catalog_path=None,
                       catalog_hash="sha256:cc", versions={}, argv=["render", spec_hash], split=split)


def test_every_forced_spec_keeps_the_pairs_it_made_and_their_split(tmp_path):
    """`--force` twice: the first spec made pairs 5-6 (split "train"), the second 0-1 (no split);
    run.json names, for every pair, the spec and the seed stream that made it."""
    with RunWriter(tmp_path, split_record("sha256:a", "train")) as w:
        put(w, 5)
        put(w, 6)
    with RunWriter(tmp_path, split_record("sha256:b", None), force=True) as w:
        assert w.done() == {5, 6}
        put(w, 0)
        put(w, 1)
    with RunWriter(tmp_path, split_record("sha256:c", "val"), force=True) as w:
        assert w.done() == {0, 1, 5, 6}
    rec = read_record(tmp_path)
    assert (rec["spec_hash"], rec["split"]) == ("sha256:c", "val")
    assert [(c["spec_hash"], c["split"], c["indices"]) for c in rec["contributions"]] == [
        ("sha256:a", "train", [[5, 6]]), ("sha256:b", None, [[0, 1]])]


def test_a_manifest_path_that_leaves_the_run_directory_is_no_file_of_the_run(tmp_path):
    """A hand-edited manifest line pointing outside the directory (a file that exists there) is
    dropped and the pair rendered again, never counted as done."""
    out = tmp_path / "run"
    with RunWriter(out, record()) as w:
        put(w, 0)
        put(w, 1)
    (tmp_path / "elsewhere.png").write_bytes((out / "images/000001_target.png").read_bytes())
    rows = read_manifest(out)
    rows[1]["target"]["image"] = "../elsewhere.png"
    (out / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with RunWriter(out, record()) as w:
        assert w.done() == {0}
    assert [r["index"] for r in read_manifest(out)] == [0]
    rd = RunDir(out)
    assert [rd.path(r, "target") for r in rd.pairs()] == [out.resolve() / "images/000000_target.png"]  # readable


def test_the_missing_files_warning_names_exactly_the_pairs_rendered_again(tmp_path, caplog):
    with RunWriter(tmp_path, record()) as w:
        for i in range(3):
            put(w, i)
    with caplog.at_level("WARNING"), RunWriter(tmp_path, record()):
        pass
    assert caplog.records == []  # a complete run resumes without a warning
    (tmp_path / "masks/000001_source.png").unlink()
    with caplog.at_level("WARNING"), RunWriter(tmp_path, record()) as w:
        assert w.done() == {0, 2}
    assert "1 accepted pair(s) have missing files" in caplog.text and caplog.text.rstrip().endswith("(indices 1)")


def test_an_exhausted_index_is_done_at_once(tmp_path):
    with RunWriter(tmp_path, record()) as w:
        put(w, 0)
        w.write_reject(3, 0, "occluded")
        w.write_exhausted(3)
        assert w.done() == {0, 3} and w.accepted() == 1


def test_closing_a_writer_twice_is_harmless(tmp_path):
    with RunWriter(tmp_path, record()) as w:
        put(w, 0)
        w.close()  # the with block closes it again
    with RunWriter(tmp_path, record()) as w:  # the lock was released
        assert w.done() == {0}
