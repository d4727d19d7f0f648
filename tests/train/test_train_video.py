"""Video-derived pairs: videos are made here with PyAV (nothing downloaded), tiny and short."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from simedit.train.data.sources import AuroraJson
from simedit.train.errors import TrainError
from simedit.train.video import calibration
from simedit.train.video.frame_filters import (
    THRESHOLDS,
    FilterConfig,
    best_pair,
    judge,
    judge_pair,
    make_similarity,
    phash_similarity,
    pixel_similarity,
)
from simedit.train.video.cli import main as video_main
from simedit.train.video.annotations import (
    DEFAULT_DROP_WORDS,
    dropped_unless,
    fill_template,
    matches_drop_word,
    parse_time,
    segment_clips,
    ssv2_clips,
)
from simedit.train.video.pairs import SegmentPastEnd, decode_clip

SIZE = 32


def background(seed: int = 0, size: int = SIZE) -> np.ndarray:
    """A blocky random texture: a camera shift changes almost every pixel."""
    a = np.random.default_rng(seed).integers(0, 256, (size // 4, size // 4, 3)).astype(np.uint8)
    return np.kron(a, np.ones((4, 4, 1), np.uint8))


def moving_square(n: int = 12, step: int = 1, seed: int = 0) -> list[np.ndarray]:
    """A red square sliding right over a still textured background."""
    out = []
    for i in range(n):
        a = background(seed).copy()
        a[8:16, 2 + i * step:10 + i * step] = (255, 0, 0)
        out.append(a)
    return out


def write_video(path: Path, frames: list[np.ndarray], fps: int = 10) -> Path:
    import av

    codec = {".webm": "libvpx-vp9", ".mkv": "libx264", ".mp4": "libx264"}[path.suffix]
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=fps)
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        if codec == "libx264":
            s.options = {"crf": "10", "preset": "ultrafast"}
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def test_ssv2_pairs_from_made_videos(tmp_path):
    vids = tmp_path / "videos"
    write_video(vids / "101.webm", moving_square())
    write_video(vids / "sub" / "102.mkv", moving_square())  # found recursively
    write_video(vids / "103.webm", [background()] * 8)  # nothing happens
    write_video(vids / "104.webm", moving_square())  # dropped by its template
    (vids / "105.webm").write_bytes(b"not a video at all")
    labels = [
        {"id": "101", "label": "moving red block from left to right", "template": "Moving [something] from left to right",
         "placeholders": ["red block"]},
        {"id": "102", "label": "pushing a roll of tape to the right", "template": "Pushing [something] from left to right",
         "placeholders": ["a roll of tape"]},
        {"id": "103", "label": "putting cup on table", "template": "Putting [something] on [something]",
         "placeholders": ["cup", "table"]},
        {"id": "104", "label": "pretending to put box on table", "template": "Pretending to put [something] on [something]",
         "placeholders": ["box", "table"]},
        {"id": "105", "label": "tearing paper", "template": "Tearing [something]", "placeholders": ["paper"]},
        {"id": "106", "label": "opening door", "template": "Opening [something]", "placeholders": ["door"]},  # no video
    ]
    (tmp_path / "labels.json").write_text(json.dumps(labels))
    out = tmp_path / "out"
    rc = video_main(["ssv2", "--videos", str(vids), "--labels", str(tmp_path / "labels.json"), "--out", str(out)])
    assert rc == 0
    rows = json.loads((out / "pairs.json").read_text())
    assert [r["instruction"] for r in rows] == ["moving red block from left to right",
                                               "pushing a roll of tape from left to right"]  # "roll" in a name is kept
    assert rows[0]["frames"] == [0, 11]
    report = json.loads((out / "report.json").read_text())
    assert report["accepted"] == 2
    assert report["rejected"] == {"drop_word": 1, "missing_video": 1, "near_identical": 1, "unreadable_video": 1}
    ds = AuroraJson(out / "pairs.json")  # the trainer reads it as is
    ex = ds.load(0)
    assert ex.source.size == (SIZE, SIZE) and ex.instruction == rows[0]["instruction"]
    src, tgt = np.asarray(ex.source, float), np.asarray(ex.target, float)
    red = np.array([255, 0, 0])
    assert np.abs(src[12, 4] - red).max() < 60 < np.abs(tgt[12, 4] - red).max()  # the square left its first spot


def test_keyword_filter_and_templates(tmp_path):
    assert fill_template("Putting [something] on [something]", ["a cup", "the table"]) == "putting a cup on the table"
    assert fill_template("Putting [something] on [something]", ["a cup"]) is None
    assert matches_drop_word("Pretending to pick [something] up", DEFAULT_DROP_WORDS) == "pretend"
    assert matches_drop_word("Showing [something] to the camera", DEFAULT_DROP_WORDS) == "show"
    assert matches_drop_word("Lifting [something] up completely, then letting it drop down", DEFAULT_DROP_WORDS)
    assert matches_drop_word("Folding [something]", DEFAULT_DROP_WORDS) is None
    assert matches_drop_word("Throwing [something]", ["tearing"]) is None  # configurable
    labels = [{"id": 1, "template": "Squeezing [something]", "placeholders": ["a ball"]},
              {"id": 2, "template": "Folding [something]", "placeholders": ["a towel"]},
              {"id": 3, "label": "spinning a coin"}, {"id": 4}]
    (tmp_path / "l.json").write_text(json.dumps(labels))
    rej = Counter()
    clips = ssv2_clips(tmp_path / "l.json", rejected=rej)
    assert [c.instruction for c in clips] == ["folding a towel"]
    assert rej == {"drop_word": 2, "no_label": 1}
    assert len(ssv2_clips(tmp_path / "l.json", drop_words=())) == 3


def test_segment_csv_parsing(tmp_path):
    epic = tmp_path / "epic.csv"
    epic.write_text("narration_id,participant_id,video_id,narration_timestamp,start_timestamp,stop_timestamp,"
                    "start_frame,stop_frame,narration,verb,noun\n"
                    "P01_01_0,P01,P01_01,00:00:01.00,00:00:00.30,00:00:01.50,18,90,open door,open,door\n"
                    "P01_01_1,P01,P01_01,00:00:02.00,00:00:02.00,00:00:01.00,120,60,close door,close,door\n"
                    "P01_01_2,P01,P01_01,00:00:03.00,00:00:03.00,00:00:04.25,180,255,,take,cup\n")
    rej = Counter()
    clips = segment_clips(epic, rejected=rej)
    assert [(c.key, c.video_id, c.instruction, c.unit, c.start, c.stop) for c in clips] == [
        ("P01_01_0", "P01_01", "open door", "second", 0.3, 1.5),
        ("P01_01_2", "P01_01", "take cup", "second", 3.0, 4.25)]  # verb + noun when no narration
    assert rej == {"empty_segment": 1}
    assert parse_time("01:02:03.5") == 3723.5 and parse_time("7.25") == 7.25
    mpii = tmp_path / "mpii.tsv"
    mpii.write_text("subject\tfile_name\tstart_frame\tend_frame\tactivity_category_name\n"
                    "s08\ts08-d02-cam-002\t10\t40\tcut apart\n")
    (c,) = segment_clips(mpii)
    assert (c.video_id, c.start, c.stop, c.unit, c.instruction) == ("s08-d02-cam-002", 10, 40, "frame", "cut apart")
    (c,) = segment_clips(mpii, columns={"narration": "subject"})
    assert c.instruction == "s08"
    bad = tmp_path / "bad.csv"
    bad.write_text("video_id,start_frame,stop_frame,narration\nv1,3,x,open door\n")
    with pytest.raises(TrainError) as e:
        segment_clips(bad)
    assert "bad.csv" in str(e.value) and "line 2" in str(e.value) and "start_frame/stop_frame" in str(e.value)


def test_segment_pairs_and_best_pair(tmp_path):
    write_video(tmp_path / "v" / "P01_01.mp4", moving_square(20))
    csv = tmp_path / "s.csv"
    csv.write_text("video_id,start_frame,stop_frame,narration\nP01_01,2,9,slide the block right\n"
                   "P01_01,4,18,push the block\n")
    out = tmp_path / "out"
    assert video_main(["segments", "--videos", str(tmp_path / "v"), "--csv", str(csv), "--out", str(out)]) == 0
    rows = json.loads((out / "pairs.json").read_text())
    assert [r["frames"] for r in rows] == [[2, 9], [4, 18]]
    # EditWorld: among 4 candidates the pair with the largest change that still passes.
    cfg_path = tmp_path / "cfg.yaml"
    cfg_path.write_text("best_pair: true\ncandidates: 4\nmin_similarity: 0.85\n")
    out2 = tmp_path / "out2"
    assert video_main(["segments", "--videos", str(tmp_path / "v"), "--csv", str(csv), "--out", str(out2),
                       "--config", str(cfg_path)]) == 0
    rows2 = json.loads((out2 / "pairs.json").read_text())
    for r in rows2:
        assert r["similarity"] >= 0.85
    a, b = rows2[1]["frames"]
    assert (a, b) != (4, 18) and b - a >= 4  # the full segment changes too much; a shorter span wins


def test_camera_move_filter_rejects_shifted_frame():
    base = background(3)
    moved = base.copy()
    moved[8:16, 8:16] = (255, 0, 0)  # an object appears: a local change
    shifted = np.roll(base, 4, axis=1)  # the camera pans by 4 pixels
    A, M, S = (Image.fromarray(x) for x in (base, moved, shifted))
    cfg = FilterConfig()
    sim = make_similarity(cfg)
    assert judge(sim(A, A), cfg) == "near_identical"
    assert judge_pair(A, M, sim, cfg)[0] is None
    assert judge_pair(A, S, sim, cfg)[0] == "camera_move"
    assert phash_similarity(A, A) == 1.0
    i, j, _ = best_pair([A, M, S], sim, cfg)
    assert (i, j) == (0, 1)
    with pytest.raises(TrainError, match="filter.min_similarity"):
        FilterConfig(min_similarity=0.9, max_similarity=0.5).check()
    with pytest.raises(TrainError, match="video-pairs calibrate"):  # no built-in thresholds for embeddings
        FilterConfig(measure="embedding", model_path="x").check()


def test_calibrated_thresholds_sort_the_synthetic_clips():
    """Each measure's own band, and the camera check, on fresh synthetic clips (seed 1)."""
    rng = np.random.default_rng(1)
    for measure in ("pixel", "phash"):
        cfg = FilterConfig(measure=measure)
        sim = make_similarity(cfg)
        verdicts = {case: [judge_pair(*calibration.make_case(case, rng), sim, cfg)[0] or "keep" for _ in range(6)]
                    for case in calibration.CASES}
        for case in ("static", "shake", "pan", "zoom", "unrelated"):  # everything AURORA would discard
            assert "keep" not in verdicts[case], (measure, case, verdicts[case])
        kept = sum(v == "keep" for c in calibration.KEEP for v in verdicts[c]) / (6 * len(calibration.KEEP))
        assert kept >= (0.9 if measure == "pixel" else 0.15), (measure, verdicts)  # phash keeps about half
    # A 4-px shake with nothing else changing: inside the pixel band, rejected for the camera.
    a, b = calibration._view(base := calibration._canvas(rng), rng=rng), calibration._view(base, 4, 0, rng=rng)
    sim = make_similarity(FilterConfig())
    assert judge(sim(a, b), FilterConfig()) is None and judge_pair(a, b, sim, FilterConfig())[0] == "camera_move"
    # Unrelated frames no longer pass the phash measure (they did with the pixel thresholds).
    lo, _ = THRESHOLDS["phash"]
    assert all(phash_similarity(*calibration.make_case("unrelated", rng)) < lo for _ in range(20))


