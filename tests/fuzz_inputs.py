"""Mutations of the shipped inputs, the way a new user breaks them: wrong types, nan/inf, huge,
negative and zero numbers, inverted ranges, empty lists, unknown names, deleted keys, duplicate
keys, non-UTF-8 bytes, truncated files. Used by tests/test_fuzz.py (a small seeded sample in
the default suite) and `python benchmarks/fuzz.py` (hundreds of cases)."""
from __future__ import annotations

import copy
import io
import json
import math
import signal
import time
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "scenes").glob("*.yaml"))
TIME_BOUND_S = 60  # per case: the give-up rule must end a stuck dry run well before this

VALUES = ["abc", "", True, None, [], {}, [1, 2, 3], float("nan"), float("inf"), -float("inf"), 1e12, -5, 0, -0.5,
          2**70, "octarine", [5, 1], ["x"], 3.5]


@dataclass
class Case:
    name: str
    text: bytes  # the mutated file


def leaves(data: Any, path: tuple = ()) -> list[tuple]:
    """Paths to every value of a nested dict/list (containers included)."""
    out = [path] if path else []
    if isinstance(data, dict):
        for k, v in data.items():
            out += leaves(v, path + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += leaves(v, path + (i,))
    return out


def get(data: Any, path: tuple) -> Any:
    for p in path:
        data = data[p]
    return data


def put(data: Any, path: tuple, value: Any) -> None:
    get(data, path[:-1])[path[-1]] = value


def dump(data: Any) -> bytes:
    # YAML writes .nan/.inf, which load back as floats: the numbers a user can type
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()


def mutate(text: bytes, rng: np.random.Generator, defaults: dict | None = None) -> Case:
    """One mutation of a YAML file's bytes. `defaults`: fields the file may omit (the spec's
    defaults), so mutations reach them too."""
    data = yaml.safe_load(text.decode("utf-8"))
    if defaults:
        merged = copy.deepcopy(defaults)
        merged.update(data)
        data = merged
    how = rng.choice(["value", "value", "value", "invert", "empty", "delete", "duplicate", "latin1", "truncate",
                      "unknown_key"])
    paths = leaves(data)
    path = paths[int(rng.integers(len(paths)))]
    if how == "value":
        value = VALUES[int(rng.integers(len(VALUES)))]
        put(data, path, value)
        return Case(f"{'.'.join(map(str, path))}={value!r}", dump(data))
    if how == "invert":
        ranges = [p for p in paths if isinstance(get(data, p), list) and len(get(data, p)) == 2
                  and all(isinstance(x, (int, float)) for x in get(data, p))]
        if ranges:
            path = ranges[int(rng.integers(len(ranges)))]
            put(data, path, list(reversed(get(data, path))))
            return Case(f"{'.'.join(map(str, path))} inverted", dump(data))
    if how == "empty":
        lists = [p for p in paths if isinstance(get(data, p), list)]
        if lists:
            path = lists[int(rng.integers(len(lists)))]
            put(data, path, [])
            return Case(f"{'.'.join(map(str, path))}=[]", dump(data))
    if how == "delete":
        del get(data, path[:-1])[path[-1]]
        return Case(f"{'.'.join(map(str, path))} deleted", dump(data))
    if how == "unknown_key":
        dicts = [p for p in [()] + paths if isinstance(get(data, p), dict)]
        path = dicts[int(rng.integers(len(dicts)))]
        get(data, path)["colour"] = "red"
        return Case(f"{'.'.join(map(str, path))}.colour added", dump(data))
    raw = dump(data)
    if how == "duplicate":
        first = raw.split(b"\n", 1)[0]
        return Case("first key given twice", first + b"\n" + raw)
    if how == "latin1":
        return Case("a latin-1 byte in a comment", b"# caf\xe9\n" + raw)
    cut = int(rng.integers(1, max(2, len(raw))))
    return Case(f"truncated at byte {cut}", raw[:cut])


@dataclass
class Outcome:
    case: Case
    code: int
    stderr: str
    seconds: float
    wrote_outside: list[str]
    stdout: str = ""


class TimeBound(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise TimeBound


def run_case(case: Case, tmp: Path, command: Callable[[Path, Path], list[str]], main: Callable[[list[str]], int],
             watch: Path) -> Outcome:
    """Write the mutated file, run the command in this process (so hundreds of cases stay
    cheap) with stdout/stderr captured and a time bound, and note files written outside its
    output folder (under `watch`)."""
    tmp.mkdir(parents=True, exist_ok=True)
    path, out = tmp / "input.yaml", tmp / "out"
    path.write_bytes(case.text)
    before = {p for p in watch.rglob("*")}
    err, std = io.StringIO(), io.StringIO()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIME_BOUND_S)
    start = time.perf_counter()
    try:
        with redirect_stderr(err), redirect_stdout(std):
            code = main(command(path, out))
    except TimeBound:
        code = -1
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    seconds = time.perf_counter() - start
    outside = [str(p) for p in watch.rglob("*") if p not in before and not p.is_relative_to(tmp)]
    return Outcome(case, code, err.getvalue(), seconds, outside, std.getvalue())


def problems(o: Outcome) -> list[str]:
    """What a user must never see: a traceback, a hang, a multi-line or very long error, an
    exit without a message, a write outside the target."""
    found = []
    lines = [l for l in o.stderr.replace("\r", "\n").splitlines()
             if l.strip() and not l.startswith(("planning:", "rendering:", "warning:", "WARNING"))]
    if o.code == -1:
        found.append(f"no answer within {TIME_BOUND_S} s")
    if "Traceback" in o.stderr:
        found.append("traceback: " + o.stderr.strip().splitlines()[-1][:200])
    if o.code not in (0, -1):
        errors = [l for l in lines if "error:" in l]
        if len(lines) != 1 or len(errors) != 1:
            found.append(f"{len(lines)} stderr lines: {lines[:3]}")
        elif len(errors[0]) > 300:
            found.append(f"error line of {len(errors[0])} characters")
    if o.wrote_outside:
        found.append(f"wrote outside its folder: {o.wrote_outside[:3]}")
    return found


def spec_defaults() -> dict:
    from simedit.render.spec import Spec

    full = Spec.model_validate({"edits": [{"kind": "count"}]}).model_dump(mode="json")
    full.pop("edits")
    return full


def spec_cases(n: int, seed: int = 0) -> list[Case]:
    rng = np.random.default_rng(seed)
    defaults = spec_defaults()
    texts = [p.read_bytes() for p in SPECS]
    return [mutate(texts[int(rng.integers(len(texts)))], rng, defaults) for _ in range(n)]


def render_dry_run(path: Path, out: Path) -> list[str]:
    return ["--spec", str(path), "--n", "2", "--dry-run", "--out", str(out)]


def summary(outcomes: list[Outcome]) -> dict:
    bad = [(o.case.name, problems(o)) for o in outcomes if problems(o)]
    return {"cases": len(outcomes), "accepted": sum(o.code == 0 for o in outcomes),
            "refused": sum(o.code == 2 for o in outcomes), "problems": bad,
            "slowest_s": round(max((o.seconds for o in outcomes), default=0), 2),
            "mean_s": round(float(np.mean([o.seconds for o in outcomes])) if outcomes else 0, 3)}


def report(outcomes: list[Outcome]) -> str:
    return json.dumps(summary(outcomes), indent=1, default=lambda v: None if isinstance(v, float) and math.isnan(v) else str(v))


def catalog_text() -> bytes:
    """The built-in catalog with its mesh paths made absolute, so a mutated copy anywhere loads."""
    from simedit.render.common.paths import BUILTIN_CATALOG

    data = yaml.safe_load(BUILTIN_CATALOG.read_text(encoding="utf-8"))
    for entry in data["assets"]:
        for key in ("render_mesh", "collision_mesh", "texture"):
            value = entry.get(key)
            if isinstance(value, str) and not value.startswith("pybullet_data:"):
                entry[key] = str(BUILTIN_CATALOG.parent / value)
    return dump(data)


def catalog_cases(n: int, seed: int = 0) -> list[Case]:
    rng = np.random.default_rng(seed)
    text = catalog_text()
    return [mutate(text, rng) for _ in range(n)]


def render_with_catalog(path: Path, out: Path) -> list[str]:
    return ["--spec", "count", "--catalog", str(path), "--n", "1", "--dry-run", "--out", str(out)]


def catalog_validate(path: Path, out: Path) -> list[str]:
    return ["validate", str(path)]
