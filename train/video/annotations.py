"""The annotations video pairs are cut from, read into `Clip`s: a Something-Something v2 label
JSON (`[{"id", "label", "template", "placeholders"}]`) or a segment CSV (EPIC-Kitchens /
MPII-Cooking style). Both are read as UTF-8 (a byte-order mark, as Excel writes, is accepted;
another encoding is one error line naming the byte).

A file that cannot be used as a whole (not JSON, not a list, no video or start/stop column) is
one error line. A single row that cannot be used (extra or missing CSV fields, a start or stop
that is not a finite time or frame number, a label item that is not an object with an id and
text fields) is skipped and counted as `bad_row` in the report, with a warning naming the first
few lines: one broken line of a 90,000-row annotation file should not cost the other 89,999.
When no row at all can be read, the columns (or the file) are wrong, not the rows: that is an
error naming the first bad line.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simedit.render.common.text import read_text
from simedit.train.errors import TrainError

log = logging.getLogger(__name__)

# AURORA, appendix E: keywords of Something-Something templates that rarely give a visible change.
DEFAULT_DROP_WORDS: tuple[str, ...] = (
    "pretend", "holding", "fail", "roll", "then letting it", "until it falls down", "spin",
    "nothing happens", "show", "falling like", "squeezing", "throwing", "slightly",
)
# AURORA's filter_keywords.py: (phrase, unless this word is present too).
EXCEPT_UNLESS: tuple[tuple[str, str], ...] = (("falls off", "but"),)
WARN_FIRST = 5
MAX_SECONDS = 1e7  # 116 days: beyond any annotated video, and frame arithmetic stays exact
MAX_FRAME = 10**9


@dataclass
class Clip:
    """One candidate pair: a video, an instruction and the span to take the frames from."""

    key: str  # unique, file-name safe
    video_id: str
    instruction: str
    start: float | None = None  # None: first frame
    stop: float | None = None  # None: last frame (minus last_offset)
    unit: str = "frame"  # "frame" or "second"
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class BadRows:
    """Rows skipped as unusable: counted, the first few warned about once the file is read (when
    every row is bad, the one error line says it instead)."""

    file: Path
    count: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)  # (problem, field) of the first few

    def skip(self, where: str, problem: str, column: str, rejected: Counter) -> None:
        self.count += 1
        rejected["bad_row"] += 1
        if len(self.problems) < WARN_FIRST:
            self.problems.append((f"{where}: {problem}", column))

    def check(self, rows: int) -> None:
        if rows and self.count == rows:
            problem, column = self.problems[0]
            raise TrainError(f"{problem}; no row could be read", file=str(self.file), field=column)
        for problem, _ in self.problems:
            log.warning("%s: %s; row skipped", self.file, problem)
        if self.count > len(self.problems):
            log.warning("%s: %d bad rows skipped in all (counted as bad_row)", self.file, self.count)


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def matches_drop_word(text: str, words: Iterable[str]) -> str | None:
    """The first drop word (or phrase) that starts at a word boundary in `text`, else None."""
    low = text.lower()
    for w in words:
        if re.search(r"\b" + re.escape(w.lower()), low):
            return w
    return None


def dropped_unless(text: str, rules: Iterable[tuple[str, str]] = EXCEPT_UNLESS) -> str | None:
    """AURORA's "falls off" rule: the phrase drops the label unless the other word is there too."""
    low = text.lower()
    for phrase, unless in rules:
        if phrase in low and not re.search(r"\b" + re.escape(unless) + r"\b", low):
            return phrase
    return None


def fill_template(template: str, placeholders: list[str]) -> str | None:
    """"Putting [something] on [something]" + ["a cup", "a table"] -> "putting a cup on a table";
    None when the number of slots and placeholders differ."""
    slots = re.findall(r"\[[^\]]*\]", template)
    if len(slots) != len(placeholders):
        return None
    it = iter(placeholders)
    text = re.sub(r"\[[^\]]*\]", lambda m: str(next(it)).strip(), template)
    text = re.sub(r"\s+", " ", text).strip()
    return text[:1].lower() + text[1:]


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_") or "x"



# ----------------------------------------------------------------------------- Something-Something


