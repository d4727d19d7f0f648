"""Edit pairs from action videos on disk, written in the AURORA JSON format the trainer reads
(`[{"input", "output", "instruction"}]`, paths relative to the JSON's folder; dataset `type: video`).

Two inputs (read into `Clip`s by `annotations.py`, which also says what happens to a bad row):

- **Something-Something v2 style**: a folder of videos (`<id>.webm`, any container PyAV reads,
  found recursively by file stem) and the label JSON (`[{"id", "label", "template",
  "placeholders"}]`). The pair is the first and the last frame; `last_offset = n` takes the n-th
  frame from the end instead, and when the tail of a video cannot be decoded the last frame that
  could be is used. The instruction is the template with its `[...]` slots filled by the
  placeholders in order (the `label` when there is no template), first letter lower-cased.
  Labels whose *template* (so object names never trigger it) contains a drop word are skipped;
  the default list is AURORA's (appendix E). A word matches at a word start: "show" drops
  "Showing [something] to the camera". AURORA's script also drops a label with "falls off"
  unless it has a "but" ("... but it does not fall off" keeps what happened visible).
- **Segment annotations** (EPIC-Kitchens / MPII-Cooking style CSV): one row per segment with a
  video id, start and stop (frame numbers, 0-based in the decoded video, or timestamps
  `HH:MM:SS.fff` / seconds; timestamps win when both are present), and a narration (or verb and
  noun). The pair is the first and last frame of the segment; the instruction the narration,
  else "verb noun".

Every pair then goes through the frame-pair filter (`simedit.train.video.frame_filters`): camera
moves, near-identical pairs and cuts are rejected. With `best_pair`, `candidates` frames spread
evenly over the clip are compared and the pair with the largest change that passes the same
checks is kept (EditWorld). Each row records its `action` (the Something-Something template, or
the segment's verb) for EditAction's negatives.

Unreadable or missing videos are skipped and counted (a warning for the first few), and so is a
segment that runs past the end of its video (`segment_past_end`: its annotation does not fit
the file); the report counts everything. Frames are decoded with PyAV (FFmpeg). Every file is written atomically.
"""
from __future__ import annotations

import json
import logging
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from PIL import Image
from pydantic import ConfigDict
from pydantic.dataclasses import dataclass as pydantic_dataclass
from tqdm.auto import tqdm

from simedit.render.common.atomic import atomic_write
from simedit.render.common.fields import integer
from simedit.render.common.images import save_image
from simedit.train.errors import TrainError
from simedit.train.video.annotations import WARN_FIRST, Clip
from simedit.train.video.frame_filters import FilterConfig, best_pair, judge_pair, make_similarity

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".webm", ".mp4", ".avi", ".mkv", ".mov", ".m4v", ".mpg", ".mpeg", ".ogv")


class Unreadable(Exception):
    """A video that cannot be opened or decoded (skipped and counted)."""

    reason = "unreadable_video"


class SegmentPastEnd(Unreadable):
    """A segment whose stop lies beyond the last frame of its video."""

    reason = "segment_past_end"


@pydantic_dataclass(config=ConfigDict(extra="forbid"))
class VideoPairsConfig:
    """Checked when made, as FilterConfig: a bad option is refused before a video is opened."""

    filter: FilterConfig = field(default_factory=FilterConfig)
    # n-th frame from the end of a clip without a stop (0 = last); that many decoded frames are held
    last_offset: integer(ge=0, le=300) = 0
    best_pair: bool = False  # EditWorld: most-changed passing pair among `candidates` frames
    candidates: integer(ge=2, le=256) = 8  # compared pairwise: K (K - 1) / 2 pairs
    max_side: integer(ge=8, le=16384) | None = None  # downscale frames so the longer side is at most this
    limit: integer(ge=1, le=10**9) | None = None  # stop after this many accepted pairs
    image_format: Literal["png", "jpg"] = "png"


