"""Plan one sample: scene, settle, edit, settle, check the claim, write the instruction.

Sample `index` is a pure function of (spec, catalog, seed, split, index): attempt `k` draws from
`numpy.random.default_rng([seed, index, k])` (with `--split NAME`: `[seed, index, k,
split_key(NAME)]`, `plan/seeds.py`), and a rejected attempt moves on to `k + 1`, so
resampling is deterministic too. The planner never renders; `run/attempt.py` calls
`plan_attempt` and, when the rendered pair fails verification, asks for the next attempt.
Everything that depends on the edit kind is asked of the kind (`plan/edits/`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simedit.render import camera as cam
from simedit.render.catalog.model import Asset, Catalog
from simedit.render.common.errors import Reject, SimEditError
from simedit.render.plan import language
from simedit.render.plan.edits import KINDS
from simedit.render.plan.edits.base import EditContext, visible_enough
from simedit.render.plan.physics import Simulator
from simedit.render.plan.sampling import sample_scene, scale_bounds
from simedit.render.plan.seeds import attempt_entropy
from simedit.render.poses import world_hull
from simedit.render.scene import Edit, Scene
from simedit.render.spec import Spec, bounds, subtype_weights

MAX_PENETRATION = 0.004  # m, after settling
MAX_SETTLE_DRIFT = 0.05  # m an untouched-by-the-edit object may slide while the source settles


@dataclass
class PlannedSample:
    index: int
    seed: int
    attempt: int
    source: Scene
    target: Scene
    edit: Edit
    instruction: str
    context: EditContext | None = field(default=None, repr=False, compare=False)  # the spec entry that planned it
    split: str | None = None  # the run's split (`--split`); None: the stream of runs without one

    @property
    def key(self) -> str:
        return f"{self.index:06d}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "index": self.index,
            "seed": self.seed,
            **({"split": self.split} if self.split is not None else {}),
            "attempt": self.attempt,
            "kind": self.edit.kind,
            "subtype": self.edit.subtype,
            "instruction": self.instruction,
            "edit": self.edit.to_dict(),
            "source": self.source.to_dict(),
            "target": self.target.to_dict(),
        }


@dataclass
class PlanOutcome:
    sample: PlannedSample | None  # None: every attempt was rejected
    rejects: list[str] = field(default_factory=list)  # reason of each rejected attempt, in order


class Planner:
    """Holds what every sample of a run shares: spec, catalog, object pool, edit contexts.

    Building it checks that the spec can be satisfied with this catalog, and raises
    SimEditError naming the spec field otherwise."""

    def __init__(self, spec: Spec, catalog: Catalog, spec_path: str = "<spec>", split: str | None = None):
        self.spec, self.catalog, self.spec_path, self.split = spec, catalog, spec_path, split
        self.pool = object_pool(spec, catalog, spec_path)
        self.colors = palette_words(spec.objects.colors, catalog, spec_path, "objects.colors")
        palette_words(spec.floor.colors, catalog, spec_path, "floor.colors")
        self.contexts = [EditContext(spec, e, catalog, self.pool, self.colors, i) for i, e in enumerate(spec.edits)]
        for ctx in self.contexts:
            KINDS[ctx.edit_spec.kind].check_feasible(ctx, spec_path)
            check_capacity(ctx, spec_path)
        weights = [e.weight for e in spec.edits]
        if sum(weights) <= 0:
            raise SimEditError("every edit has weight 0", file=spec_path, field="edits")
        self.simulator = Simulator(catalog)  # one PyBullet client per planner: planners in threads stay apart

    def plan_attempt(self, index: int, attempt: int) -> PlannedSample:
        """One attempt at sample `index`; raises Reject(reason) when it cannot be used."""
        rng = np.random.default_rng(attempt_entropy(self.spec.seed, index, attempt, self.split))
        ctx = self.contexts[choose(rng, [e.weight for e in self.spec.edits])]
        kind = KINDS[ctx.edit_spec.kind]
        weights = subtype_weights(ctx.edit_spec)
        names = [n for n, w in weights.items() if w > 0]
        subtype = names[choose(rng, [weights[n] for n in names])]

        intent = kind.intent(subtype, ctx, rng)
        draft, required = sample_scene(self.spec, self.catalog, self.pool, self.colors, rng, intent.requests,
                                       intent.colors)
        arranged = kind.arrange_source(subtype, intent, draft, required, ctx, rng)
        source = self._settled(arranged.scene, None, "source", arranged.contacts)
        change = kind.apply(subtype, intent, source, ctx, rng)
        target = self._settled(change.target, change.movable, "target", change.contacts)
        kind.check_plan(change.edit, source, target, ctx)
        # large enough and in sight before anything is rendered (the verifier checks the masks)
        for uid in [*change.edit.objects, *change.edit.references]:
            for scene in (source, target):
                if uid in scene.uids() and not visible_enough(scene, uid, ctx):
                    raise Reject("hidden_or_small", f"{uid} in the {'source' if scene is source else 'target'}")
        text = language.instruction(change.edit, source, target, rng)
        return PlannedSample(index, self.spec.seed, attempt, source, target, change.edit, text, ctx, split=self.split)

    def plan(self, index: int, first_attempt: int = 0) -> PlanOutcome:
        rejects: list[str] = []
        for attempt in range(first_attempt, self.spec.max_attempts):
            try:
                return PlanOutcome(self.plan_attempt(index, attempt), rejects)
            except Reject as r:
                rejects.append(r.reason)
        return PlanOutcome(None, rejects)

    def _settled(self, scene: Scene, movable: list[str] | None, which: str,
                 contacts: list[tuple[str, str]] = ()) -> Scene:
        """Settle, then reject physically bad outcomes: overlap, motion, floating, unplanned
        contact (`contacts` lists the pairs the edit means to touch), out of view."""
        if movable == []:
            return scene  # nothing may move (a recolor, a removal): the scene is already at rest
        report = self.simulator.settle(scene, movable)
        if not report.at_rest:
            raise Reject(f"{which}_not_at_rest")
        if report.max_penetration > MAX_PENETRATION:
            raise Reject(f"{which}_interpenetration", f"{report.max_penetration * 1000:.1f} mm")
        if report.floating:
            raise Reject(f"{which}_floating", ",".join(report.floating))
        allowed = {tuple(sorted(p)) for p in contacts}
        touching = [p for p in report.touching if tuple(sorted(p)) not in allowed]
        if touching:
            raise Reject(f"{which}_touching", ",".join("-".join(p) for p in touching))
        if which == "source" and max(report.drift.values(), default=0.0) > MAX_SETTLE_DRIFT:
            raise Reject("source_unstable")
        settled = report.scene
        margin = self.spec.placement.margin_px / 2  # settling may nudge an object a little
        for obj in settled.objects:
            if not cam.in_view(settled.camera, world_hull(obj, self.catalog), margin):
                raise Reject(f"{which}_left_view", obj.uid)
        return settled


def choose(rng: np.random.Generator, weights: list[float]) -> int:
    p = np.asarray(weights, float)
    return int(rng.choice(len(p), p=p / p.sum()))


def object_pool(spec: Spec, catalog: Catalog, spec_path: str) -> list[Asset]:
    inc, exc = spec.objects.include, spec.objects.exclude
    for name, ids in (("include", inc.ids), ("exclude", exc.ids)):
        for i, asset_id in enumerate(ids):
            if asset_id not in catalog.assets:
                raise SimEditError(
                    f"unknown object id {asset_id!r} (not in catalog {catalog.path})",
                    file=spec_path, field=f"objects.{name}.ids[{i}]",
                )
    pool = catalog.select(
        ids=inc.ids, categories=inc.categories, tags=inc.tags,
        exclude_ids=exc.ids, exclude_categories=exc.categories, exclude_tags=exc.tags,
    )
    if not pool:
        raise SimEditError("the include/exclude filters leave no object", file=spec_path, field="objects")
    return pool


def palette_words(words: list[str], catalog: Catalog, spec_path: str, field_name: str) -> list[str]:
    for i, w in enumerate(words):
        if w not in catalog.palette:
            raise SimEditError(
                f"unknown color {w!r}; the catalog's palette has {', '.join(catalog.palette)}",
                file=spec_path, field=f"{field_name}[{i}]",
            )
    return list(words) or list(catalog.palette)


def check_capacity(ctx: EditContext, spec_path: str) -> None:
    """The most objects a scene of this entry can hold must fit in the placement area."""
    extra, extra_field = KINDS[ctx.edit_spec.kind].added_objects(ctx.edit_spec)
    most = bounds(ctx.spec.objects.count)[1] + extra
    capacity = area_capacity(ctx)
    if most > capacity:
        raise SimEditError(
            f"up to {most} objects cannot fit in placement.area (room for about {capacity}); "
            "enlarge the area or lower the count",
            file=spec_path, field=f"{ctx.where}.{extra_field}" if extra else "objects.count",
        )


def area_capacity(ctx: EditContext) -> int:
    """A generous estimate of how many typical pool objects fit in the placement area."""
    (x0, x1), (y0, y1) = ctx.spec.placement.area
    radii = sorted(
        float(np.max(np.linalg.norm(ctx.catalog.geometry(a.id).hull[:, :2], axis=1)))
        * scale_bounds(ctx.spec, a, ctx.catalog)[0] for a in ctx.pool
    )
    r = radii[len(radii) // 2] + ctx.spec.placement.min_gap / 2
    return int((x1 - x0) * (y1 - y0) / (math.pi * r * r) * 0.8)
