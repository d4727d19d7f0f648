import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import SIZE, square_pair, write_aurora_json, write_imagefolder, write_render_run

from simedit.render.common.errors import SimEditError
from simedit.train.cli import main as train_main
from simedit.train.config import parse_config
from simedit.train.data.augment import AugmentConfig
from simedit.train.data.batches import PairStream
from simedit.train.data.mixing import Mixture, Stage, StagePlan
from simedit.train.data.sources import AuroraJson, HFDataset, RenderRun, SkipCounter, Unreadable
from simedit.train.errors import TrainError


@pytest.mark.parametrize("uint16", [False, True])
def test_render_run_edit_mask_covers_the_edited_objects(tmp_path, uint16):
    from scipy import ndimage

    run = RenderRun(write_render_run(tmp_path / "r", n=2, uint16_masks=uint16))
    ex = run.load(1)
    assert ex.instruction == "move the red square to the right" and ex.source_name == "r"
    src, tgt, _ = square_pair(1)
    red = lambda im: (np.asarray(im) == (220, 30, 30)).all(-1)  # noqa: E731
    union = red(src) | red(tgt)
    got = np.asarray(ex.mask) > 0
    # the edited objects in both images (and what changed: here the same pixels), dilated 1 px at 20 px
    assert np.array_equal(got, ndimage.binary_dilation(union, np.ones((3, 3), bool), iterations=1))
    assert not got[SIZE - 3, 2]  # the still (unedited) dot is not in the edit mask


def test_aurora_json_and_imagefolder_load(tmp_path):
    aj = AuroraJson(write_aurora_json(tmp_path / "a", n=3))
    assert len(aj) == 3
    ex = aj.load(2)
    assert ex.instruction == "make the square go right 2" and ex.mask is None and ex.source.size == (SIZE, SIZE)
    hf = HFDataset(write_imagefolder(tmp_path / "hf", n=3))
    assert len(hf) == 3 and hf.load(1).instruction == "slide it 1"
    assert np.array_equal(np.asarray(hf.load(0).target), np.asarray(square_pair(20)[1]))


def test_hf_save_to_disk_dataset(tmp_path):
    import datasets
    src, tgt, instr = square_pair(0)
    ds = datasets.Dataset.from_dict({"input_image": [src], "edit_prompt": [instr], "edited_image": [tgt]},
                                    features=datasets.Features({"input_image": datasets.Image(), "edit_prompt": datasets.Value("string"),
                                                                "edited_image": datasets.Image()}))
    ds.save_to_disk(str(tmp_path / "ds"))
    hf = HFDataset(tmp_path / "ds")
    assert len(hf) == 1 and hf.load(0).instruction == instr


def test_bad_aurora_json_is_a_user_error(tmp_path):
    p = tmp_path / "x.json"
    p.write_text(json.dumps([{"input": "a.png"}]))
    with pytest.raises(TrainError, match="x.json.*item 0"):
        AuroraJson(p)


def test_missing_image_is_skipped_and_counted(tmp_path):
    run_dir = write_render_run(tmp_path / "r", n=4)
    (run_dir / "images" / "000002_target.png").unlink()
    (run_dir / "images" / "000003_source.png").write_bytes(b"not a png")
    run = RenderRun(run_dir)
    with pytest.raises(Unreadable):
        run.load(2)
    stream = PairStream(StagePlan([Stage(Mixture([run], [1.0]), None)]), AugmentConfig(16), seed=0)
    counter = SkipCounter()
    for n in range(40):
        item = stream[(0, n)]
        for name, reason in item["skipped"]:
            counter.skip(name, reason)
        assert item["source"].shape == (3, 16, 16)
    assert counter.counts["r"] > 5  # half the pairs are broken: about 40 skips expected
    assert counter.total == sum(len(stream[(0, n)]["skipped"]) for n in range(40))  # deterministic