@dataclass
class VideoPairsReport:
    out: Path
    accepted: int = 0
    rejected: Counter = field(default_factory=Counter)  # reason -> count (filters, labels, videos)

    def as_dict(self) -> dict:
        return {"pairs": str(self.out), "accepted": self.accepted, "rejected": dict(sorted(self.rejected.items()))}

    def summary(self) -> str:
        rej = ", ".join(f"{k}: {v}" for k, v in sorted(self.rejected.items())) or "none"
        return f"{self.accepted} pairs written to {self.out}; rejected: {rej}"


# ----------------------------------------------------------------------------- inputs

def index_videos(videos_dir: str | Path) -> dict[str, Path]:
    """File stem -> path for every video file under `videos_dir` (recursive)."""
    root = Path(videos_dir)
    if not root.is_dir():
        raise TrainError("videos folder not found", file=str(root), field="videos")
    index: dict[str, Path] = {}
    for p in sorted(root.rglob("*")):
        if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file():
            index.setdefault(p.stem, p)
    return index


# ----------------------------------------------------------------------------- decoding

def _resize(img: Image.Image, max_side: int | None) -> Image.Image:
    if max_side and max(img.size) > max_side:
        s = max_side / max(img.size)
        img = img.resize((max(1, round(img.size[0] * s)), max(1, round(img.size[1] * s))), Image.BICUBIC)
    return img


def decode_clip(path: str | Path, start: float | None = None, stop: float | None = None, unit: str = "frame",
                candidates: int = 2, last_offset: int = 0, max_side: int | None = None,
                max_buffer: int = 1024) -> list[tuple[int, Image.Image]]:
    """Frames (index, image) of a clip, in order: the first and last (`candidates` = 2) or
    `candidates` frames spread evenly over it. Frame indices are 0-based positions in the video
    (from timestamps). A clip without `stop` ends `last_offset` frames before the last frame that
    could be decoded. Raises Unreadable when nothing usable can be decoded."""
    import av

    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError) as e:
        raise Unreadable(f"{path}: cannot open ({e.__class__.__name__}: {e})") from None
    try:
        if not container.streams.video:
            raise Unreadable(f"{path}: no video stream")
        s = container.streams.video[0]
        s.thread_type = "AUTO"
        fps = float(s.average_rate or s.guessed_rate or 0) or 25.0
        tb = float(s.time_base) if s.time_base else 1.0 / fps
        t0 = s.start_time or 0
        a = 0 if start is None else (round(start * fps) if unit == "second" else int(start))
        b = None if stop is None else (round(stop * fps) if unit == "second" else int(stop))
        if a > 0:
            try:
                container.seek(int(a / fps / tb) + t0, stream=s, backward=True, any_frame=False)
            except (av.FFmpegError, OverflowError, ValueError):
                pass  # decode from the start instead
        # Keep only what can be needed: with a known stop, the frames nearest to the wanted
        # indices; without one, the first frame plus a tail (or everything, up to max_buffer).
        wanted = None
        if b is not None:
            k = max(2, candidates)
            wanted = sorted({a + round(i * (b - a) / (k - 1)) for i in range(k)})
        kept: list[tuple[int, Image.Image]] = []
        tail: deque = deque(maxlen=last_offset + 1 if candidates <= 2 else max_buffer)
        counter, broken = a, None
        try:
            for frame in container.decode(s):
                idx = round((frame.pts - t0) * tb * fps) if frame.pts is not None else counter
                counter = idx + 1
                if idx < a:
                    continue
                if b is not None and idx > b:
                    break
                if wanted is not None:
                    if wanted and idx >= wanted[0]:
                        while wanted and idx >= wanted[0]:
                            wanted.pop(0)
                        kept.append((idx, _resize(frame.to_image(), max_side)))
                    if not wanted:
                        break
                elif not kept:
                    kept.append((idx, _resize(frame.to_image(), max_side)))
                else:
                    tail.append((idx, frame))
        except (av.FFmpegError, ValueError, OSError) as e:  # a broken tail: use what decoded
            broken = e
        if wanted is None and tail:
            if candidates <= 2:
                idx, frame = tail[0]  # last_offset frames before the last decoded
                kept.append((idx, _resize(frame.to_image(), max_side)))
            else:
                frames = list(tail)[: len(tail) - last_offset] or list(tail)[:1]
                n = len(frames)
                picks = sorted({round(i * (n - 1) / (candidates - 2)) for i in range(candidates - 1)}) if n > 1 else [0]
                kept += [(frames[p][0], _resize(frames[p][1].to_image(), max_side)) for p in picks]
        if b is not None and broken is None and counter <= b and (wanted or len(kept) < 2):
            # The video ended (cleanly) before the segment's stop: the annotation does not fit it.
            raise SegmentPastEnd(f"{path}: segment {a}..{b} runs past the last frame ({counter - 1})")
        if len(kept) < 2:
            why = f" ({broken.__class__.__name__}: {broken})" if broken else ""
            raise Unreadable(f"{path}: fewer than two decodable frames in the clip{why}")
        return kept
    finally:
        container.close()