def test_best_pair_rejects_a_pan_that_first_last_rejects(tmp_path):
    """A clip that pans all along: every candidate pair is a camera move."""
    rng = np.random.default_rng(2)
    base = calibration._canvas(rng)
    frames = [calibration._view(base, dx=3 * k, rng=rng) for k in range(6)]
    cfg = FilterConfig(min_similarity=0.0)  # even with no lower similarity bound
    sim = make_similarity(cfg)
    assert judge_pair(frames[0], frames[-1], sim, cfg)[0] == "camera_move"
    i, reason, _ = best_pair(frames, sim, cfg)
    assert i is None and reason == "camera_move"


def test_aurora_text_filter_and_a_segment_past_the_end(tmp_path):
    assert dropped_unless("Moving a cup across a surface until it falls off") == "falls off"
    assert dropped_unless("Tilting a book with a pen on it but it falls off slowly") is None
    labels = [{"id": 1, "template": "Pushing [something] so that it falls off the table", "placeholders": ["a cup"]},
              {"id": 2, "template": "Putting [something] on the edge, but it falls off", "placeholders": ["a cup"]}]
    (tmp_path / "l.json").write_text(json.dumps(labels))
    rej = Counter()
    clips = ssv2_clips(tmp_path / "l.json", rejected=rej)
    assert [c.video_id for c in clips] == ["2"] and rej == {"falls_off": 1}
    assert clips[0].meta["action"] == "Putting [something] on the edge, but it falls off"
    path = write_video(tmp_path / "v" / "P01.mp4", moving_square(10))
    with pytest.raises(SegmentPastEnd):
        decode_clip(path, 4, 30)
    (tmp_path / "s.csv").write_text("video_id,start_frame,stop_frame,narration,verb\nP01,2,8,push the block,push\n"
                                    "P01,4,30,slide it,slide\n")
    out = tmp_path / "out"
    assert video_main(["segments", "--videos", str(tmp_path / "v"), "--csv", str(tmp_path / "s.csv"),
                       "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["rejected"] == {"segment_past_end": 1} and report["accepted"] == 1
    assert json.loads((out / "pairs.json").read_text())[0]["action"] == "push"


def test_unreadable_tail_falls_back_and_last_offset(tmp_path):
    path = write_video(tmp_path / "v.webm", moving_square(12))
    assert [i for i, _ in decode_clip(path)] == [0, 11]
    assert [i for i, _ in decode_clip(path, last_offset=2)] == [0, 9]
    cut = tmp_path / "cut.webm"
    data = path.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.7)])  # the last frames cannot be decoded
    frames = decode_clip(cut)
    assert frames[0][0] == 0 and 0 < frames[-1][0] < 11


def test_video_cli_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "v").mkdir()
    rc = video_main(["ssv2", "--videos", str(tmp_path / "v"), "--labels", str(tmp_path / "nope.json"),
                     "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("video-pairs: error: ") and "nope.json" in err and "\n" not in err
    (tmp_path / "c.yaml").write_text("min_similarity: 0.2\nthreshold: 3\n")
    rc = video_main(["ssv2", "--videos", str(tmp_path / "v"), "--labels", str(tmp_path / "nope.json"),
                     "--out", str(tmp_path / "o"), "--config", str(tmp_path / "c.yaml")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "c.yaml: threshold" in err
