"""Sample a source scene from a spec: camera, lights, floor and non-overlapping objects in view.

Everything drawn here comes from the sample's own `numpy.random.Generator`, so a scene is a
pure function of (spec, catalog, seed, index, attempt). Objects are spawned upright with a
random yaw, a few millimeters above the floor; `Simulator.settle` (plan/physics.py) brings them to rest.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simedit.render import camera as cam
from simedit.render.catalog.model import Asset, Catalog
from simedit.render.common.errors import Reject
from simedit.render.poses import footprint_radius, resting_height, world_hull, yaw_quat
from simedit.render.scene import Camera, Floor, Light, Scene, SceneObject, World
from simedit.render.spec import Spec, bounds
from simedit.render.visibility import clear_of_floor, stands_out


@dataclass(frozen=True)
class ObjectRequest:
    """An object the edit needs in the source scene (e.g. two same-name mugs for "remove two")."""

    asset_id: str
    color: str | None  # None: the sampler picks one (colorable assets) or keeps the asset's look


def uniform(rng: np.random.Generator, r: float | tuple[float, float]) -> float:
    lo, hi = bounds(r)
    return float(rng.uniform(lo, hi)) if hi > lo else float(lo)


def integer(rng: np.random.Generator, r: int | tuple[int, int]) -> int:
    lo, hi = bounds(r)
    return int(rng.integers(lo, hi + 1))


def sample_camera(spec: Spec, rng: np.random.Generator) -> Camera:
    c = spec.camera
    dist = uniform(rng, c.distance)
    if c.fill is not None:  # place objects seen from afar; frame_camera then moves in
        dist = bounds(c.distance)[1]
    elev = math.radians(uniform(rng, c.elevation_deg))
    azim = math.radians(uniform(rng, c.azimuth_deg))
    fov = math.radians(uniform(rng, c.fov_deg))
    look = np.asarray(c.look_at, float)
    return _camera_at(look, _view_direction(elev, azim), dist, fov, spec)


def _view_direction(elev: float, azim: float) -> np.ndarray:
    """Unit vector from the point aimed at toward the camera."""
    return np.array([math.sin(azim) * math.cos(elev), -math.cos(azim) * math.cos(elev), math.sin(elev)])


def _camera_at(look: np.ndarray, toward_camera: np.ndarray, dist: float, fov: float, spec: Spec) -> Camera:
    return Camera(
        position=tuple(float(v) for v in look + dist * toward_camera),
        look_at=tuple(float(v) for v in look),
        fov=fov,
        width=spec.render.width,
        height=spec.render.height,
    )


FRAME_STEPS = 24  # bisection steps for the framing distance (the interval shrinks 2^24-fold)


def frame_camera(camera: Camera, objects: list[SceneObject], catalog: Catalog, spec: Spec,
                 rng: np.random.Generator) -> Camera:
    """The camera moved along its viewing direction, aimed at the objects' centre, to the
    nearest distance (within `camera.distance`) at which their bounding box spans at most the
    sampled `camera.fill` of the frame. Small objects then cover enough pixels to see an edit."""
    if spec.camera.fill is None or not objects:
        return camera
    fill = uniform(rng, spec.camera.fill)
    hulls = np.vstack([world_hull(o, catalog) for o in objects])
    lo, hi = hulls.min(axis=0), hulls.max(axis=0)
    look = np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, spec.camera.look_at[2]])
    toward = np.asarray(camera.position, float) - np.asarray(camera.look_at, float)
    toward /= np.linalg.norm(toward)
    margin = max((1.0 - fill) / 2 * min(camera.width, camera.height), spec.placement.margin_px)
    near, far = bounds(spec.camera.distance)

    def fits_at(d: float) -> bool:
        return cam.in_view(_camera_at(look, toward, d, camera.fov, spec), hulls, margin)

    if fits_at(near):
        return _camera_at(look, toward, near, camera.fov, spec)
    if not fits_at(far):
        return camera  # even the farthest allowed distance is too close: keep the sampled camera
    for _ in range(FRAME_STEPS):  # the nearest distance that fits, with `near` too close
        mid = (near + far) / 2
        near, far = (near, mid) if fits_at(mid) else (mid, far)
    return _camera_at(look, toward, far, camera.fov, spec)


def sample_lighting(spec: Spec, rng: np.random.Generator) -> tuple[list[Light], World]:
    lt = spec.lighting
    hdri = str(lt.hdri[int(rng.integers(len(lt.hdri)))]) if lt.hdri else None
    world = World(
        hdri=hdri,
        strength=uniform(rng, lt.hdri_strength),
        rotation=math.radians(uniform(rng, lt.hdri_rotation_deg)),
    )
    lights: list[Light] = []
    if lt.sun is not None:
        elev = math.radians(uniform(rng, lt.sun.elevation_deg))
        azim = math.radians(uniform(rng, lt.sun.azimuth_deg))
        toward_sun = np.array([math.cos(elev) * math.cos(azim), math.cos(elev) * math.sin(azim), math.sin(elev)])
        lights.append(Light(kind="sun", energy=uniform(rng, lt.sun.energy), direction=tuple(float(v) for v in -toward_sun)))
    return lights, world


def sample_floor(spec: Spec, catalog: Catalog, rng: np.random.Generator, avoid: list[str] = ()) -> Floor:
    """A floor colour, not one that clashes with the colours in `avoid` (the edit's objects)."""
    choices = [c for c in spec.floor.colors
               if all(stands_out(catalog.palette[w], catalog.palette[c]) for w in avoid)] or list(spec.floor.colors)
    color = choices[int(rng.integers(len(choices)))]
    return Floor(color=color, rgb=tuple(catalog.palette[color]), size=spec.floor.size)


def object_scale(spec: Spec, asset: Asset, catalog: Catalog, rng: np.random.Generator) -> float:
    """The scale an object is drawn at: `objects.scale` times its real-world size, or with
    `objects.size_m` (Kubric's normalisation) its largest side drawn in meters."""
    if spec.objects.size_m is None:
        return uniform(rng, spec.objects.scale)
    return uniform(rng, spec.objects.size_m) / float(np.max(catalog.geometry(asset.id).extents))


def scale_bounds(spec: Spec, asset: Asset, catalog: Catalog) -> tuple[float, float]:
    """The lowest and highest scale `object_scale` can give this asset."""
    if spec.objects.size_m is None:
        return bounds(spec.objects.scale)
    lo, hi = bounds(spec.objects.size_m)
    side = float(np.max(catalog.geometry(asset.id).extents))
    return lo / side, hi / side


def make_object(
    uid: str, asset: Asset, color: str | None, catalog: Catalog, colors: list[str], scale: float,
    rng: np.random.Generator,
) -> SceneObject:
    """An upright object at the origin with a random yaw and a color (for colorable assets)."""
    if asset.colorable:
        color = color or colors[int(rng.integers(len(colors)))]
    else:
        color = None
    return SceneObject(
        uid=uid,
        asset_id=asset.id,
        name=catalog.display_name(asset.id, color),
        position=(0.0, 0.0, 0.0),
        rotation=yaw_quat(float(rng.uniform(0, 2 * math.pi))),
        scale=scale,
        color=color,
        rgb=tuple(catalog.palette[color]) if color else None,
    )


def fits(obj: SceneObject, others: list[SceneObject], catalog: Catalog, spec: Spec, camera: Camera,
         in_area: bool = True) -> bool:
    """Inside the placement area (unless `in_area` is False: an edit may move an object
    anywhere on the floor the camera sees), clear of every other footprint, and fully in the frame."""
    (x0, x1), (y0, y1) = spec.placement.area if in_area else ((-spec.floor.size / 2, spec.floor.size / 2),) * 2
    x, y, _ = obj.position
    if not (x0 <= x <= x1 and y0 <= y <= y1):
        return False
    r = footprint_radius(obj, catalog)
    for other in others:
        gap = math.dist(obj.position[:2], other.position[:2]) - r - footprint_radius(other, catalog)
        if gap < spec.placement.min_gap:
            return False
    return cam.in_view(camera, world_hull(obj, catalog), spec.placement.margin_px)


def place(
    obj: SceneObject, others: list[SceneObject], catalog: Catalog, spec: Spec, camera: Camera,
    rng: np.random.Generator, grow: float = 0.0,
) -> SceneObject:
    """Try random floor positions until one fits; Reject("no_room") if none does. `grow` (m)
    widens the placement area on every side (an object an edit adds may stand at its edge)."""
    (x0, x1), (y0, y1) = spec.placement.area
    for _ in range(spec.placement.max_tries):
        obj.position = (float(rng.uniform(x0 - grow, x1 + grow)), float(rng.uniform(y0 - grow, y1 + grow)), 0.0)
        obj.position = (obj.position[0], obj.position[1], resting_height(obj, catalog))
        if fits(obj, others, catalog, spec, camera, in_area=grow == 0):
            return obj
    raise Reject("no_room", f"could not place {obj.name}")


def next_uid(objects: list[SceneObject]) -> str:
    return f"o{1 + max((int(o.uid[1:]) for o in objects), default=-1)}"


def sample_scene(
    spec: Spec, catalog: Catalog, pool: list[Asset], colors: list[str], rng: np.random.Generator,
    required: list[ObjectRequest] = (), avoid: list[str] = (),
) -> tuple[Scene, list[str]]:
    """A source scene (not yet settled) holding the required objects plus random ones from the
    pool, and the uids given to the required objects, in request order. The floor's colour
    stands out from the required objects' colours and from `avoid` (colours the edit brings in)."""
    camera = sample_camera(spec, rng)
    lights, world = sample_lighting(spec, rng)
    # the floor stands out from the edit's objects: their drawn colours, and the colour word of
    # the textured ones (a brown wooden block on a brown floor)
    fixed = [a.color for r in required if r.color is None and not (a := catalog.get(r.asset_id)).colorable]
    avoid = [r.color for r in required if r.color] + [w for w in fixed if w in catalog.palette] + list(avoid)
    floor = sample_floor(spec, catalog, rng, avoid)
    colors = clear_of_floor(colors, catalog.palette, floor.rgb)
    count = max(integer(rng, spec.objects.count), len(required))
    picks = [(catalog.get(r.asset_id), r.color) for r in required]
    picks += [(pool[int(rng.integers(len(pool)))], None) for _ in range(count - len(picks))]
    order = rng.permutation(len(picks))  # required objects should not always be o0, o1...
    objects: list[SceneObject] = []
    uid_of_pick: dict[int, str] = {}
    for k, i in enumerate(order):
        asset, color = picks[int(i)]
        obj = make_object(f"o{k}", asset, color, catalog, colors, object_scale(spec, asset, catalog, rng), rng)
        objects.append(place(obj, objects, catalog, spec, camera, rng))
        uid_of_pick[int(i)] = obj.uid
    camera = frame_camera(camera, objects, catalog, spec, rng)
    scene = Scene(objects=objects, camera=camera, lights=lights, world=world, floor=floor)
    return scene, [uid_of_pick[i] for i in range(len(required))]