def test_config_rejects_unknown_keys_and_names_the_field(tmp_path):
    raw = {"model": {"base": "m"}, "data": {"datasets": [{"name": "a", "type": "render", "path": "p"}],
                                            "stages": [{"mix": {"a": 1}}]},
           "train": {"max_steps": 1, "learning_rat": 1}, "output_dir": "o"}
    with pytest.raises(TrainError, match=r"train.learning_rat"):
        parse_config(raw, "c.yaml")
    raw["train"] = {"max_steps": 1}
    raw["data"]["stages"] = [{"mix": {"b": 1}}]
    with pytest.raises(TrainError, match="unknown dataset 'b'"):
        parse_config(raw, "c.yaml")


def test_cli_prints_user_errors_on_one_line(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("model: {base: nowhere}\noutput_dir: o\n")
    r = subprocess.run([sys.executable, "-m", "train", "--config", str(cfg)], capture_output=True, text=True)
    assert r.returncode != 0
    assert r.stderr.strip().count("\n") == 0 and r.stderr.startswith("train: error:") and "c.yaml" in r.stderr


def _tear_last_line(run_dir):
    """The manifest as a crash mid-append leaves it: the last line cut short, no final newline."""
    manifest = run_dir / "manifest.jsonl"
    lines = manifest.read_text().splitlines()
    manifest.write_text("".join(line + "\n" for line in lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    return lines


def test_render_run_skips_a_torn_last_line(tmp_path):
    run_dir = write_render_run(tmp_path / "r", n=5)
    lines = _tear_last_line(run_dir)
    run = RenderRun(run_dir)
    assert len(run) == 4 and [r["key"] for r in run.rows] == [json.loads(l)["key"] for l in lines[:4]]
    stream = PairStream(StagePlan([Stage(Mixture([run], [1.0]), None)]), AugmentConfig(16), seed=0)
    for n in range(8):  # every draw comes from the complete rows and trains as usual
        item = stream[(0, n)]
        assert item["skipped"] == [] and item["source"].shape == (3, 16, 16) and item["has_mask"]
        assert item["mask"].sum() > 0


def test_corrupt_middle_manifest_line_is_a_one_line_user_error(tmp_path, capsys):
    run_dir = write_render_run(tmp_path / "r", n=5)
    manifest = run_dir / "manifest.jsonl"
    lines = manifest.read_text().splitlines()
    lines[2] = lines[2][:30]  # a bad line that is not the last one is corruption, not a torn write
    manifest.write_text("".join(line + "\n" for line in lines))
    with pytest.raises(SimEditError, match=r"manifest.jsonl: line 3 is not valid JSON") as err:
        RenderRun(run_dir)
    assert "\n" not in str(err.value)
    cfg = tmp_path / "c.yaml"  # JSON is YAML; the data is read before the (missing) model
    cfg.write_text(json.dumps({"model": {"base": str(tmp_path / "nomodel")},
                               "data": {"datasets": [{"name": "r", "type": "render", "path": str(run_dir)}],
                                        "stages": [{"mix": {"r": 1}}]},
                               "train": {"max_steps": 1}, "output_dir": str(tmp_path / "out")}))
    assert train_main(["--config", str(cfg)]) == 2
    out = capsys.readouterr().err.strip()
    assert out.startswith("train: error: ") and "\n" not in out and "manifest.jsonl: line 3" in out


def test_cli_subcommands_and_help(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        train_main(["--help"])
    assert e.value.code == 0
    help_text = capsys.readouterr().out
    assert "--config" in help_text and "make-tiny-model" in help_text and "make-demo-data" in help_text
    assert train_main(["make-demo-data", str(tmp_path / "demo"), "--pairs", "3"]) == 0
    run = RenderRun(tmp_path / "demo")
    assert len(run) == 3 and run.load(2).mask is not None
    assert not [p for p in (tmp_path / "demo").rglob(".*")]  # atomic writes leave no temporaries
    with pytest.raises(SystemExit) as e:  # a training option with a subcommand is a usage error
        train_main(["--resume", "make-demo-data", str(tmp_path / "d2")])
    assert e.value.code == 2