# ----------------------------------------------------------------------------- pairs

def make_pairs(clips: list[Clip], videos_dir: str | Path, out_dir: str | Path, cfg: VideoPairsConfig,
               rejected: Counter | None = None, pairs_name: str = "pairs.json") -> VideoPairsReport:
    """Decode, filter and write the pairs: OUT/images/<key>_input.<ext>, OUT/images/<key>_output.<ext>
    and OUT/pairs.json (AURORA format, plus `video`, `frames`, `similarity`) and OUT/report.json."""
    cfg.filter.check()
    videos = index_videos(videos_dir)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise TrainError("the output is a file, not a folder", file=str(out), field="out")
    try:
        (out / "images").mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise TrainError(f"cannot make the output folder: {e.strerror or e}", file=str(out), field="out") from None
    report = VideoPairsReport(out / pairs_name, rejected=Counter(rejected or {}))
    sim = make_similarity(cfg.filter)
    rows, warned, seen = [], 0, set()
    bar = tqdm(clips, desc="video pairs", unit="clip")

    def process(clip: Clip) -> None:
        nonlocal warned
        key = clip.key
        while key in seen:
            key += "_"
        seen.add(key)
        path = videos.get(clip.video_id) or videos.get(Path(clip.video_id).stem)
        if path is None:
            report.rejected["missing_video"] += 1
            return
        k = cfg.candidates if cfg.best_pair else 2
        try:
            frames = decode_clip(path, clip.start, clip.stop, clip.unit, k, cfg.last_offset, cfg.max_side)
        except Unreadable as e:
            report.rejected[e.reason] += 1
            warned += 1
            if warned <= WARN_FIRST:
                log.warning("skipping video: %s (%d so far)", e, warned)
            return
        if cfg.best_pair:
            i, j, s = best_pair([f for _, f in frames], sim, cfg.filter)
            if i is None:
                report.rejected[j] += 1  # type: ignore[index]
                return
            (ia, fa), (ib, fb) = frames[i], frames[j]  # type: ignore[index]
        else:
            (ia, fa), (ib, fb) = frames[0], frames[-1]
            reason, s = judge_pair(fa, fb, sim, cfg.filter)
            if reason:
                report.rejected[reason] += 1
                return
        names = [f"images/{key}_{side}.{cfg.image_format}" for side in ("input", "output")]
        for name, img in zip(names, (fa, fb)):
            save_image(img.convert("RGB"), out / name)
        rows.append({"input": names[0], "output": names[1], "instruction": clip.instruction,
                     "video": str(path), "frames": [ia, ib], "similarity": round(float(s), 4), **clip.meta})
        report.accepted += 1

    for clip in bar:
        if cfg.limit is not None and report.accepted >= cfg.limit:
            break
        process(clip)
        bar.set_postfix(accepted=report.accepted, rejected=sum(report.rejected.values()))
    bar.close()
    if warned > WARN_FIRST:
        log.warning("%d unreadable videos skipped in all", warned)
    atomic_write(report.out, json.dumps(rows, indent=1))
    atomic_write(out / "report.json", json.dumps(report.as_dict(), indent=1))
    return report
