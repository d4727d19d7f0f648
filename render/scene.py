"""Plain data for one scene and one edit: what the planner produces and the renderer consumes.

Conventions: meters and radians inside; quaternions are (w, x, y, z) like Blender's;
the world is Z-up with the floor at z = 0. An object's `position` is the center of its
mesh's bounding box (the catalog centers every mesh), so it is also the point that is
projected to judge image-space claims.
"""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any

from simedit.render.common.errors import SimEditError

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]
RGB = tuple[float, float, float]

IDENTITY_QUAT: Quat = (1.0, 0.0, 0.0, 0.0)


@dataclass
class SceneObject:
    uid: str  # unique within a sample, stable between source and target ("o0", "o1", ...)
    asset_id: str  # catalog id
    name: str  # human name as it appears in instructions, color word included ("red coffee mug")
    position: Vec3
    rotation: Quat = IDENTITY_QUAT
    scale: float = 1.0  # multiplier on the asset's real-world size
    color: str | None = None  # palette color name; None keeps the asset's own look
    rgb: RGB | None = None  # linear RGB of `color`, what the renderer paints


@dataclass
class Camera:
    position: Vec3
    look_at: Vec3
    fov: float  # horizontal field of view, radians
    width: int
    height: int


@dataclass
class Light:
    kind: str  # "sun" (Blender sun lamp)
    energy: float  # W/m^2 for a sun
    direction: Vec3  # unit vector the light travels along (points from the sky down)
    color: RGB = (1.0, 1.0, 1.0)


@dataclass
class World:
    hdri: str | None  # name of a studio light world map shipped in bpy ("city", ...); None = plain
    strength: float = 1.0
    rotation: float = 0.0  # radians about Z


@dataclass
class Floor:
    color: str
    rgb: RGB
    size: float = 4.0  # edge length of the square floor, meters


@dataclass
class Scene:
    objects: list[SceneObject]
    camera: Camera
    lights: list[Light] = field(default_factory=list)
    world: World = field(default_factory=lambda: World(hdri=None))
    floor: Floor = field(default_factory=lambda: Floor(color="gray", rgb=(0.5, 0.5, 0.5)))

    def get(self, uid: str) -> SceneObject:
        for obj in self.objects:
            if obj.uid == uid:
                return obj
        raise KeyError(uid)

    def uids(self) -> list[str]:
        return [o.uid for o in self.objects]

    def copy(self) -> Scene:
        return copy.deepcopy(self)

    def to_dict(self) -> dict[str, Any]:
        return _rounded(asdict(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scene:
        return cls(
            objects=[SceneObject(**_tuples(o)) for o in d["objects"]],
            camera=Camera(**_tuples(d["camera"])),
            lights=[Light(**_tuples(l)) for l in d.get("lights", [])],
            world=World(**d.get("world", {"hdri": None})),
            floor=Floor(**_tuples(d["floor"])) if "floor" in d else Floor("gray", (0.5, 0.5, 0.5)),
        )


@dataclass
class Edit:
    """One controlled change. `objects` are the uids the change touches (in the source, the
    target or both: an added object exists only in the target); `references` are objects the
    instruction mentions but that must not change (the O2 of "left of O2")."""

    kind: str  # location | rotation | count | attribute
    subtype: str  # e.g. relative, turn_around, add, color
    objects: list[str]
    references: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _rounded(asdict(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Edit:
        return cls(**d)


def mask_value(uid: str) -> int:
    """Instance-mask value of an object: "o7" -> 8 (0 is the background and the floor)."""
    if not (uid.startswith("o") and uid[1:].isdigit()):
        raise SimEditError(f"object uid must look like 'o<int>', got {uid!r}", field="uid")
    value = int(uid[1:]) + 1
    if value > 65535:
        raise SimEditError(f"object uid too large for a uint16 mask: {uid!r}", field="uid")
    return value


def _rounded(value: Any, digits: int = 6) -> Any:
    """Round floats so plan lines are short and byte-stable across runs."""
    if isinstance(value, float):
        r = round(value, digits)
        return 0.0 if r == 0 else r  # no "-0.0"
    if isinstance(value, dict):
        return {k: _rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v, digits) for v in value]
    return value


def _tuples(d: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
