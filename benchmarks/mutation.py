"""Mutation testing of the core modules with mutmut (`pip install -e ".[mutation]"`).

    python benchmarks/mutation.py              # about 25 minutes on 2 cores; last line: mutation score: N%
    python benchmarks/mutation.py --only 'simedit/train/*'   # a subset of MODULES (fnmatch)
    python benchmarks/mutation.py --keep       # keep the temporary copy (mutmut browse/show there)

Nothing in the working tree is touched: the script copies the packages, their data and the
tests into a temporary directory T (T/simedit/render, T/simedit/train, ... and the tests'
relative data beside them), and runs `python -S -m mutmut run` there with PYTHONPATH holding
only this environment's site-packages, so the editable install's finder (a .pth file, which
-S skips) never loads the checkout. mutmut writes its mutated copy to T/mutants/, traces once
which test calls which function, then forks one warm process per mutant that runs only the
tests that called the mutated function, fastest first, stopping at the first failure.

A mutant counts as killed when a test fails (or times out, or crashes); "no tests" (no
selected test calls the function) counts as surviving. Lines that only build an error or log
message are not mutated (`DO_NOT_MUTATE`): their wording is checked by the one-line-error
tests, not by what a mutant of a string would show. Every survivor is listed with its diff;
the README's "## Testing" section explains the ones that remain.
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Each core module and the tests that exercise it (a file, or one test of a file whose other tests
# are slow). The run selects the union; per mutant, mutmut runs those of them that executed the
# mutated function (traced once, before mutating).
MODULES: dict[str, list[str]] = {
    "simedit/render/verify.py": ["tests/render/test_mutants_verify.py"],
    "simedit/render/masks.py": ["tests/render/test_mutants_verify.py", "tests/render/test_location_claims.py",
                                "tests/render/test_mutants_claims.py", "tests/render/test_mutants_masks.py"],
    "simedit/render/plan/edits/base.py": ["tests/render/test_mutants_planning.py", "tests/render/test_language.py",
                                          "tests/render/test_plan_acceptance.py", "tests/render/test_mutants_base.py",
                                          "tests/render/test_mutants_location.py"],
    "simedit/render/plan/edits/location.py": ["tests/render/test_location_claims.py", "tests/render/test_mutants_claims.py",
                                              "tests/render/test_mutants_planning.py", "tests/render/test_language.py",
                                              "tests/render/test_export.py", "tests/render/test_plan_acceptance.py",
                                              "tests/render/test_mutants_location.py"],
    "simedit/render/plan/edits/rotation.py": ["tests/render/test_mutants_claims.py", "tests/render/test_mutants_planning.py",
                                              "tests/render/test_mutants_apply.py", "tests/render/test_language.py",
                                              "tests/render/test_export.py", "tests/render/test_mutants_rotation.py",
                                              "tests/render/test_plan_acceptance.py"],
    "simedit/render/plan/edits/count.py": ["tests/render/test_mutants_claims.py", "tests/render/test_mutants_planning.py",
                                           "tests/render/test_mutants_apply.py", "tests/render/test_language.py",
                                           "tests/render/test_export.py", "tests/render/test_mutants_nochange.py",
                                           "tests/render/test_plan_acceptance.py", "tests/render/test_mutants_count.py"],
    "simedit/render/plan/edits/attribute.py": ["tests/render/test_mutants_claims.py", "tests/render/test_mutants_planning.py",
                                               "tests/render/test_mutants_apply.py", "tests/render/test_language.py",
                                               "tests/render/test_export.py", "tests/render/test_mutants_nochange.py",
                                               "tests/render/test_mutants_attribute.py"],
    "simedit/render/plan/edits/stack.py": ["tests/render/test_stack.py", "tests/render/test_mutants_claims.py",
                                           "tests/render/test_mutants_planning.py", "tests/render/test_mutants_apply.py",
                                           "tests/render/test_mutants_stack.py", "tests/render/test_plan_acceptance.py"],
    "simedit/render/plan/appearance.py": ["tests/render/test_plan_acceptance.py::test_measured_appearance_of_meshes",
                                          "tests/render/test_plan_acceptance.py::test_count_edits_act_on_objects_that_show",
                                          "tests/render/test_mutants_appearance.py"],
    "simedit/render/plan/language.py": ["tests/render/test_language.py"],
    "simedit/render/plan/templates.py": ["tests/render/test_language.py", "tests/render/test_mutants_templates.py"],
    "simedit/render/plan/referring.py": ["tests/render/test_language.py"],
    "simedit/render/rundir/writer.py": ["tests/render/test_writer.py", "tests/render/test_atomic.py",
                                        "tests/render/test_mutants_rundir.py", "tests/render/test_mutants_writer.py",
                                        "tests/render/test_splits.py::test_a_run_directory_continues_only_as_its_own_split"],
    "simedit/render/rundir/contract.py": ["tests/render/test_writer.py", "tests/render/test_export.py",
                                          "tests/render/test_mutants_rundir.py"],
    "simedit/render/rundir/export.py": ["tests/render/test_export.py", "tests/render/test_mutants_rundir.py"],
    "simedit/train/trainer/losses.py": ["tests/train/test_mutants_objective.py"],
    "simedit/train/trainer/objective.py": ["tests/train/test_train_dropout.py", "tests/train/test_mutants_objective.py"],
    "simedit/train/data/augment.py": ["tests/train/test_train_augment.py", "tests/train/test_mutants_data.py"],
    "simedit/train/data/mixing.py": ["tests/train/test_train_mixing.py", "tests/train/test_mutants_data.py",
                                     "tests/train/test_mutants_mixing.py"],
}
# Left out of the selection: a test that fails on the unmutated code (mutmut needs a green
# baseline), tests whose work happens in a child process that imports the installed package,
# not the mutated copy (they cannot see a mutant, only cost time), and slow fixtures.
DESELECT = [
    "tests/render/test_export.py::test_exported_images_are_the_runs_source_and_target",
    # 60 stack plans in a module fixture, set up again for every mutant (the call-time ordering
    # cannot see it); test_mutants_planning plans the same claims on 8 samples
    "tests/render/test_stack.py::test_put_on_and_take_off_hold_in_3d",
    "tests/render/test_stack.py::test_words_name_both_objects_and_are_deterministic",
    "tests/render/test_stack.py::test_inverse_swaps_put_on_and_take_off",
    "tests/render/test_export.py::test_diffusers_load_dataset",
    "tests/render/test_writer.py::test_killed_run_resumes_to_identical_manifest",
]
# Lines that only word an error or a log message.
DO_NOT_MUTATE = [r"raise \w*(Error|Reject)\(", r"^\s*(log|logger)\.\w+\(", r"^\s*f?\"[^\"]*\"\s*,?\s*$",
                 r"^\s*(file|field)=", r"^\s*\"(turn_around|turn_90|fall_over|flip|size|shape|color)\": \""]
PACKAGES = ("render", "train", "templates", "scenes", "assets_catalog")
STATUS = {1: "killed", 3: "killed", 36: "timeout", -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout",
          -11: "crashed", -9: "crashed", 0: "survived", 5: "no tests", 33: "no tests", None: "not checked"}
DETECTED = {"killed", "timeout", "crashed"}


def build(tmp: Path, modules: list[str], workers: int) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "mutants")
    for name in PACKAGES:
        shutil.copytree(REPO / name, tmp / "simedit" / name, ignore=ignore)
    # what tests find relative to the working directory or to their own file
    for name in ("templates", "scenes", "assets_catalog", "tests"):
        shutil.copytree(REPO / name, tmp / name, ignore=ignore)
    shutil.copytree(REPO / "train" / "configs", tmp / "train" / "configs", ignore=ignore)
    tests = sorted({t for m in modules for t in MODULES[m] if (REPO / t.split("::")[0]).is_file()})
    deselect = [a for d in DESELECT if d.split("::")[0] in tests for a in ("--deselect", d)]
    config = {
        "source_paths": ["simedit"],
        "only_mutate": modules,
        "also_copy": ["templates", "scenes", "assets_catalog", "train"],
        # -n 0: in mutmut's own process (the project's addopts run the suite on 2 workers)
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-n", "0", "-W", "ignore::DeprecationWarning", *deselect],
        "pytest_add_cli_args_test_selection": tests,
        "do_not_mutate_patterns": DO_NOT_MUTATE,
        "use_git_change_detection": False,
        "timeout_multiplier": 3.0,
    }
    lines = ["", "[tool.mutmut]"] + [f"{k} = {json.dumps(v)}" for k, v in config.items()]
    (tmp / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text() + "\n".join(lines) + "\n")


def environment(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "MUTANT_UNDER_TEST")}
    env.update(PYTHONPATH=sysconfig.get_paths()["purelib"], PYTHONPYCACHEPREFIX=str(tmp / ".pycache"),
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false",
               HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    return env


REPORT = r"""
import json, sys
from pathlib import Path
from mutmut.mutation.diff_apply import get_diff_for_mutant
out = {}
for meta in Path("mutants").rglob("*.py.meta"):
    source = str(meta.relative_to("mutants"))[: -len(".meta")]
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    rows = []
    for name, code in sorted(codes.items()):
        diff = ""
        if code in (0, 5, 33, None):
            try:
                diff = "\n".join(l for l in get_diff_for_mutant(name, path=source).splitlines()
                                 if l[:1] in "+-" and l[:3] not in ("+++", "---"))
            except Exception as e:
                diff = f"(no diff: {e})"
        rows.append([name, code, diff])
    out[source] = rows
