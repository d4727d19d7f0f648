"""Scene specs: YAML files validated on load into typed models.

Every numeric field that varies per scene is a `span`: a fixed number or `[low, high]`,
sampled uniformly per sample. Every number is finite and bounded to what a run can use, and
every list the sampler draws from is non-empty, so a spec that loads can be run. Degrees in the YAML, radians inside the planner.
Errors name the file, the field (as a path like `edits[0].subtypes.fall_over.weight`) and
what was expected.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from simedit.render.common.errors import SimEditError
from simedit.render.common.fields import first_error, integer, nonempty, number, span
from simedit.render.common.yaml_file import read_yaml

TagName = Literal["can-fall", "round", "invariant", "support"]
HDRIS = ("city", "courtyard", "forest", "interior", "night", "studio", "sunrise", "sunset")


Weight = number(ge=0, le=1e6)


def bounds(r: float | tuple[float, float]) -> tuple[float, float]:
    return (r, r) if isinstance(r, (int, float)) else (r[0], r[1])


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ObjectFilter(Strict):
    ids: list[str] = []
    categories: list[str] = []
    tags: list[TagName] = []


class ObjectsSpec(Strict):
    count: span(integer(ge=1, le=40)) = (3, 5)  # objects in the source scene, before the edit
    include: ObjectFilter = ObjectFilter()  # empty = the whole catalog
    exclude: ObjectFilter = ObjectFilter()
    colors: list[str] = []  # palette words for solid-color objects; empty = the catalog's palette
    scale: span(number(ge=0.1, le=10)) = 1.0  # multiplier on each asset's real-world size
    # Kubric's normalisation instead of real-world sizes: every object's largest side is drawn
    # from this (m), whatever the object (AURORA's Kubric-Edit: [2, 4]); replaces `scale`
    size_m: span(number(ge=0.01, le=10)) | None = None

    @model_validator(mode="after")
    def _one_size_rule(self) -> ObjectsSpec:
        if self.size_m is not None and self.scale != 1.0:
            raise ValueError("objects.size_m replaces objects.scale: give one of them")
        return self


def _wide_enough(side: tuple[float, float]) -> tuple[float, float]:
    if side[1] - side[0] < 0.05:
        raise ValueError(f"[{side[0]}, {side[1]}] must be at least 5 cm wide, low first")
    return side


AreaSide = Annotated[tuple[number(ge=-5, le=5), number(ge=-5, le=5)], AfterValidator(_wide_enough)]


class PlacementSpec(Strict):
    area: tuple[AreaSide, AreaSide] = ((-0.3, 0.3), (-0.25, 0.25))  # [x0, x1], [y0, y1] (m)
    min_gap: number(ge=0, le=0.5) = 0.02  # free space between footprints (m)
    margin_px: number(ge=0, le=1024) = 4.0  # keep objects this far inside the frame (at most 1/4 of it)
    max_tries: integer(ge=1, le=100_000) = 200  # random positions tried per object


class CameraSpec(Strict):
    look_at: tuple[number(ge=-10, le=10), number(ge=-10, le=10), number(ge=-10, le=10)] = (0.0, 0.0, 0.05)
    # with `fill`: the camera aims at the objects' centre (at look_at's height) and stands as
    # close as lets their bounding box span `fill` of the frame, within `distance`;
    # fill null: the camera stands at a distance sampled from `distance` and aims at look_at
    fill: span(number(ge=0.1, le=1)) | None = (0.65, 0.85)
    distance: span(number(ge=0.2, le=50)) = (0.45, 1.6)  # m from the point aimed at
    elevation_deg: span(number(ge=5, le=90)) = (35.0, 50.0)  # above the floor plane (below 5: a grazing view)
    azimuth_deg: span(number(ge=-360, le=360)) = (-15.0, 15.0)  # 0: the camera stands on -Y looking toward +Y
    fov_deg: span(number(ge=10, le=120)) = 50.0  # horizontal


class SunSpec(Strict):
    energy: span(number(ge=0, le=100)) = (1.5, 3.0)  # W/m^2; with the HDRI on top, more washes out light floors
    elevation_deg: span(number(ge=1, le=90)) = (35.0, 75.0)
    azimuth_deg: span(number(ge=-360, le=720)) = (0.0, 360.0)


class LightingSpec(Strict):
    hdri: list[Literal[HDRIS]] = list(HDRIS)  # one is chosen per scene; [] = plain gray world
    hdri_strength: span(number(ge=0, le=100)) = (0.6, 1.2)
    hdri_rotation_deg: span(number(ge=-360, le=720)) = (0.0, 360.0)
    sun: SunSpec | None = SunSpec()


class FloorSpec(Strict):
    colors: nonempty(str) = ["gray", "brown"]  # a white floor under an HDRI and a sun clips to pure white
    size: number(ge=1, le=100) = 4.0  # edge of the square floor (m)


class RenderSpec(Strict):
    width: integer(ge=16, le=4096) = 256
    height: integer(ge=16, le=4096) = 256
    samples: integer(ge=1, le=65536) = 32
    # OpenImageDenoise on the noisy colour with albedo and normal (benchmarks/quality.py: at 32
    # samples 44.7 dB against a 2048-sample reference, 34.7 dB without, at no measurable extra cost)
    denoise: bool = True
    backend: str = "cycles"  # a registered backend (cycles, kubric); `render --backend` overrides it

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, name: str) -> str:
        from simedit.render.backends.base import BACKENDS  # bpy-free

        if name not in BACKENDS:
            raise ValueError(f"unknown render backend {name!r}; available: {', '.join(BACKENDS)}")
        return name


class VerifySpec(Strict):
    """Truly-minimal checks on the rendered pair (see render/verify.py)."""

    pixel_tolerance: number(ge=0, le=1) = 0.06  # max |diff| (0..1) of an unchanged pixel
    # of pixels outside the edited regions; the rest is path-tracing noise from light that
    # bounced off the edited object (measured ~96-99% within 3/255 at 8-32 samples)
    min_unchanged_fraction: number(ge=0, le=1) = 0.98
    dilate_px: integer(ge=0, le=64) = 3  # grow edited masks before comparing
    shadow_px: integer(ge=0, le=64) = 6  # extra dilation toward where shadows fall
    min_visible_px: integer(ge=1, le=1_000_000) = 330  # at 256x256 (0.5% of the frame); scaled with the image area
    min_visible_fraction: number(ge=0, le=1) = 0.5  # of its unoccluded area
    # median CIE Lab distance of an edited or referenced object's pixels to its surroundings'
    # mean colour (render/visibility.py); under it the object blends into the floor
    min_contrast: number(ge=0, le=200) = 10.0  # about a clear difference (2.3 is just noticeable)


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
    angle_deg: number(ge=-360, le=360)
    jitter_deg: number(ge=0, le=45) = 10.0


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
    directions: nonempty(Direction) = ["left_of", "right_of", "in_front_of", "behind"]
    gap: span(number(ge=0, le=1)) = (0.03, 0.08)  # free space between the two footprints after the move (m)


class AbsoluteSub(Strict):
    weight: Weight = 1.0
    directions: nonempty(AbsDirection) = ["left", "right", "closer", "further"]
    distance: span(number(gt=0, le=2)) = (0.12, 0.25)  # m


class FactorSub(Strict):
    weight: Weight = 1.0
    factor: span(number(gt=0, le=20))  # new distance between the two objects / old distance


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
    min_shift: number(ge=0, le=0.5) = 0.04  # image-space margin, fraction of width


class CountSub(Strict):
    weight: Weight = 1.0
    n: span(integer(ge=1, le=20)) = (1, 3)


class CountSubtypes(Strict):
    add: CountSub = CountSub(n=(1, 3))
    remove: CountSub = CountSub(n=(1, 2))


class CountEdit(EditSpecBase):
    kind: Literal["count"]
    subtypes: CountSubtypes = CountSubtypes()


class SizeSub(Strict):
    weight: Weight = 1.0
    directions: nonempty(Literal["bigger", "smaller"]) = ["bigger", "smaller"]
    factor: span(number(gt=1, le=10)) = (1.4, 1.7)  # bigger multiplies the scale by it, smaller divides


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
    offset: number(ge=0, le=1) = 0.5


class TakeOffSub(Strict):
    weight: Weight = 1.0
    gap: span(number(ge=0, le=1)) = (0.03, 0.08)  # free floor between the two footprints after the move (m)


class StackSubtypes(Strict):
    put_on: PutOnSub = PutOnSub()
    take_off: TakeOffSub = TakeOffSub()


class StackEdit(EditSpecBase):
    kind: Literal["stack"]
    subtypes: StackSubtypes = StackSubtypes()


EditSpec = Annotated[Union[tuple(EDIT_SPECS.values())], Field(discriminator="kind")]


class Spec(Strict):
    seed: integer(ge=0, le=2**63 - 1) = 0
    objects: ObjectsSpec = ObjectsSpec()
    placement: PlacementSpec = PlacementSpec()
    camera: CameraSpec = CameraSpec()
    lighting: LightingSpec = LightingSpec()
    floor: FloorSpec = FloorSpec()
    render: RenderSpec = RenderSpec()
    verify: VerifySpec = VerifySpec()
    edits: Annotated[list[EditSpec], Field(min_length=1)]  # one kind, or several sampled by weight
    max_attempts: integer(ge=1, le=1000) = 20  # resamples per index before it is skipped

    @model_validator(mode="after")
    def _margin_fits_the_image(self) -> Spec:
        if self.placement.margin_px > min(self.render.width, self.render.height) / 4:
            raise ValueError(f"placement.margin_px: {self.placement.margin_px} px leaves no room in a "
                             f"{self.render.width}x{self.render.height} image (at most a quarter of its side)")
        return self


def subtype_weights(edit: Any) -> dict[str, float]:
    return {name: sub.weight for name, sub in edit.subtypes}


def parse_spec(data: Any, source: str = "<spec>") -> Spec:
    if not isinstance(data, dict):
        raise SimEditError("expected a mapping of spec fields at the top level", file=source)
    try:
        return Spec.model_validate(data)
    except ValidationError as exc:
        field, msg = first_error(exc)
        raise SimEditError(msg, file=source, field=field) from None


def load_spec(path: str | Path) -> Spec:
    path = Path(path)
    return parse_spec(read_yaml(path, "spec"), str(path))
