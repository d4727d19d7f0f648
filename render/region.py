"""Where in the image an edit can show: the part of a target render that differs from its source.

A pair's target differs from its source only where the edit reaches: the changed objects before
and after, their shadows, a little bounce light. Cycles draws each pixel's random numbers from
its own coordinates, so with the same seed a pixel whose light paths never meet the change comes
out the same, and a border render reproduces a full render's pixels exactly inside the border.
The renderer therefore renders only this region of the target and composites it onto the source.

The region is the image box around, for every object that changed (moved, turned, resized,
recolored, reshaped, added or removed), in the source and in the target:
- its projected hull (the object itself);
- its shadows: the hull pushed onto the floor along each sun and along the world map's brightest
  spot (the renderer finds it: a window, a lamp, the sun of a sunset, often a few degrees above
  the horizon, so its shadows run long);
- a soft-shadow skirt for the rest of the sky: the floor around the object out to its height;
- every unchanged object standing in those shadows or that skirt: the changed object shades it,
  and the shadow's floor outline does not cover the body rising above it in the image;
plus MARGIN_SHARE of the image side for contact shadows and bounce light.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial import ConvexHull, QhullError

from simedit.render import camera as cam
from simedit.render.catalog.model import Catalog
from simedit.render.poses import world_hull
from simedit.render.scene import Scene, SceneObject

MARGIN_SHARE = 0.04  # of the image's longer side, around the box
# A region larger than this share of the frame is rendered in full. A border render costs its share
# of a full frame plus ~3% (the per-render set-up, mostly the world map's importance map: an 8x8
# border took 0.08 s against 2.47 s for the 256x256 frame at 32 samples), so even a 0.85 box saves a
# tenth of the target; the rest of the margin is for objects that cost more per pixel.
FULL_FRAME_SHARE = 0.9
SKIRT_DIRECTIONS = 12


@dataclass(frozen=True)
class Region:
    """A pixel box [x0, x1) x [y0, y1), rows from the top."""

    x0: int
    y0: int
    x1: int
    y1: int
    width: int
    height: int

    @property
    def share(self) -> float:
        return (self.x1 - self.x0) * (self.y1 - self.y0) / (self.width * self.height)

    def as_list(self) -> list[int]:
        return [self.x0, self.y0, self.x1, self.y1]


def changed_objects(source: Scene, target: Scene) -> list[tuple[Scene, SceneObject]]:
    """Every object that differs between the scenes, in the scene(s) where it exists."""
    src, tgt = {o.uid: o for o in source.objects}, {o.uid: o for o in target.objects}
    out: list[tuple[Scene, SceneObject]] = []
    for uid in sorted(set(src) | set(tgt)):
        a, b = src.get(uid), tgt.get(uid)
        if a == b:
            continue
        if a is not None:
            out.append((source, a))
        if b is not None:
            out.append((target, b))
    return out


MIN_LIGHT_ELEVATION = math.radians(2)  # below this a light's shadow runs out of any frame


def shadow_casts(obj: SceneObject, scene: Scene, catalog: Catalog, extra: list = ()) -> list[np.ndarray]:
    """World point sets whose projected convex hulls together cover what the object can change in
    the image: the object with its shadow along each light (a set per light), and the soft-shadow
    skirt. `extra`: directions of the world map's bright spots, beyond the scene's suns. The
    verifier's shadow regions (`masks.shadow_region`) are drawn from the same sets."""
    hull = world_hull(obj, catalog)
    sets = [hull]
    for d in [np.asarray(light.direction, float) for light in scene.lights] + [np.asarray(e, float) for e in extra]:
        d = d / np.linalg.norm(d)
        if d[2] < -math.sin(MIN_LIGHT_ELEVATION):
            sets.append(np.vstack([hull, hull - d[None, :] * (hull[:, 2:3] / d[2])]))  # its shadow on the floor
        elif d[2] < 0:  # a grazing light: a shadow longer than any frame
            sets.append(np.vstack([hull, hull + np.array([d[0], d[1], 0.0]) * 1e3]))
    top = float(hull[:, 2].max())
    center = np.asarray(obj.position[:2], float)
    radius = float(np.max(np.linalg.norm(hull[:, :2] - center, axis=1))) + max(top, 0.0)
    angles = np.linspace(0, 2 * math.pi, SKIRT_DIRECTIONS, endpoint=False)
    skirt = np.stack([center[0] + radius * np.cos(angles), center[1] + radius * np.sin(angles),
                      np.zeros_like(angles)], axis=1)  # soft shadows from the environment
    sets.append(skirt)
    return sets


def floor_overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Do the floor outlines (convex hulls of the x, y of each point set) of `a` and `b` meet?
    Two convex outlines are apart exactly when one edge of either has the other wholly outside."""
    try:
        ha, hb = ConvexHull(a[:, :2]), ConvexHull(b[:, :2])
    except QhullError:  # a degenerate outline: count it as meeting (the region only grows)
        return True
    for eq, pts in ((ha.equations, b[:, :2]), (hb.equations, a[:, :2])):
        if ((pts @ eq[:, :2].T + eq[:, 2]) > 0).all(axis=0).any():
            return False
    return True


def lit_neighbours(changed: list[tuple[Scene, SceneObject]], catalog: Catalog,
                   casts: list[list[np.ndarray]]) -> list[np.ndarray]:
    """World hulls of the unchanged objects that stand in a changed object's shadows or skirt
    (`casts[i]` are `changed[i]`'s `shadow_casts`): their shading changes with the edit."""
    moved = {obj.uid for _, obj in changed}
    hulls: dict[str, np.ndarray] = {}
    for (scene, _), sets in zip(changed, casts):
        for other in scene.objects:
            if other.uid in moved or other.uid in hulls:
                continue
            hull = world_hull(other, catalog)
            if any(floor_overlap(hull, pts) for pts in sets):
                hulls[other.uid] = hull
    return list(hulls.values())


def edit_region(source: Scene, target: Scene, catalog: Catalog,
                lights: list[tuple[float, float, float]] = ()) -> Region | None:
    """The box to render for the target, or None when the target must be rendered in full
    (the region covers most of the frame, or part of it projects behind the camera). `lights`:
    directions of the world map's bright spots, beyond the scene's suns."""
    camera = target.camera
    w, h = camera.width, camera.height
    changed = changed_objects(source, target)
    if not changed or source.camera != target.camera or source.lights != target.lights \
            or source.world != target.world or source.floor != target.floor:
        return None
    casts = [shadow_casts(obj, scene, catalog, list(lights)) for scene, obj in changed]
    points = [pts for sets in casts for pts in sets] + lit_neighbours(changed, catalog, casts)
    px = cam.project(camera, np.vstack(points))
    if np.isnan(px).any():
        return None
    margin = MARGIN_SHARE * max(w, h)
    x0 = max(0, int(math.floor(px[:, 0].min() - margin)))
    x1 = min(w, int(math.ceil(px[:, 0].max() + margin)))
    y0 = max(0, int(math.floor(px[:, 1].min() - margin)))
    y1 = min(h, int(math.ceil(px[:, 1].max() + margin)))
    if x1 <= x0 or y1 <= y0:
        return None
    region = Region(x0, y0, x1, y1, w, h)
    return None if region.share > FULL_FRAME_SHARE else region
