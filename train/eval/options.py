"""The `evaluate` command's numeric options, checked before any model loads: a step count, a
guidance scale, a size, a seed or a limit that is not finite, of the wrong type or out of range
is one error line naming the flag (`--limit -1` would otherwise silently drop the last item)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from simedit.render.common.fields import integer, nonempty, number
from simedit.train.config import Resolution

Seed = integer(ge=0, le=2**63 - 1)


class EditorOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")  # the parsed arguments hold more than these

    steps: integer(ge=1, le=1000) = 20
    guidance_scale: number(ge=0, le=100) = 7.5
    image_guidance_scale: number(ge=0, le=100) = 1.5
    resolution: Resolution | None = None
    limit: integer(ge=1, le=10**9) | None = None


class DiscEditOptions(EditorOptions):
    seeds: nonempty(Seed) = [0, 1, 2, 3]


class ReferenceOptions(EditorOptions):
    dilate: integer(ge=0, le=64) = 2
    seed: Seed = 0
