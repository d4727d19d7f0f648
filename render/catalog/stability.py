"""Would a person knock it over? Two physical measures for the `can-fall` tag (tags.py
combines them), on the object's convex hull with its mass at the centroid of its surface
(household objects are shells: a mug, a bottle, a box).

- `push_test`: a fingertip sweeps across the table through the object at PUSH_HEIGHT of its
  height from PUSH_DIRECTIONS directions, one PyBullet run each; whether it slides or tips is
  friction against the floor (FRICTION, the scene simulator's; Bullet multiplies the two
  bodies' coefficients, 0.64) versus the lever of the push over the edge it would tip about.
  After each push the object comes to rest and the tilt of its up axis is measured. Bottles,
  cans, standing boxes and figures tip; plates, books and low boxes slide.
- `tip_barrier` and `rest_poses`: the energy view. A slow sweep only tilts a wide mug (7.6 cm
  tall on a 7.6 cm foot) to 30 degrees and lets it slide, yet a knock lays it on its side: it
  has a stable side pose and tipping it over its foot's edge raises its centre of mass by a
  tenth of its size. A bowl tips as easily but has no side pose (it rolls onto its rim); a
  20 x 15 x 10 cm box has one but needs its centre raised by 15% of its size.

A height / width ratio saw none of this (real mugs measure 0.76 to 1.03 and topple easily).
Physics, like collision building, imports pybullet here only (tests/test_architecture.py);
a process reuses one DIRECT client, each push test resets it, and runs are deterministic.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import ConvexHull, QhullError
from scipy.spatial.transform import Rotation

from simedit.render.common.quiet import quiet_fds

PUSH_DIRECTIONS = 8
PUSH_HEIGHT = 0.8  # of the object's height: where a hand sweeping across a table meets it
PUSH_SPEED = 0.25  # m/s, a deliberate sweep rather than a strike
FINGER_RADIUS = 0.08  # of the object's height (at least MIN_FINGER_M)
MIN_FINGER_M = 0.005
FRICTION = 0.8  # floor and object, as render/plan/physics.py
TIME_STEP = 1.0 / 120.0  # as the scene simulator
SOLVER_ITERATIONS = 30
SETTLE_STEPS = 30  # before the push
REST_CHECK = 12  # steps between rest checks after the push
MAX_REST_STEPS = 300
REST_LINEAR = 0.005  # m/s
REST_ANGULAR = 0.05  # rad/s
FELL_DEGREES = 65.0  # up axis tilted more than this after the push: it fell (a bowl leaning on its rim, 58, did not)
HULL_POINTS = 128  # hull vertices given to Bullet (farthest-point sampled: the extremes stay)
FOOT_TOLERANCE = 0.002  # m: hull vertices this close to the floor are the foot


@dataclass
class PushResult:
    tilts_deg: list[float]  # final tilt of the object's up axis, per push direction
    turns: list[Rotation]  # final orientation relative to upright, per push direction
    com_height: float  # of the surface centroid above the floor, meters
    height: float

    @property
    def fell(self) -> list[bool]:
        return [t > FELL_DEGREES for t in self.tilts_deg]


def surface_centroid(vertices: np.ndarray, faces: np.ndarray | None) -> np.ndarray:
    """Area-weighted centroid of the surface (a thin shell's center of mass); without faces,
    the centroid of the convex hull's volume."""
    verts = np.asarray(vertices, float)
    if faces is not None and len(faces):
        tri = verts[np.asarray(faces, int)]
        area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
        if np.isfinite(area).all() and area.sum() > 0:
            return (tri.mean(axis=1) * area[:, None]).sum(axis=0) / area.sum()
    import trimesh

    return np.asarray(trimesh.convex.convex_hull(verts).center_mass, float)


def _hull_points(verts: np.ndarray) -> np.ndarray:
    try:
        hull = verts[ConvexHull(verts).vertices]
    except (QhullError, ValueError):
        hull = verts
    if len(hull) <= HULL_POINTS:
        return hull
    chosen = [int(np.argmin(hull[:, 2]))]
    dist = np.linalg.norm(hull - hull[chosen[0]], axis=1)
    while len(chosen) < HULL_POINTS:
        chosen.append(int(np.argmax(dist)))
        dist = np.minimum(dist, np.linalg.norm(hull - hull[chosen[-1]], axis=1))
    return hull[chosen]


_CLIENT: list[int] = []  # one DIRECT client per process, reused: connecting costs ~30 ms


def _client(pb) -> int:
    if not _CLIENT or not pb.isConnected(_CLIENT[0]):
        _CLIENT[:] = [pb.connect(pb.DIRECT)]
    return _CLIENT[0]


def push_test(vertices: np.ndarray, faces: np.ndarray | None = None) -> PushResult:
    """Push a Z-up mesh (meters) from PUSH_DIRECTIONS directions; see the module doc. The world
    is built and settled once, saved, and restored before each push, so every push starts from
    the same state (deterministic, whatever ran before)."""
    with quiet_fds():  # pybullet's build banner
        import pybullet as pb

    verts = np.asarray(vertices, float)
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    verts = verts - np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, lo[2]])  # standing at the origin
    height = float(verts[:, 2].max())
    com = surface_centroid(verts, faces)
    hull = _hull_points(verts)
    reach = float(np.linalg.norm(hull[:, :2] - com[:2], axis=1).max())
    finger_r = max(FINGER_RADIUS * height, MIN_FINGER_M)
    finger_z = max(PUSH_HEIGHT * height, finger_r + 0.001)
    parked = [100.0, 100.0, finger_r]  # the fingertip waits far away, resting on the floor
    cid = _client(pb)
    pb.resetSimulation(physicsClientId=cid)
    pb.setPhysicsEngineParameter(fixedTimeStep=TIME_STEP, numSolverIterations=SOLVER_ITERATIONS,
                                 deterministicOverlappingPairs=1, physicsClientId=cid)
    pb.setGravity(0, 0, -9.81, physicsClientId=cid)
    floor = pb.createMultiBody(0, pb.createCollisionShape(pb.GEOM_PLANE, physicsClientId=cid), physicsClientId=cid)
    pb.changeDynamics(floor, -1, lateralFriction=FRICTION, physicsClientId=cid)
    shape = pb.createCollisionShape(pb.GEOM_MESH, vertices=(hull - com).tolist(), physicsClientId=cid)
    body = pb.createMultiBody(1.0, shape, basePosition=(com + [0, 0, 0.0005]).tolist(), physicsClientId=cid)
    pb.changeDynamics(body, -1, lateralFriction=FRICTION, rollingFriction=0.002, spinningFriction=0.002,
                      linearDamping=0.1, angularDamping=0.2, physicsClientId=cid)
    finger = pb.createMultiBody(5.0, pb.createCollisionShape(pb.GEOM_SPHERE, radius=finger_r, physicsClientId=cid),
                                basePosition=parked, physicsClientId=cid)
    pb.changeDynamics(finger, -1, lateralFriction=0.3, physicsClientId=cid)
    for _ in range(SETTLE_STEPS):
        pb.stepSimulation(physicsClientId=cid)
    settled = pb.saveState(physicsClientId=cid)
    p0, q0 = pb.getBasePositionAndOrientation(body, physicsClientId=cid)
    # through the object's centre and on by its reach: it has slid or tipped by then
    steps = int((2 * reach + finger_r + 0.03) / PUSH_SPEED / TIME_STEP)
    tilts: list[float] = []
    turns: list[Rotation] = []
    for k in range(PUSH_DIRECTIONS):
        pb.restoreState(stateId=settled, physicsClientId=cid)
        angle = 2 * np.pi * k / PUSH_DIRECTIONS
        d = np.array([np.cos(angle), np.sin(angle), 0.0])
        start = np.array([p0[0], p0[1], finger_z]) - d * (reach + finger_r + 0.01)
        velocity = (d * PUSH_SPEED).tolist()
        for s in range(steps):  # a kinematic fingertip: placed and given its velocity each step
            pos = start + d * PUSH_SPEED * (s + 1) * TIME_STEP
            pb.resetBasePositionAndOrientation(finger, pos.tolist(), (0, 0, 0, 1), physicsClientId=cid)
            pb.resetBaseVelocity(finger, velocity, (0, 0, 0), physicsClientId=cid)
            pb.stepSimulation(physicsClientId=cid)
        pb.resetBasePositionAndOrientation(finger, parked, (0, 0, 0, 1), physicsClientId=cid)
        pb.resetBaseVelocity(finger, (0, 0, 0), (0, 0, 0), physicsClientId=cid)
        for s in range(0, MAX_REST_STEPS, REST_CHECK):
            for _ in range(REST_CHECK):
                pb.stepSimulation(physicsClientId=cid)
            v, w = pb.getBaseVelocity(body, physicsClientId=cid)
            if s >= 4 * REST_CHECK and np.linalg.norm(v) < REST_LINEAR and np.linalg.norm(w) < REST_ANGULAR:
                break
        _, q = pb.getBasePositionAndOrientation(body, physicsClientId=cid)
        turn = Rotation.from_quat(q) * Rotation.from_quat(q0).inv()
        up = turn.apply([0.0, 0.0, 1.0])
        tilts.append(round(float(np.degrees(np.arccos(np.clip(up[2], -1.0, 1.0)))), 1))
        turns.append(turn)
    pb.removeState(settled, physicsClientId=cid)
    return PushResult(tilts, turns, float(com[2]), height)


