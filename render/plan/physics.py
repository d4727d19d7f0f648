"""Settle scenes with PyBullet (DIRECT mode): objects fall to rest on the floor.

The only module that imports pybullet (besides catalog collision building). A `Simulator`
owns its own PyBullet client, so planners in different threads never share a world; each
`settle` starts from an empty world, so a result depends only on the scene passed in, never on
what was simulated before.
Objects collide as their convex hulls; objects not listed as movable are held still, which
is how a target scene keeps every untouched object exactly where it was.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
from scipy.spatial import ConvexHull

from simedit.render.catalog.model import Asset, Catalog
from simedit.render.common.quiet import quiet_fds
from simedit.render.poses import world_hull
from simedit.render.scene import Scene

with quiet_fds():  # pybullet's C code prints a build banner on import
    import pybullet as pb

TIME_STEP = 1.0 / 120.0
DENSITY = 400.0  # kg/m^3; light household objects (many are hollow)
CHECK_EVERY = 12  # steps between rest checks
MIN_STEPS = 48  # 0.4 s: a tilted object starts slowly, so "calm" right after release is not rest
REST_LINEAR = 0.004  # m/s
REST_ANGULAR = 0.04  # rad/s
FLOOR_TOLERANCE = 0.004  # m; a lowest point this close to z=0 touches the floor

HULL_POINTS = 64  # vertices handed to Bullet per object; more costs time and changes little

_volumes: dict[Asset, float] = {}  # keyed by the asset itself: tests load several catalogs
_hulls: dict[Asset, np.ndarray] = {}


@dataclass
class SettleReport:
    scene: Scene
    steps: int
    at_rest: bool
    max_penetration: float  # deepest contact between any two bodies, m (>= 0)
    drift: dict[str, float] = field(default_factory=dict)  # horizontal move of each movable object, m
    touching: list[tuple[str, str]] = field(default_factory=list)  # object pairs in contact
    floating: list[str] = field(default_factory=list)  # movable objects resting on nothing


def _volume(catalog: Catalog, asset_id: str) -> float:
    asset = catalog.get(asset_id)
    if asset not in _volumes:
        _volumes[asset] = float(ConvexHull(catalog.geometry(asset_id).hull).volume)
    return _volumes[asset]


def collision_points(catalog: Catalog, asset_id: str) -> np.ndarray:
    """At most HULL_POINTS hull vertices, picked by farthest-point sampling so extremes stay."""
    asset = catalog.get(asset_id)
    if asset not in _hulls:
        hull = catalog.geometry(asset_id).hull
        if len(hull) > HULL_POINTS:
            chosen = [int(np.argmin(hull[:, 2]))]  # keep the lowest point: it is what rests on the floor
            dist = np.linalg.norm(hull - hull[chosen[0]], axis=1)
            while len(chosen) < HULL_POINTS:
                chosen.append(int(np.argmax(dist)))
                dist = np.minimum(dist, np.linalg.norm(hull - hull[chosen[-1]], axis=1))
            hull = hull[chosen]
        _hulls[asset] = hull
    return _hulls[asset]


class Simulator:
    """One PyBullet client (DIRECT mode). Not thread-safe: one per planner."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._client: int | None = None

    def _connect(self) -> int:
        if self._client is None or not pb.isConnected(self._client):
            self._client = pb.connect(pb.DIRECT)
        return self._client

    def close(self) -> None:
        if self._client is not None and pb.isConnected(self._client):
            pb.disconnect(self._client)
        self._client = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: pybullet may already be gone
            pass

    def settle(self, scene: Scene, movable: Iterable[str] | None = None, max_steps: int = 720) -> SettleReport:
        """Simulate until the movable objects (default: all) are at rest; return the new poses.

        Poses are rounded to 1e-6 so that plans serialize identically everywhere."""
        catalog = self.catalog
        cid = self._connect()
        pb.resetSimulation(physicsClientId=cid)
        pb.setPhysicsEngineParameter(
            fixedTimeStep=TIME_STEP, numSolverIterations=30, deterministicOverlappingPairs=1, physicsClientId=cid
        )
        pb.setGravity(0, 0, -9.81, physicsClientId=cid)
        floor = pb.createMultiBody(0, pb.createCollisionShape(pb.GEOM_PLANE, physicsClientId=cid), physicsClientId=cid)
        pb.changeDynamics(floor, -1, lateralFriction=0.8, physicsClientId=cid)

        moving = set(scene.uids() if movable is None else movable)
        bodies: dict[str, int] = {}
        for obj in scene.objects:
            hull = collision_points(catalog, obj.asset_id) * obj.scale
            shape = pb.createCollisionShape(pb.GEOM_MESH, vertices=hull.tolist(), physicsClientId=cid)
            mass = DENSITY * _volume(catalog, obj.asset_id) * obj.scale**3 if obj.uid in moving else 0.0
            w, x, y, z = obj.rotation
            body = pb.createMultiBody(mass, shape, basePosition=obj.position, baseOrientation=(x, y, z, w), physicsClientId=cid)
            pb.changeDynamics(
                body, -1, lateralFriction=0.8, rollingFriction=0.002, spinningFriction=0.002,
                linearDamping=0.1, angularDamping=0.2, physicsClientId=cid,
            )
            bodies[obj.uid] = body

        dynamic = [bodies[u] for u in scene.uids() if u in moving]
        steps, calm_checks, at_rest = 0, 0, not dynamic
        while dynamic and steps < max_steps:
            for _ in range(CHECK_EVERY):
                pb.stepSimulation(physicsClientId=cid)
            steps += CHECK_EVERY
            calm = all(
                np.linalg.norm(v) < REST_LINEAR and np.linalg.norm(w) < REST_ANGULAR
                for v, w in (pb.getBaseVelocity(b, physicsClientId=cid) for b in dynamic)
            )
            calm_checks = calm_checks + 1 if calm else 0
            if calm_checks >= 2 and steps >= MIN_STEPS:
                at_rest = True
                break

        out = scene.copy()
        drift: dict[str, float] = {}
        for obj in out.objects:
            if obj.uid not in moving:
                continue
            pos, (x, y, z, w) = pb.getBasePositionAndOrientation(bodies[obj.uid], physicsClientId=cid)
            q = np.array([w, x, y, z])
            q = -q if q[0] < 0 else q
            old = np.asarray(obj.position)
            obj.position = tuple(round(float(v), 6) for v in pos)
            obj.rotation = tuple(round(float(v), 6) for v in q / np.linalg.norm(q))
            drift[obj.uid] = float(np.linalg.norm(np.asarray(obj.position[:2]) - old[:2]))

        uid_of = {b: u for u, b in bodies.items()}
        penetration = 0.0
        touching: set[tuple[str, str]] = set()
        supported: set[str] = set()
        for c in pb.getContactPoints(physicsClientId=cid):
            a, b, dist = c[1], c[2], c[8]
            if dist < 0:
                penetration = max(penetration, -dist)
            if a in uid_of and b in uid_of:
                touching.add(tuple(sorted((uid_of[a], uid_of[b]))))
                supported.update((uid_of[a], uid_of[b]))
        floating = [
            o.uid for o in out.objects
            if o.uid in moving and o.uid not in supported and world_hull(o, catalog)[:, 2].min() > FLOOR_TOLERANCE
        ]
        return SettleReport(
            scene=out, steps=steps, at_rest=at_rest, max_penetration=penetration,
            drift=drift, touching=sorted(touching), floating=floating,
        )
