"""Load what a run needs from its options: the spec (with command-line overrides applied), the
catalog (skipping objects whose files are missing, with a warning each) and the planner."""
from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass

from simedit.render.catalog.model import Catalog, load_catalog
from simedit.render.plan.planner import Planner
from simedit.render.run.options import RunOptions
from simedit.render.spec import Spec, load_spec


@dataclass
class RunInputs:
    spec: Spec
    catalog: Catalog
    spec_path: str
    split: str | None = None  # the run's split: its own seed stream (`plan/seeds.py`)

    def planner(self) -> Planner:
        """A new planner (each render slot has its own: a planner owns a physics client)."""
        return Planner(self.spec, self.catalog, self.spec_path, split=self.split)


def load_inputs(options: RunOptions) -> tuple[RunInputs, Planner]:
    """The run's inputs and a first planner (building it checks the spec against the catalog)."""
    spec = load_spec(options.spec)
    updates: dict = {}
    if options.seed is not None:
        updates["seed"] = options.seed
    render: dict = {}
    if options.size is not None:
        render.update(width=options.size, height=options.size)
    if options.samples is not None:
        render["samples"] = options.samples
    if render:
        updates["render"] = spec.render.model_copy(update=render)
    if updates:
        spec = spec.model_copy(update=updates)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        catalog = load_catalog(options.catalog, missing_files="skip")
    for w in caught:  # one line per object skipped for a missing mesh or texture
        print(f"warning: {w.message}", file=sys.stderr)
    inputs = RunInputs(spec, catalog, str(options.spec), split=options.split)
    return inputs, inputs.planner()
