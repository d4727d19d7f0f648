"""Bad input gets one clear line, on the trainer side: seeded mutations of the shipped train
configs (`train/configs/*.yaml`, their placeholder paths pointed at a tiny model and tiny
datasets, every default written out so mutations reach it) through `train --config C --check`
(the CLI's loading path and every check the trainer runs before its first step; nothing
trains), and mutations of a video-pairs segment CSV. Refused: exit 2 and one short line, no
traceback; accepted: exit 0; both within a time bound and without writing anything outside the
case's folder."""
from __future__ import annotations

import io
import re
import sys
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import yaml
from conftest import write_aurora_json, write_imagefolder, write_render_run

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared fuzz helpers
import fuzz_inputs as F  # noqa: E402

from simedit.train.cli import main as train_main  # noqa: E402
from simedit.train.config import parse_config  # noqa: E402
from simedit.train.video.cli import main as video_main  # noqa: E402

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "train" / "configs").glob("*.yaml"))
N_CONFIG_CASES = 150
SLOWEST_S = 5  # a --check answers in milliseconds; anything near this is a hang in the making


def make_bases(root: Path, tiny_model: Path) -> list[bytes]:
    """The shipped configs with their paths made real and their defaults spelled out."""
    paths = {"render": write_render_run(root / "run", n=4), "aurora_json": write_aurora_json(root / "aj", n=3),
             "hf": write_imagefolder(root / "hf", n=3)}
    paths["video"] = paths["aurora_json"]
    out = []
    for file in CONFIGS:
        raw = yaml.safe_load(file.read_text())
        raw["model"]["base"] = str(tiny_model)
        for d in raw["data"]["datasets"]:
            d["path"] = str(paths[d["type"]])
            d.pop("root", None)
        raw["output_dir"] = str(root / "never-written" / file.stem)
        full = parse_config(raw, str(file)).model_dump(mode="json")  # every field, defaults included
        out.append(F.dump(full))
    return out


def check(path: Path, out: Path) -> list[str]:
    return ["--config", str(path), "--check"]


def test_mutated_train_configs_are_refused_in_one_line_or_pass_the_check(tiny_model, tmp_path, monkeypatch):
    bases = make_bases(tmp_path / "data", tiny_model)
    monkeypatch.chdir(tmp_path)  # a mutated relative path lands here, where writes are watched
    rng = np.random.default_rng(10)
    cases = [F.mutate(bases[int(rng.integers(len(bases)))], rng) for _ in range(N_CONFIG_CASES)]
    outcomes = [F.run_case(case, tmp_path / f"c{i}", check, train_main, tmp_path) for i, case in enumerate(cases)]
    s = F.summary(outcomes)
    print(F.report(outcomes))  # the figures, with -s
    assert not s["problems"], s["problems"]
    assert {o.code for o in outcomes} == {0, 2}, s  # some mutations are harmless and must still pass
    assert s["slowest_s"] < SLOWEST_S, s
    for i, o in enumerate(outcomes):
        if o.code == 0:  # run_case keeps only stderr: once more for the summary
            std = io.StringIO()
            with redirect_stdout(std):
                assert train_main(check(tmp_path / f"c{i}" / "input.yaml", tmp_path)) == 0
            assert "config OK: " in std.getvalue(), (o.case.name, std.getvalue())
        else:  # short once the folders of its paths are left out
            assert o.stderr.startswith("train: error: ") and len(re.sub(r"/\S*/", "", o.stderr.strip())) <= 200, o.stderr


CSV = ("video_id,start_timestamp,stop_timestamp,narration,verb\n"
       "P01,00:00:00.10,00:00:01.50,push the block,push\n"
       "P01,0.2,1.9,slide the block,slide\n")
CSV_CASES = [
    ("extra field", CSV + "P01,0.1,0.9,push,it,again\n"),
    ("missing field", CSV + "P01,0.1\n"),
    ("nan/inf times", CSV.replace("0.2,1.9", "nan,inf")),
    ("huge time", CSV.replace("0.2,1.9", "1e400,1e999")),
    ("negative time", CSV.replace("0.2,1.9", "-3,1.9")),
    ("times reversed", CSV.replace("0.2,1.9", "1.9,0.2")),
    ("every row bad", "video_id,start_timestamp,stop_timestamp,narration\nP01,x,y,a\nP01,,,b\n"),
    ("no video column", CSV.replace("video_id", "clip")),
    ("header only", CSV.splitlines()[0] + "\n"),
    ("empty file", ""),
    ("excel BOM", "\ufeff" + CSV),
    ("latin-1 byte", None),
    ("NUL byte", None),
    ("unclosed quote", CSV + 'P01,0.1,0.9,"push the block\n'),
    ("truncated", CSV[: len(CSV) - 17]),
    ("tabs", CSV.replace(",", "\t")),
]


def test_mutated_segment_csvs_are_refused_in_one_line_or_counted(tmp_path):
    from test_train_video import moving_square, write_video

    videos = tmp_path / "videos"
    write_video(videos / "P01.mp4", moving_square(20))
    outcomes = []
    for i, (name, text) in enumerate(CSV_CASES):
        data = (text or "").encode()
        if name == "latin-1 byte":
            data = CSV.replace("push the", "caf\xe9 the").encode("latin-1")
        elif name == "NUL byte":
            data = CSV.replace("0.2,1.9", "0.2,1\x009").encode()
        case = F.Case(name, data)
        outcomes.append(F.run_case(case, tmp_path / f"c{i}", lambda p, o: ["segments", "--videos", str(videos),
                                                                          "--csv", str(p), "--out", str(o)],
                                   video_main, tmp_path))
    bad = [(o.case.name, F.problems(o)) for o in outcomes if F.problems(o)]
    assert not bad, bad
    codes = {o.case.name: o.code for o in outcomes}
    assert {k for k, v in codes.items() if v == 0} >= {"extra field", "missing field", "nan/inf times", "huge time",
                                                       "negative time", "excel BOM", "tabs", "header only",
                                                       "NUL byte"}, codes  # a bad row: counted
    assert {k for k, v in codes.items() if v == 2} >= {"every row bad", "no video column", "latin-1 byte",
                                                       "empty file"}, codes