def _label_row(r: Any) -> str | None:
    """Why a label item cannot be used, or None."""
    if not isinstance(r, dict):
        return "expected an object"
    if isinstance(r.get("id"), bool) or not isinstance(r.get("id"), (str, int)) or str(r["id"]).strip() == "":
        return "expected an `id` (text or number)"
    for k in ("template", "label"):
        if r.get(k) is not None and not isinstance(r[k], str):
            return f"`{k}` must be a text"
    ph = r.get("placeholders")
    if ph is not None and not (isinstance(ph, list) and all(isinstance(x, (str, int, float)) for x in ph)):
        return "`placeholders` must be a list of texts"
    return None


def ssv2_clips(labels_json: str | Path, drop_words: Iterable[str] = DEFAULT_DROP_WORDS,
               rejected: Counter | None = None) -> list[Clip]:
    """Clips from a Something-Something v2 label JSON; dropped labels are counted in `rejected`."""
    path = Path(labels_json)
    try:
        rows = json.loads(read_text(path, "label file", TrainError))
    except json.JSONDecodeError as e:
        raise TrainError(f"not valid JSON ({e})", file=str(path), field="labels") from None
    except RecursionError:
        raise TrainError("not valid JSON (nested too deeply)", file=str(path), field="labels") from None
    if not isinstance(rows, list):
        raise TrainError("expected a JSON list of {id, label, template, placeholders}", file=str(path))
    rejected = rejected if rejected is not None else Counter()
    bad = BadRows(path)
    drop_words = tuple(drop_words)
    clips = []
    for n, r in enumerate(rows):
        problem = _label_row(r)
        if problem:
            bad.skip(f"item {n}", problem, f"[{n}]", rejected)
            continue
        template, label = r.get("template"), r.get("label")
        if template:
            text = fill_template(template, [str(x) for x in r.get("placeholders") or []])
            if text is None:
                if not label:
                    rejected["bad_placeholders"] += 1
                    continue
                text = label
            probe = re.sub(r"\[[^\]]*\]", " ", template)
        elif label:
            text = probe = label
        else:
            rejected["no_label"] += 1
            continue
        if drop_words and dropped_unless(text):
            rejected["falls_off"] += 1
            continue
        if matches_drop_word(probe, drop_words):
            rejected["drop_word"] += 1
            continue
        vid = str(r["id"])
        action = re.sub(r"\[[^\]]*\]", "[something]", template) if template else None
        clips.append(Clip(key=_safe(vid), video_id=vid, instruction=text,
                          meta={"dataset": "ssv2", "template": template, **({"action": action} if action else {})}))
    bad.check(len(rows))
    return clips


# ----------------------------------------------------------------------------- segment CSV

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "video": ("video_id", "video", "vid", "file_name", "filename", "file", "video_name"),
    "start_time": ("start_timestamp", "start_time", "start_sec", "start_seconds"),
    "stop_time": ("stop_timestamp", "end_timestamp", "stop_time", "end_time", "stop_sec", "end_sec"),
    "start_frame": ("start_frame", "startframe", "start"),
    "stop_frame": ("stop_frame", "end_frame", "endframe", "stop", "end"),
    "narration": ("narration", "caption", "description", "sentence", "activity_category_name"),
    "verb": ("verb", "action"),
    "noun": ("noun", "object"),
    "id": ("narration_id", "uid", "segment_id", "id"),
}


def parse_time(value: str) -> float:
    """"00:01:02.50" / "01:02.5" / "62.5" -> seconds; ValueError unless a finite time in
    [0, MAX_SECONDS] ("nan", "inf" and "1e400" are not times)."""
    parts = value.strip().split(":")
    if not 1 <= len(parts) <= 3:
        raise ValueError(value)
    seconds = 0.0
    for p in parts:
        seconds = seconds * 60 + float(p)
    if not (math.isfinite(seconds) and 0 <= seconds <= MAX_SECONDS):
        raise ValueError(value)
    return seconds


def parse_frame(value: str) -> int:
    """A 0-based frame number in [0, MAX_FRAME]; ValueError otherwise."""
    frame = int(value.strip())
    if not 0 <= frame <= MAX_FRAME:
        raise ValueError(value)
    return frame