json.dump(out, sys.stdout)
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="*", help="fnmatch pattern over MODULES (default: all)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    modules = [m for m in MODULES if fnmatch.fnmatch(m, args.only)]
    if not modules:
        ap.error(f"--only {args.only!r} matches none of: {', '.join(MODULES)}")
    try:
        import mutmut  # noqa: F401
    except ImportError:
        print('mutmut is not installed: pip install -e ".[mutation]"', file=sys.stderr)
        return 2

    tmp = Path(tempfile.mkdtemp(prefix="simedit-mutation-"))
    start = time.monotonic()
    try:
        build(tmp, modules, args.workers)
        env = environment(tmp)
        print(f"mutating {len(modules)} module(s) in {tmp} with {args.workers} worker(s)", flush=True)
        log = tmp / "mutmut.log"
        with open(log, "wb") as f:
            p = subprocess.Popen([sys.executable, "-S", "-m", "mutmut", "run", "--max-children", str(args.workers)],
                                 cwd=tmp, env=env, stdout=f, stderr=subprocess.STDOUT)
            last = 0.0
            while p.poll() is None:
                time.sleep(2)
                if time.monotonic() - last > 60:
                    last = time.monotonic()
                    print(f"  {time.monotonic() - start:6.0f} s  {progress(log)}", flush=True)
        if p.returncode != 0:
            print(log.read_bytes()[-6000:].decode(errors="replace"))
            print(f"mutmut failed (exit {p.returncode}); log: {log}")
            args.keep = True
            return 1
        r = subprocess.run([sys.executable, "-S", "-c", REPORT], cwd=tmp, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stderr[-4000:])
            args.keep = True
            return 1
        results = json.loads(r.stdout)
    finally:
        if args.keep:
            print(f"kept: {tmp}  (cd there; python -S -m mutmut show NAME, with PYTHONPATH={sysconfig.get_paths()['purelib']})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return report(results, time.monotonic() - start)


def progress(log: Path) -> str:
    """The last progress figures mutmut printed (done/total and counts)."""
    tail = log.read_bytes()[-400:].decode(errors="replace").replace("\r", "\n").splitlines()
    for line in reversed(tail):
        if "/" in line and "🎉" in line:
            return line.strip().lstrip("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ")
    return tail[-1].strip() if tail else ""


def report(results: dict[str, list], seconds: float) -> int:
    totals: Counter[str] = Counter()
    survivors: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    print(f"\n{'module':48s} {'mutants':>8s} {'killed':>7s} {'survived':>9s} {'no tests':>9s} {'score':>6s}")
    for source in sorted(results):
        counts: Counter[str] = Counter()
        for name, code, diff in results[source]:
            status = STATUS.get(code, "suspicious")
            counts[status] += 1
            if status not in DETECTED:
                survivors[source].append((name.rpartition(".")[2], status, diff))
        n = sum(counts.values())
        killed = sum(counts[s] for s in DETECTED)
        totals.update(counts)
        print(f"{source:48s} {n:8d} {killed:7d} {counts['survived']:9d} {counts['no tests']:9d} "
              f"{100 * killed / max(n, 1):5.1f}%")
    print("\nsurvivors:")
    for source, rows in sorted(survivors.items()):
        print(f"\n{source}")
        for name, status, diff in rows:
            print(f"  {name} ({status})")
            for line in diff.splitlines():
                print(f"      {line.strip()[:150]}")
    n = sum(totals.values())
    killed = sum(totals[s] for s in DETECTED)
    print(f"\n{n} mutants: {killed} killed ({totals['timeout']} by timeout), {totals['survived']} survived, "
          f"{totals['no tests']} without a test, {n - killed - totals['survived'] - totals['no tests']} other; "
          f"{seconds / 60:.1f} min")
    print(f"mutation score: {100 * killed / max(n, 1):.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
