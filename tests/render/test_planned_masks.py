"""The planner's hull mask (`masks.planned_mask`) predicts the rendered instance mask: the stack
kind picks its pairs on it (what an object is seen standing on), so a wrong prediction would
turn into pairs the verifier rejects, or claims the image does not show. Real Blender at 64x64."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simedit.render.catalog.model import load_catalog
from simedit.render.masks import planned_mask
from simedit.render.plan.edits.stack import BEFORE_SHARE, OFF_SHARE, ON_SHARE, _share_below
from simedit.render.plan.planner import Planner
from simedit.render.scene import mask_value
from simedit.render.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rendered_stacks():
    """Two stack pairs (one put_on, one take_off), planned and rendered at 64x64."""
    from simedit.render.backends.base import RenderSettings
    from simedit.render.backends.worker import RenderWorker

    spec = load_spec(ROOT / "scenes/stack.yaml")
    spec = spec.model_copy(update={"render": spec.render.model_copy(update={"width": 64, "height": 64})})
    planner = Planner(spec, load_catalog())
    found: dict[str, tuple] = {}
    with RenderWorker(None, RenderSettings(samples=1, denoise=False)) as worker:
        for index in range(12):
            sample = planner.plan(index).sample
            if sample is None or sample.edit.subtype in found:
                continue
            src, tgt = worker.render_pair(sample.source, sample.target, 1)
            found[sample.edit.subtype] = (sample, src, tgt)
            if len(found) == 2:
                return found, planner.catalog
    pytest.fail(f"only {sorted(found)} among 12 stack samples")


def test_planned_mask_matches_the_rendered_mask(rendered_stacks):
    found, catalog = rendered_stacks
    for sample, src, tgt in found.values():
        for scene, out in ((sample.source, src), (sample.target, tgt)):
            predicted = planned_mask(scene, catalog)
            assert (predicted == out.mask).mean() >= 0.95
            for obj in scene.objects:
                real, guess = out.mask == mask_value(obj.uid), predicted == mask_value(obj.uid)
                if real.sum() >= 20:  # objects of a few pixels at 64x64 are all outline
                    assert (real & guess).sum() / (real | guess).sum() >= 0.6, obj.asset_id


def test_stack_shares_planned_are_the_rendered_ones(rendered_stacks):
    """What the planner read on its masks is what the verifier reads on the render."""
    found, catalog = rendered_stacks
    for sub, (sample, src, tgt) in found.items():
        (a,), (s,) = sample.edit.objects, sample.edit.references
        for scene, out in ((sample.source, src), (sample.target, tgt)):
            planned = _share_below(planned_mask(scene, catalog), a, mask_value(s))
            rendered = _share_below(out.mask, a, mask_value(s))
            assert abs(planned - rendered) <= 0.2, (sub, planned, rendered)
        on, off, most = (tgt, src, BEFORE_SHARE) if sub == "put_on" else (src, tgt, OFF_SHARE)
        assert _share_below(on.mask, a, mask_value(s)) >= ON_SHARE
        assert _share_below(off.mask, a, mask_value(s)) <= most