def _columns(path: Path, header: list[str], columns: dict[str, str] | None) -> dict[str, str]:
    """Role -> column name: the aliases, then the user's overrides."""
    lower = {h.lower(): h for h in header}
    cols: dict[str, str] = {}
    for role, aliases in COLUMN_ALIASES.items():
        for a in aliases:
            if a in lower:
                cols[role] = lower[a]
                break
    for role, name in (columns or {}).items():
        if role not in COLUMN_ALIASES:
            raise TrainError(f"unknown column role {_short(role)}; expected one of {', '.join(COLUMN_ALIASES)}",
                             field="columns")
        if name not in header:
            raise TrainError(f"no column {_short(name)} (header: {_short(', '.join(header), 120)})", file=str(path),
                             field=f"columns.{role}")
        cols[role] = name
    if "video" not in cols:
        raise TrainError(f"no video id column (tried {', '.join(COLUMN_ALIASES['video'])})", file=str(path),
                         field="video")
    if not ("start_time" in cols and "stop_time" in cols) and not ("start_frame" in cols and "stop_frame" in cols):
        raise TrainError("need start and stop columns (frames or timestamps)", file=str(path), field="start_frame")
    if not any(r in cols for r in ("narration", "verb")):
        raise TrainError("need a narration column or verb (and noun) columns", file=str(path), field="narration")
    return cols


def segment_clips(csv_path: str | Path, columns: dict[str, str] | None = None,
                  drop_words: Iterable[str] = (), rejected: Counter | None = None) -> list[Clip]:
    """Clips from a segment CSV (comma or tab separated, with a header). `columns` maps a role
    (video, start_time, stop_time, start_frame, stop_frame, narration, verb, noun, id) to a
    column name and overrides the aliases in COLUMN_ALIASES."""
    path = Path(csv_path)
    text = read_text(path, "segment CSV", TrainError)
    first = text.splitlines()[0] if text.strip() else ""
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t" if first.count("\t") > first.count(",") else ",")
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
        cols = _columns(path, header, columns)
        unit = "second" if "start_time" in cols and "stop_time" in cols else "frame"
        a_col, b_col = (cols["start_time"], cols["stop_time"]) if unit == "second" else (cols["start_frame"], cols["stop_frame"])
        parse = parse_time if unit == "second" else parse_frame
        rejected = rejected if rejected is not None else Counter()
        bad = BadRows(path)
        drop_words = tuple(drop_words)
        clips, rows = [], 0
        for n, raw in enumerate(reader, 2):  # line numbers as in an editor (header is line 1)
            rows += 1
            if None in raw:  # DictReader's key for the fields beyond the header
                bad.skip(f"line {n}", f"{len(header) + len(raw[None])} fields, the header has {len(header)}",
                         "fields", rejected)
                continue
            r = {k.strip(): (v or "").strip() for k, v in raw.items()}
            try:
                a, b = parse(r[a_col]), parse(r[b_col])
            except (ValueError, KeyError):
                bad.skip(f"line {n}", f"bad start/stop {_short(r.get(a_col))}/{_short(r.get(b_col))} (expected "
                         f"{'timestamps' if unit == 'second' else 'integer frame numbers'})", f"{a_col}/{b_col}", rejected)
                continue
            if b <= a:
                rejected["empty_segment"] += 1
                continue
            instr = r.get(cols.get("narration", ""), "") or " ".join(
                x for x in (r.get(cols.get("verb", ""), ""), r.get(cols.get("noun", ""), "")) if x)
            if not instr:
                rejected["no_instruction"] += 1
                continue
            if matches_drop_word(instr, drop_words):
                rejected["drop_word"] += 1
                continue
            vid = r[cols["video"]]
            if not vid:
                bad.skip(f"line {n}", "no video id", cols["video"], rejected)
                continue
            seg_id = r.get(cols.get("id", ""), "") or f"{vid}_{n}"
            verb = r.get(cols.get("verb", ""), "")
            clips.append(Clip(key=_safe(seg_id), video_id=vid, instruction=instr, start=a, stop=b, unit=unit,
                              meta={"dataset": "segments", "line": n, **({"action": verb} if verb else {})}))
    except csv.Error as e:  # a NUL byte, a field beyond the csv module's limit, a broken quote
        raise TrainError(f"the row after line {reader.line_num}: not readable as CSV ({e})", file=str(path)) from None
    bad.check(rows)
    return clips
