"""What every edit kind provides, and the plain data passed between planner and edit kinds.

An edit kind is a module with four functions (see `EditKind`); it knows its own geometry and
tags and nothing about Blender or PyBullet: the planner settles the target it returns.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np

from simedit.render.catalog.model import Asset, Catalog
from simedit.render.plan.sampling import ObjectRequest
from simedit.render.scene import Edit, Scene
from simedit.render.spec import Spec


@dataclass
class EditContext:
    spec: Spec
    edit_spec: Any  # the kind's spec model: RotationEdit, LocationEdit, CountEdit or AttributeEdit
    catalog: Catalog
    pool: list[Asset]  # assets the spec allows
    colors: list[str]  # palette words for solid-color objects


@dataclass
class Intent:
    """Drawn before the scene exists: objects the source must hold, and choices to keep."""

    requests: list[ObjectRequest] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Change:
    edit: Edit
    target: Scene  # not yet settled
    movable: list[str]  # uids physics may move when settling the target


class EditKind(Protocol):
    KIND: str

    def eligible(self, subtype: str, asset: Asset, ctx: EditContext) -> bool: ...

    def intent(self, subtype: str, ctx: EditContext, rng: np.random.Generator) -> Intent: ...

    def apply(self, subtype: str, intent: Intent, source: Scene, ctx: EditContext, rng: np.random.Generator) -> Change: ...

    def check(self, edit: Edit, source: Scene, target: Scene, ctx: EditContext) -> None: ...


def pick(rng: np.random.Generator, items: list[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


Eligible = Callable[[str, Asset, EditContext], bool]


def eligible_assets(eligible: Eligible, subtype: str, ctx: EditContext) -> list[Asset]:
    return [a for a in ctx.pool if eligible(subtype, a, ctx)]


def request_one(eligible: Eligible, subtype: str, ctx: EditContext, rng: np.random.Generator) -> Intent:
    """The common intent: one object the subtype can act on."""
    return Intent(requests=[ObjectRequest(pick(rng, eligible_assets(eligible, subtype, ctx)).id, None)])


def eligible_objects(eligible: Eligible, subtype: str, scene: Scene, ctx: EditContext) -> list[str]:
    return [o.uid for o in scene.objects if eligible(subtype, ctx.catalog.get(o.asset_id), ctx)]
