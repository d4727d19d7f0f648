"""Referring expressions: the words that single out one object of a scene in an instruction.

Objects are named by `SceneObject.name`. When exactly two objects of the scene share a name,
the one meant is told apart by its image position ("the red mug on the left", "the red mug at
the front");
three or more, or two that cannot be told apart, raise `Reject("ambiguous_reference", name)`.
"""
from __future__ import annotations

import numpy as np

from simedit.render.camera import depth, project
from simedit.render.common.errors import Reject
from simedit.render.scene import Scene

# Two same-named objects are "left"/"right" when their projected centers differ by more
# than this fraction of the image width, else "front"/"back" when their depths differ by
# more than this fraction of the nearer one's depth.
LEFT_RIGHT_MIN_FRACTION = 0.10
FRONT_BACK_MIN_FRACTION = 0.10


def referring_name(scene: Scene, uid: str) -> str:
    """The name that singles out object `uid` in `scene`, without article: "red mug", or "red
    mug on the left" / "red mug at the front" when exactly two share the name."""
    obj = scene.get(uid)
    peers = [o for o in scene.objects if o.name == obj.name]
    if len(peers) == 1:
        return obj.name
    if len(peers) > 2:
        raise Reject("ambiguous_reference", f"{obj.name} ({len(peers)} in the scene)")
    other = peers[0] if peers[1].uid == uid else peers[1]
    cam = scene.camera
    points = np.array([obj.position, other.position], float)
    px = project(cam, points)
    if np.isnan(px).any():
        raise Reject("ambiguous_reference", f"{obj.name} (behind the camera)")
    dx = px[0, 0] - px[1, 0]
    if abs(dx) > LEFT_RIGHT_MIN_FRACTION * cam.width:
        return f"{obj.name} on the {'left' if dx < 0 else 'right'}"
    d = depth(cam, points)
    if abs(d[0] - d[1]) > FRONT_BACK_MIN_FRACTION * min(d[0], d[1]):
        return f"{obj.name} at the {'front' if d[0] < d[1] else 'back'}"
    raise Reject("ambiguous_reference", f"{obj.name} (two, not separable in the image)")


def ref(scene: Scene, uid: str) -> dict[str, str]:
    """An object as templates see it: its catalog name and the name that singles it out."""
    obj = scene.get(uid)
    return {"name": obj.name, "ref": referring_name(scene, uid)}


def group_name(scene: Scene, uids: list[str], what: str) -> str:
    """The one name several objects share (count edits act on a name group)."""
    names = {scene.get(u).name for u in uids}
    if len(names) != 1:
        raise ValueError(f"{what}: objects {uids} do not share one name: {sorted(names)}")
    return names.pop()
