"""The edit-kind interface, and the plain data passed between the planner and the kinds.

An edit kind is one module holding one `EditKind` subclass that owns ALL the logic of the kind:
which objects can take it (`eligible`), what the source scene must hold (`intent`, and
`arrange_source` for kinds that need a special source such as a stack), the change itself
(`apply`), the claim judged on the planned 3D scenes (`check_plan`), the words for its template
(`template_context`), the claim judged on the rendered masks (`check_masks`), the edit that
undoes it (`invert`) and whether a spec can ever be satisfied (`check_feasible`). Nothing
outside the kind's module branches on the kind's name. Kinds know their own geometry and tags
and nothing about Blender or PyBullet: the planner settles the scenes they return.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from simedit.render import camera as cam
from simedit.render.catalog.model import Asset, Catalog
from simedit.render.common.errors import SimEditError
from simedit.render.masks import unoccluded_share
from simedit.render.plan.appearance import shown, silhouette_fill
from simedit.render.plan.sampling import ObjectRequest
from simedit.render.poses import world_hull
from simedit.render.scene import Camera, Edit, Scene, SceneObject
from simedit.render.spec import EditSpecBase, Spec, subtype_weights


@dataclass
class EditContext:
    """What one edit entry of a spec shares across samples."""

    spec: Spec
    edit_spec: Any  # the kind's spec model (an EditSpecBase subclass)
    catalog: Catalog
    pool: list[Asset]  # assets the spec allows
    colors: list[str]  # palette words for solid-color objects
    index: int = 0  # position of the entry in spec.edits, for error messages

    @property
    def where(self) -> str:
        return f"edits[{self.index}]"


@dataclass
class Intent:
    """Drawn before the scene exists: objects the source must hold, and choices to keep."""

    requests: list[ObjectRequest] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    colors: list[str] = field(default_factory=list)  # solid colours the edit brings in (the floor avoids them)


@dataclass
class Arranged:
    """The source draft after the kind arranged it; `contacts` are object pairs allowed to touch
    (an object standing on another), which the planner otherwise rejects."""

    scene: Scene
    contacts: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Change:
    edit: Edit
    target: Scene  # not yet settled
    movable: list[str]  # uids physics may move when settling the target
    contacts: list[tuple[str, str]] = field(default_factory=list)  # pairs allowed to touch in the target


class EditKind(ABC):
    """One edit kind. Subclasses set `name`, `subtypes` and `template_keys` and implement the
    abstract methods; the registry (`plan/edits/__init__.py`) checks them against the spec
    models and the templates when it is imported."""

    name: ClassVar[str]  # the spec's `kind:` value and the template file's stem
    subtypes: ClassVar[tuple[str, ...]]  # the spec model's subtype fields, in order
    template_keys: ClassVar[tuple[str, ...]]  # paraphrase keys `template_context` may return

    # --- planning -----------------------------------------------------------------------
    @abstractmethod
    def eligible(self, subtype: str, asset: Asset, ctx: EditContext) -> bool:
        """Can an object of this asset take the edit?"""

    @abstractmethod
    def needs(self, subtype: str) -> str:
        """What an object must be to take this subtype, for error messages."""

    @abstractmethod
    def intent(self, subtype: str, ctx: EditContext, rng: np.random.Generator) -> Intent:
        """What the source scene must hold, drawn before it is sampled."""

    def arrange_source(self, subtype: str, intent: Intent, draft: Scene, required: list[str], ctx: EditContext,
                       rng: np.random.Generator) -> Arranged:
        """Arrange the sampled source before it settles (`required`: uids of the intent's
        requests, in order). Most kinds take the scene as sampled."""
        return Arranged(draft)

    @abstractmethod
    def apply(self, subtype: str, intent: Intent, source: Scene, ctx: EditContext, rng: np.random.Generator) -> Change:
        """The change on the settled source; raises Reject when this attempt cannot make it."""

    @abstractmethod
    def check_plan(self, edit: Edit, source: Scene, target: Scene, ctx: EditContext) -> None:
        """The claim on the settled scenes (3D, projected); raises Reject when it is false."""

    # --- language -----------------------------------------------------------------------
    @abstractmethod
    def template_context(self, edit: Edit, source: Scene, target: Scene) -> tuple[str, dict[str, Any]]:
        """(paraphrase key, template context) for `templates/<name>.j2`."""

    # --- verification ---------------------------------------------------------------------
    @abstractmethod
    def check_masks(self, edit: Edit, source: Scene, target: Scene, src: Any, tgt: Any, ctx: EditContext,
                    figures: dict[str, Any]) -> str:
        """The claim on the rendered pair (`src`/`tgt` have `.rgb` and `.mask`): "" when it holds,
        else what failed. Measured values go into `figures` (kept in the manifest)."""

    # --- inverse ----------------------------------------------------------------------------
    @abstractmethod
    def invert(self, edit: Edit, source: Scene, target: Scene) -> Edit | None:
        """The edit that turns `target` back into `source`, phrased with the scenes swapped, or
        None when it has no wording."""

    # --- evaluation -------------------------------------------------------------------------
    def no_change_prompts(self, subtype: str) -> tuple[str, ...]:
        """How DiscEdit may build a no-change prompt for this subtype, in order of preference:
        "already_true" (the inverse edit phrased on the source, which already shows that state),
        "invariant_rotation" (name an object of the scene that looks the same however it turns,
        a ball, instead of the edited one), "absent_object" (name an object absent from the
        scene); () when none exists."""
        return ("absent_object",)

    # --- feasibility ----------------------------------------------------------------------
    def check_feasible(self, ctx: EditContext, spec_path: str) -> None:
        """Fail early, naming the spec field, when a subtype can never be satisfied. Kinds with
        more constraints extend this (and call it)."""
        weights = subtype_weights(ctx.edit_spec)
        if not any(w > 0 for w in weights.values()):
            raise SimEditError("every subtype has weight 0", file=spec_path, field=f"{ctx.where}.subtypes")
        for name, weight in weights.items():
            if weight > 0 and not any(self.eligible(name, a, ctx) for a in ctx.pool):
                pool = ", ".join(a.id for a in ctx.pool[:8]) + (" ..." if len(ctx.pool) > 8 else "")
                raise SimEditError(
                    f"no object in the pool can take this edit (needs {self.needs(name)}; pool: {pool}); "
                    "widen objects.include or set its weight to 0",
                    file=spec_path, field=f"{ctx.where}.subtypes.{name}",
                )

    def added_objects(self, edit_spec: EditSpecBase) -> tuple[int, str]:
        """The most objects one edit adds to a scene, and the spec field (within the entry) that
        sets it, for the placement-area capacity check."""
        return 0, ""


# --- helpers shared by several kinds ---------------------------------------------------------


def pick(rng: np.random.Generator, items: list[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def eligible_assets(kind: EditKind, subtype: str, ctx: EditContext) -> list[Asset]:
    return [a for a in ctx.pool if kind.eligible(subtype, a, ctx)]


def request_one(kind: EditKind, subtype: str, ctx: EditContext, rng: np.random.Generator) -> Intent:
    """The common intent: one object the subtype can act on."""
    asset = pick(rng, shown(eligible_assets(kind, subtype, ctx), ctx.spec, ctx.catalog))
    return Intent(requests=[ObjectRequest(asset.id, None)])


def eligible_objects(kind: EditKind, subtype: str, scene: Scene, ctx: EditContext) -> list[str]:
    """Objects that can take the edit and are large enough in the image to show it."""
    return [o.uid for o in scene.objects
            if kind.eligible(subtype, ctx.catalog.get(o.asset_id), ctx) and visible_enough(scene, o.uid, ctx)]


PLAN_AREA_MARGIN = 1.05  # the planner asks 5% more than the verifier's floor: pixels round the hull's edge


def visible_enough(scene: Scene, uid: str, ctx: EditContext) -> bool:
    """Large enough in the image, and not mostly hidden behind the objects in front of it (the
    verifier's `min_visible_fraction` and `min_visible_px`, judged on the objects' hulls before
    anything is rendered)."""
    share = unoccluded_share(scene, uid, ctx.catalog)
    return share >= ctx.spec.verify.min_visible_fraction and large_enough(scene.get(uid), scene.camera, ctx, share)


def large_enough(obj: SceneObject, camera: Camera, ctx: EditContext, unhidden: float) -> bool:
    """The object's area in the image that the camera sees (its projected hull, times the share
    of it the mesh fills, times the `unhidden` share not behind nearer objects) reaches the spec's
    visibility floor (`verify.min_visible_px`, stated at 256x256 and scaled with the image
    area), which the verifier checks again on the rendered masks."""
    floor = ctx.spec.verify.min_visible_px * camera.width * camera.height / 256**2
    hull_area = cam.projected_area(camera, world_hull(obj, ctx.catalog))
    return hull_area * silhouette_fill(ctx.catalog.get(obj.asset_id)) * unhidden >= floor * PLAN_AREA_MARGIN


def need_objects(edit: Edit, n_objects: int, n_refs: int = 0) -> None:
    """A malformed edit (a bug, or a hand-edited manifest) is a ValueError, not a user error."""
    if len(edit.objects) != n_objects or len(edit.references) != n_refs:
        raise ValueError(
            f"{edit.kind}.{edit.subtype} needs {n_objects} object(s) and {n_refs} reference(s), "
            f"got objects={edit.objects} references={edit.references}"
        )


def param(edit: Edit, name: str, allowed: set[str] | None = None) -> Any:
    if name not in edit.params or edit.params[name] is None:
        raise ValueError(f"{edit.kind}.{edit.subtype} needs params.{name}")
    value = edit.params[name]
    if allowed is not None and value not in allowed:
        raise ValueError(f"{edit.kind}.{edit.subtype}: params.{name}={value!r}, expected one of {sorted(allowed)}")
    return value


def count_named(scene: Scene, name: str) -> int:
    return sum(1 for o in scene.objects if o.name == name)


OPPOSITE = {"left": "right", "right": "left", "closer": "further", "further": "closer",
            "bigger": "smaller", "smaller": "bigger"}


def negated_angle(params: dict[str, Any]) -> dict[str, Any]:
    out = dict(params)
    if isinstance(out.get("angle_deg"), (int, float)):
        out["angle_deg"] = -out["angle_deg"]
    return out
