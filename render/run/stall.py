"""The give-up rule: a run (or dry run) that cannot make progress stops with one line naming its
top reject reasons and the spec fields that drive them, instead of running forever.

Rule: STALL_ATTEMPTS consecutive attempts (planned or rendered) without one accepted pair. With
300, a spec that accepts even 5% of its attempts has a 0.95^300 = 2e-7 chance per attempt of
such a streak, under 1% over a 10,000-pair run; shipped specs accept 60-90%. A spec that can
never succeed (a camera that sees no object, a floor too small for the count) stops after 300
attempts: seconds when planning fails, minutes when every attempt renders.
"""
from __future__ import annotations

from collections import Counter

from simedit.render.common.errors import SimEditError

STALL_ATTEMPTS = 300

# reject reason (or its prefix) -> the spec fields that drive it
HINTS = {
    "no_room": "placement.area, objects.count, objects.scale, camera.distance, camera.fov_deg",
    "left_view": "camera.distance, camera.fov_deg, placement.area, placement.margin_px",
    "stack_out_of_view": "camera.distance, camera.fov_deg, placement.margin_px",
    "move_blocked": "camera.fill, objects.count, the edit's distances",
    "edit_blocked": "placement.area, objects.count, the edit's factors",
    "occluded": "camera.elevation_deg, objects.count, verify.min_visible_px, verify.min_visible_fraction",
    "hidden_or_small": "camera.fill, camera.elevation_deg, objects.count, verify.min_visible_px",
    "too_small": "camera.fill, camera.distance, camera.fov_deg, objects.scale, verify.min_visible_px",
    "low_contrast": "floor.colors, objects.colors, lighting, verify.min_contrast",
    "not_minimal": "verify.pixel_tolerance, verify.min_unchanged_fraction, render.samples",
    "claim": "the edit's subtypes and directions, camera",
    "ambiguous_reference": "objects.count, objects.colors",
    "not_at_rest": "objects.scale, placement.min_gap",
    "interpenetration": "objects.scale, placement.min_gap",
    "floating": "objects.scale",
    "touching": "placement.min_gap",
    "unstable": "objects.scale, placement.min_gap",
    "no_eligible_object": "objects.include, objects.exclude",
    "too_few_objects": "objects.count",
}


def hint(reason: str) -> str:
    for key, fields in HINTS.items():
        if key in reason:
            return fields
    return "the spec's edits"


class Stall:
    """Counts attempts since the last accepted pair; `check()` raises when the run is stuck."""

    def __init__(self, spec_path: str, limit: int = STALL_ATTEMPTS, what: str = "pair accepted"):
        self.spec_path, self.limit, self.what = spec_path, limit, what
        self.since_accept = 0
        self.reasons: Counter[str] = Counter()

    def record(self, rejects: list[str], accepted: bool) -> None:
        self.since_accept += len(rejects)
        self.reasons.update(rejects)
        if accepted:
            self.since_accept = 0
            self.reasons.clear()

    def check(self) -> None:
        if self.since_accept < self.limit:
            return
        top = self.reasons.most_common(3)
        reasons = ", ".join(f"{r} {n}" for r, n in top)
        fields = "; ".join(f"{r}: {hint(r)}" for r, _ in top[:2])
        raise SimEditError(f"no {self.what} in the last {self.since_accept} attempts ({reasons}); "
                           f"this spec cannot make progress: look at {fields}", file=self.spec_path)
