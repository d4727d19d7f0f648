"""The `video-pairs` command: edit pairs from action videos, in the AURORA JSON format.

    video-pairs ssv2 --videos DIR --labels LABELS.json --out OUT_DIR [options]
    video-pairs segments --videos DIR --csv SEGMENTS.csv --out OUT_DIR [--columns role=name,...] [options]
    video-pairs calibrate [--measure pixel|phash|embedding] [--model-path DIR] [--n 30]

Options (flags override `--config FILE.yaml`, whose keys are the same names with underscores:
measure, min_similarity, max_similarity, size, pixel_tolerance, model_path, camera_motion,
max_shift, max_zoom, drop_words, last_offset, best_pair, candidates, max_side, limit):
    --measure pixel|phash|embedding   frame similarity (embedding needs --model-path, a local folder)
    --min-similarity X                below: too different, a cut (rejected); default per measure
    --max-similarity X                above: near-identical (rejected); default per measure
    --max-shift F / --max-zoom F      camera-move limits (fraction of the frame / |scale - 1|)
    --no-camera-check                 keep pairs whose camera moved
    --best-pair [--candidates K]      EditWorld: most-changed passing pair among K frames
    --last-offset N                   use the N-th frame from the end (ssv2)
    --drop-words "a,b" | --no-drop-words   keyword filter (ssv2 default: AURORA's list; segments: none)

Writes OUT_DIR/pairs.json (train dataset `type: video`, `path: OUT_DIR/pairs.json`), OUT_DIR/images/
and OUT_DIR/report.json.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from pydantic import ValidationError

from simedit.render.common.command import run_command
from simedit.render.common.yaml_file import read_yaml
from simedit.train.errors import TrainError
from simedit.train.options import FLAG, option_error

FILTER_KEYS = ("measure", "min_similarity", "max_similarity", "size", "pixel_tolerance", "model_path",
               "camera_motion", "max_shift", "max_zoom")
OTHER_KEYS = ("drop_words", "last_offset", "best_pair", "candidates", "max_side", "limit")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="video-pairs", description="Edit pairs from action videos (AURORA JSON format).")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name, help_ in (("ssv2", "Something-Something v2 style: videos + label JSON"),
                        ("segments", "EPIC-Kitchens / MPII-Cooking style segment CSV")):
        s = sub.add_parser(name, help=help_)
        s.add_argument("--videos", required=True, help="folder of videos (searched recursively by file stem)")
        if name == "ssv2":
            s.add_argument("--labels", required=True, help="label JSON: [{id, label, template, placeholders}]")
        else:
            s.add_argument("--csv", required=True, help="segment CSV with a header")
            s.add_argument("--columns", help="role=column overrides, e.g. video=file_name,start_frame=start,narration=caption")
        s.add_argument("--out", required=True, help="output folder")
        s.add_argument("--config", help="YAML with the option names below (underscores)")
        s.add_argument("--measure", choices=("pixel", "phash", "embedding"))
        s.add_argument("--model-path", help="local CLIP-style model folder for --measure embedding")
        s.add_argument("--min-similarity", type=float)
        s.add_argument("--max-similarity", type=float)
        s.add_argument("--size", type=int, help="pixel measure: downscaled side (default 32)")
        s.add_argument("--pixel-tolerance", type=float, help="pixel measure: channel change that counts, on [0,1]")
        s.add_argument("--max-shift", type=float, help="camera move above this translation (fraction of the frame)")
        s.add_argument("--max-zoom", type=float, help="camera move above this zoom (|scale - 1|)")
        s.add_argument("--no-camera-check", dest="camera_motion", action="store_false", default=None,
                       help="do not reject pairs whose camera moved")
        s.add_argument("--best-pair", action="store_true", default=None)
        s.add_argument("--candidates", type=int)
        s.add_argument("--last-offset", type=int)
        s.add_argument("--max-side", type=int, help="downscale frames to at most this side")
        s.add_argument("--limit", type=int, help="stop after this many accepted pairs")
        g = s.add_mutually_exclusive_group()
        g.add_argument("--drop-words", help="comma-separated words/phrases; labels containing one are dropped")
        g.add_argument("--no-drop-words", action="store_true")
    c = sub.add_parser("calibrate", help="measure a similarity on synthetic clips and suggest its thresholds")
    c.add_argument("--measure", choices=("pixel", "phash", "embedding"), default="pixel")
    c.add_argument("--model-path", help="local CLIP-style model folder for --measure embedding")
    c.add_argument("--n", type=int, default=30, help="pairs per case (default 30)")
    c.add_argument("--seed", type=int, default=0)
    return p


def _calibrate(a: argparse.Namespace) -> int:
    from simedit.train.video import calibration
    from simedit.train.video.frame_filters import FilterConfig, make_similarity

    if not 1 <= a.n <= 10_000:
        raise TrainError(f"must be in 1..10000 (got {a.n})", field="--n")
    if a.seed < 0:
        raise TrainError(f"must be >= 0 (got {a.seed})", field="--seed")
    sim = make_similarity(FilterConfig(measure=a.measure, model_path=a.model_path))
    table = calibration.measure(sim, n=a.n, seed=a.seed)
    lo, hi = calibration.suggest(table)
    print(calibration.format_table(table))
    print(f"suggested for {a.measure}: --min-similarity {lo} --max-similarity {hi}")
    return 0


def _drop_words(value: object, file: str) -> list[str]:
    """A comma-separated text or a list of texts."""
    if isinstance(value, str):
        return [w.strip() for w in value.split(",") if w.strip()]
    if isinstance(value, list) and all(isinstance(w, str) for w in value):
        return [w.strip() for w in value if w.strip()]
    raise TrainError("expected a comma-separated text or a list of texts", file=file, field="drop_words")


def _settings(a: argparse.Namespace) -> tuple[dict, dict[str, str]]:
    """The options (flags over `--config`) and where each came from: the config file or FLAG."""
    settings: dict = {}
    origin: dict[str, str] = {}
    if a.config:
        path = Path(a.config)
        data = read_yaml(path, "config", TrainError)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise TrainError("expected a mapping of options", file=str(path))
        for k, v in data.items():
            if k not in FILTER_KEYS + OTHER_KEYS:
                raise TrainError(f"unknown option; expected one of {', '.join(FILTER_KEYS + OTHER_KEYS)}",
                                 file=str(path), field=str(k)[:40])
            settings[k], origin[k] = v, str(path)
        if "drop_words" in settings:
            settings["drop_words"] = _drop_words(settings["drop_words"], str(path))
    for k in FILTER_KEYS + OTHER_KEYS:
        v = getattr(a, k, None)
        if v is not None and k != "drop_words":
            settings[k], origin[k] = v, FLAG
    if a.no_drop_words:
        settings["drop_words"] = []
    elif a.drop_words is not None:
        settings["drop_words"] = _drop_words(a.drop_words, "")
    return settings, origin


def _configs(st: dict, origin: dict[str, str]):
    """FilterConfig and VideoPairsConfig (checked when made: types, finite numbers, ranges)."""
    from simedit.train.video.frame_filters import FilterConfig
    from simedit.train.video.pairs import VideoPairsConfig

    try:
        fcfg = FilterConfig(**{k: st[k] for k in FILTER_KEYS if k in st})
        cfg = VideoPairsConfig(filter=fcfg, **{k: st[k] for k in OTHER_KEYS if k in st and k != "drop_words"})
    except ValidationError as e:
        raise option_error(e, origin) from None
    fcfg.check()
    return cfg


def _columns(text: str | None) -> dict[str, str]:
    columns = {}
    for item in (text or "").split(","):
        if item.strip():
            role, sep, name = item.partition("=")
            if not sep:
                raise TrainError(f"expected role=column, got {item[:40]!r}", field="--columns")
            columns[role.strip()] = name.strip()
    return columns


def _run(argv: list[str]) -> int:
    a = _parser().parse_args(argv)
    if a.cmd == "calibrate":
        return _calibrate(a)
    from simedit.train.video.annotations import DEFAULT_DROP_WORDS, segment_clips, ssv2_clips
    from simedit.train.video.pairs import make_pairs

    st, origin = _settings(a)
    cfg = _configs(st, origin)
    rejected: Counter = Counter()
    if a.cmd == "ssv2":
        clips = ssv2_clips(a.labels, st.get("drop_words", DEFAULT_DROP_WORDS), rejected)
    else:
        clips = segment_clips(a.csv, _columns(a.columns), st.get("drop_words", ()), rejected)
    report = make_pairs(clips, a.videos, a.out, cfg, rejected)
    print(report.summary())
    print(f"train with: {{name: video, type: video, path: {report.out}}}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_command(_run, argv, prefix="video-pairs: ")


if __name__ == "__main__":
    sys.exit(main())