def tip_barrier(vertices: np.ndarray, com: np.ndarray, toward: np.ndarray | None = None) -> float:
    """How far the centre of mass must rise to tip the standing object over the edge of its
    foot: sqrt(d^2 + h^2) - h, with h its height and d its horizontal distance to that edge,
    the nearest edge, or the one in the horizontal direction `toward`; 0 when it does not
    stand by itself (its centre is outside the foot)."""
    verts = np.asarray(vertices, float)
    z0 = float(verts[:, 2].min())
    h = float(com[2] - z0)
    foot = verts[verts[:, 2] <= z0 + FOOT_TOLERANCE][:, :2]
    try:
        eq = ConvexHull(foot).equations  # inside: n.x + c <= 0
    except (QhullError, ValueError):
        return 0.0
    inside = -(eq[:, :2] @ com[:2] + eq[:, 2])
    if inside.min() <= 0:
        return 0.0
    if toward is None:
        d = float(inside.min())
    else:
        u = np.asarray(toward, float)[:2]
        u = u / max(float(np.linalg.norm(u)), 1e-12)
        d = float(((foot - com[:2]) @ u).max())  # the foot's reach that way: it tips over there
    return float(np.hypot(d, h) - h)


def rest_poses(vertices: np.ndarray, com: np.ndarray) -> list[tuple[float, Rotation, float]]:
    """The hull's stable resting poses: (tilt of the up axis in degrees, rotation from the
    standing pose, probability of landing in it when dropped), by trimesh's quasi-static
    rolling on the hull's faces."""
    import trimesh

    hull = trimesh.convex.convex_hull(_hull_points(np.asarray(vertices, float)))
    transforms, probs = trimesh.poses.compute_stable_poses(hull, center_mass=np.asarray(com, float))
    out = []
    for t, p in zip(transforms, probs):
        rot = Rotation.from_matrix(np.asarray(t, float)[:3, :3])
        up = rot.apply([0.0, 0.0, 1.0])
        out.append((float(np.degrees(np.arccos(np.clip(up[2], -1.0, 1.0)))), rot, float(p)))
    return out
