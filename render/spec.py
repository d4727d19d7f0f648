"""Scene specs: YAML files validated on load into typed models.

Every numeric field that varies per scene is a `Range`: a fixed number or `[low, high]`,
sampled uniformly per sample. Degrees in the YAML, radians inside the planner.
Errors name the file, the field (as a path like `edits[0].subtypes.fall_over.weight`) and
what was expected.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from simedit.render.common.errors import SimEditError
from simedit.render.common.yaml_file import read_yaml

TagName = Literal["can-fall", "round", "invariant", "support"]
HDRIS = ("city", "courtyard", "forest", "interior", "night", "studio", "sunrise", "sunset")


def _ordered(value: Any) -> Any:
    if isinstance(value, tuple) and value[0] > value[1]:
        raise ValueError(f"range [{value[0]}, {value[1]}] has low > high")
    return value


Range = Annotated[Union[float, tuple[float, float]], AfterValidator(_ordered)]
IntRange = Annotated[Union[int, tuple[int, int]], AfterValidator(_ordered)]
Weight = Annotated[float, Field(ge=0)]


def bounds(r: float | tuple[float, float]) -> tuple[float, float]:
    return (r, r) if isinstance(r, (int, float)) else (r[0], r[1])


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ObjectFilter(Strict):
    ids: list[str] = []
    categories: list[str] = []
    tags: list[TagName] = []


class ObjectsSpec(Strict):
    count: IntRange = (3, 5)  # objects in the source scene, before the edit
    include: ObjectFilter = ObjectFilter()  # empty = the whole catalog
    exclude: ObjectFilter = ObjectFilter()
    colors: list[str] = []  # palette words for solid-color objects; empty = the catalog's palette
    scale: Range = 1.0  # multiplier on each asset's real-world size


class PlacementSpec(Strict):
    area: tuple[tuple[float, float], tuple[float, float]] = ((-0.3, 0.3), (-0.25, 0.25))  # x, y (m)
    min_gap: Annotated[float, Field(ge=0)] = 0.02  # free space between footprints (m)
    margin_px: Annotated[float, Field(ge=0)] = 4.0  # keep objects this far inside the frame
    max_tries: Annotated[int, Field(ge=1)] = 200  # random positions tried per object


class CameraSpec(Strict):
    look_at: tuple[float, float, float] = (0.0, 0.0, 0.05)
    distance: Range = (1.1, 1.3)  # m from look_at
    elevation_deg: Range = (35.0, 50.0)  # above the floor plane
    azimuth_deg: Range = (-15.0, 15.0)  # 0: the camera stands on -Y looking toward +Y
    fov_deg: Range = 50.0  # horizontal


class SunSpec(Strict):
    energy: Range = (1.5, 3.0)  # W/m^2; with the HDRI on top, more washes out light floors
    elevation_deg: Range = (35.0, 75.0)
    azimuth_deg: Range = (0.0, 360.0)


class LightingSpec(Strict):
    hdri: list[Literal[HDRIS]] = list(HDRIS)  # one is chosen per scene; [] = plain gray world
    hdri_strength: Range = (0.6, 1.2)
    hdri_rotation_deg: Range = (0.0, 360.0)
    sun: SunSpec | None = SunSpec()


class FloorSpec(Strict):
    colors: list[str] = ["gray", "brown"]  # a white floor under an HDRI and a sun clips to pure white
    size: Annotated[float, Field(gt=0)] = 4.0


class RenderSpec(Strict):
    width: Annotated[int, Field(ge=16, le=4096)] = 256
    height: Annotated[int, Field(ge=16, le=4096)] = 256
    samples: Annotated[int, Field(ge=1)] = 32
    denoise: bool = False


class VerifySpec(Strict):
    """Truly-minimal checks on the rendered pair (see render/verify.py)."""

    pixel_tolerance: Annotated[float, Field(ge=0, le=1)] = 0.06  # max |diff| (0..1) of an unchanged pixel
    # of pixels outside the edited regions; the rest is path-tracing noise from light that
    # bounced off the edited object (measured ~96-99% within 3/255 at 8-32 samples)
    min_unchanged_fraction: Annotated[float, Field(ge=0, le=1)] = 0.98
    dilate_px: Annotated[int, Field(ge=0)] = 3  # grow edited masks before comparing
    shadow_px: Annotated[int, Field(ge=0)] = 6  # extra dilation toward where shadows fall
    min_visible_px: Annotated[int, Field(ge=1)] = 40  # at 256x256; scaled with the image area
    min_visible_fraction: Annotated[float, Field(ge=0, le=1)] = 0.5  # of its unoccluded area


# ---- edit kinds -------------------------------------------------------------------------
# One spec model per edit kind, each a subclass of EditSpecBase with `kind: Literal[...]`;
# defining the class registers it (EDIT_SPECS), and `EditSpec` is the union of them all. The
# kind registry (plan/edits/__init__.py) checks every model has a kind module and template.

EDIT_SPECS: dict[str, type["EditSpecBase"]] = {}


class EditSpecBase(Strict):
    weight: Weight = 1.0

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        (name,) = cls.model_fields["kind"].annotation.__args__  # kind: Literal["<name>"]
        EDIT_SPECS[name] = cls



class RotationSub(Strict):
    weight: Weight = 1.0
    angle_deg: float
    jitter_deg: Annotated[float, Field(ge=0, le=45)] = 10.0


class RotationSubtypes(Strict):
    turn_around: RotationSub = RotationSub(angle_deg=180)
    turn_90: RotationSub = RotationSub(angle_deg=90)
    fall_over: RotationSub = RotationSub(angle_deg=90)
    flip: RotationSub = RotationSub(angle_deg=180)


class RotationEdit(EditSpecBase):
    kind: Literal["rotation"]
    subtypes: RotationSubtypes = RotationSubtypes()


Direction = Literal["left_of", "right_of", "in_front_of", "behind"]
AbsDirection = Literal["left", "right", "closer", "further"]


class RelativeSub(Strict):
    weight: Weight = 1.0
    directions: list[Direction] = ["left_of", "right_of", "in_front_of", "behind"]
    gap: Range = (0.03, 0.08)  # free space between the two footprints after the move (m)


class AbsoluteSub(Strict):
    weight: Weight = 1.0
    directions: list[AbsDirection] = ["left", "right", "closer", "further"]
    distance: Range = (0.12, 0.25)  # m


class FactorSub(Strict):
    weight: Weight = 1.0
    factor: Range  # new distance between the two objects / old distance


class SwapSub(Strict):
    weight: Weight = 1.0


class LocationSubtypes(Strict):
    relative: RelativeSub = RelativeSub()
    absolute: AbsoluteSub = AbsoluteSub()
    attract: FactorSub = FactorSub(factor=(0.35, 0.6))
    repel: FactorSub = FactorSub(factor=(1.6, 2.2))
    swap: SwapSub = SwapSub()


class LocationEdit(EditSpecBase):
    kind: Literal["location"]
    subtypes: LocationSubtypes = LocationSubtypes()
    min_shift: Annotated[float, Field(ge=0, le=0.5)] = 0.04  # image-space margin, fraction of width


class CountSub(Strict):
    weight: Weight = 1.0
    n: IntRange = (1, 3)


class CountSubtypes(Strict):
    add: CountSub = CountSub(n=(1, 3))
    remove: CountSub = CountSub(n=(1, 2))


class CountEdit(EditSpecBase):
    kind: Literal["count"]
    subtypes: CountSubtypes = CountSubtypes()


class SizeSub(Strict):
    weight: Weight = 1.0
    directions: list[Literal["bigger", "smaller"]] = ["bigger", "smaller"]
    factor: Range = (1.4, 1.7)  # bigger multiplies the scale by it, smaller divides


class ShapeSub(Strict):
    weight: Weight = 1.0


class ColorSub(Strict):
    weight: Weight = 1.0
    colors: list[str] = []  # target colors; empty = the objects' palette


class AttributeSubtypes(Strict):
    size: SizeSub = SizeSub()
    shape: ShapeSub = ShapeSub()
    color: ColorSub = ColorSub()


class AttributeEdit(EditSpecBase):
    kind: Literal["attribute"]
    subtypes: AttributeSubtypes = AttributeSubtypes()


class PutOnSub(Strict):
    weight: Weight = 1.0
    # how far from the support's top center the object may land, as a share of the room the
    # top leaves around the object's footprint (0: dead center)
    offset: Annotated[float, Field(ge=0, le=1)] = 0.5


class TakeOffSub(Strict):
    weight: Weight = 1.0
    gap: Range = (0.03, 0.08)  # free floor between the two footprints after the move (m)


class StackSubtypes(Strict):
    put_on: PutOnSub = PutOnSub()
    take_off: TakeOffSub = TakeOffSub()


class StackEdit(EditSpecBase):
    kind: Literal["stack"]
    subtypes: StackSubtypes = StackSubtypes()


EditSpec = Annotated[Union[tuple(EDIT_SPECS.values())], Field(discriminator="kind")]


class Spec(Strict):
    seed: int = 0
    objects: ObjectsSpec = ObjectsSpec()
    placement: PlacementSpec = PlacementSpec()
    camera: CameraSpec = CameraSpec()
    lighting: LightingSpec = LightingSpec()
    floor: FloorSpec = FloorSpec()
    render: RenderSpec = RenderSpec()
    verify: VerifySpec = VerifySpec()
    edits: Annotated[list[EditSpec], Field(min_length=1)]  # one kind, or several sampled by weight
    max_attempts: Annotated[int, Field(ge=1)] = 20  # resamples per index before it is skipped


def subtype_weights(edit: Any) -> dict[str, float]:
    return {name: sub.weight for name, sub in edit.subtypes}


_UNION_MEMBERS = ("int", "float")  # pydantic labels the members of a Range union by type


def _is_member_label(part: Any) -> bool:
    return isinstance(part, str) and (part in _UNION_MEMBERS or "[" in part)


def field_path(loc: tuple[Any, ...]) -> str:
    """('edits', 0, 'rotation', 'subtypes') -> 'edits[0].subtypes' (drops union labels)."""
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif _is_member_label(part) or (i >= 2 and loc[i - 2] == "edits" and isinstance(loc[i - 1], int)):
            continue  # a Range member label, or the edit kind tag after edits[i]
        else:
            out += f".{part}" if out else part
    return out


def _first_error(exc: ValidationError) -> tuple[str, str]:
    errors = exc.errors()
    e = errors[0]
    field = field_path(e["loc"])
    if any(_is_member_label(p) for p in e["loc"]):
        msg = f"expected a number or a [low, high] pair (got {e['input']!r})"
    elif e["type"] == "extra_forbidden":
        msg = "unknown key"
    elif e["type"] == "missing":
        msg = "required field is missing"
    else:
        msg = f"{e['msg']} (got {e['input']!r})"
    others = {field_path(x["loc"]) for x in errors} - {field}
    return field, msg + (f" [and {len(others)} more problem(s)]" if others else "")


def parse_spec(data: Any, source: str = "<spec>") -> Spec:
    if not isinstance(data, dict):
        raise SimEditError("expected a mapping of spec fields at the top level", file=source)
    try:
        return Spec.model_validate(data)
    except ValidationError as exc:
        field, msg = _first_error(exc)
        raise SimEditError(msg, file=source, field=field) from None


def load_spec(path: str | Path) -> Spec:
    path = Path(path)
    return parse_spec(read_yaml(path, "spec"), str(path))
