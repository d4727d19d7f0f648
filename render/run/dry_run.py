"""`render --dry-run`: plan samples without rendering and write them as JSON lines
(`OUT/plans.jsonl`, one `PlannedSample.to_dict()` per line, indices in order)."""
from __future__ import annotations

import time
from collections import Counter

from tqdm import tqdm

from simedit.render.common.atomic import atomic_file, make_dir
from simedit.render.rundir.contract import dumps
from simedit.render.rundir.lock import RunLock
from simedit.render.run.inputs import load_inputs
from simedit.render.run.options import RunOptions
from simedit.render.run.stall import Stall
from simedit.render.run.summary import summary_line

PLANS = "plans.jsonl"


def dry_run(options: RunOptions) -> int:
    inputs, planner = load_inputs(options)
    stall = Stall(str(options.spec), what="sample planned")
    rejects: Counter[str] = Counter()
    skipped = 0
    start = time.perf_counter()
    index = 0
    plan_path = options.out / PLANS
    make_dir(options.out)
    # the same lock as a render: two runs on one directory would mix their files
    with RunLock(options.out), atomic_file(plan_path) as f, tqdm(total=options.n, desc="planning", unit="sample") as bar:
        while bar.n < options.n:
            outcome = planner.plan(index)
            rejects.update(outcome.rejects)
            stall.record(outcome.rejects, outcome.sample is not None)
            stall.check()
            if outcome.sample is None:
                skipped += 1
            else:
                f.write((dumps(outcome.sample.to_dict()) + "\n").encode("utf-8"))
                bar.update(1)
            bar.set_postfix(rejected=sum(rejects.values()), refresh=False)
            index += 1
    elapsed = time.perf_counter() - start
    split = f" of split {options.split!r}" if options.split is not None else ""
    print(f"planned {options.n} samples{split} (indices 0-{index - 1}) in {elapsed:.1f} s, "
          f"{elapsed / max(options.n, 1) * 1000:.0f} ms each -> {plan_path}")
    print(summary_line("rejected attempts", rejects))
    if skipped:
        print(f"skipped {skipped} indices after {inputs.spec.max_attempts} rejected attempts each")
    return 0
