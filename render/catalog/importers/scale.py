"""mesh_scale for an imported model: mesh file units -> meters, believed only when the size it
gives is plausible for the object's category."""
from __future__ import annotations

import math

from simedit.render.common.errors import SimEditError

# how far a measured size may be from the category default and still be believed
METERS_RANGE = (0.2, 5.0)  # a mesh declared (or looking) metric: believed within these factors
UNIT_GUESS_RANGE = (0.4, 2.5)  # cm / mm / inch readings must be this close to the default
UNITS = (("meters", 1.0), ("centimeters", 0.01), ("millimeters", 0.001))


def choose_scale(extent: float, category: str, default_m: float, meters: bool,
                 size_hint_m: float | None) -> tuple[float, str]:
    """mesh_scale (file units -> meters) for a mesh whose largest dimension is `extent` file
    units, and a sentence saying why."""
    if extent <= 0 or not math.isfinite(extent):
        raise SimEditError("mesh has no extent")
    if size_hint_m:
        return size_hint_m / extent, f"metadata: largest dimension {size_hint_m:g} m"
    lo, hi = METERS_RANGE
    if meters and 0.005 <= extent <= 2.0 and lo * default_m <= extent <= hi * default_m:
        return 1.0, "mesh units: meters (as distributed)"
    glo, ghi = UNIT_GUESS_RANGE
    for unit, factor in UNITS:
        size = extent * factor
        rng = (lo, hi) if unit == "meters" else (glo, ghi)
        if rng[0] * default_m <= size <= rng[1] * default_m:
            return factor, f"mesh units read as {unit} ({size:.3g} m fits {category!r} ~{default_m:g} m)"
    return default_m / extent, f"category default: {category} {default_m:g} m (mesh is {extent:.3g} units)"
