"""What Kubric (kubric-nightly 2023.12.27, written for Blender 2.93) needs to run on the pinned
Blender 4.5, in one place. `apply()` patches the imported `kubric` modules in this process; it is
idempotent and the kubric backend calls it before creating Kubric's renderer.

Each fix names what changed in Blender and has a test in tests/render/test_kubric_backend.py:

  principled_inputs   Principled BSDF v2 (Blender 4.0) renamed inputs: "Specular" -> "Specular IOR
                      Level", "Transmission" -> "Transmission Weight", "Emission" -> "Emission
                      Color", whose "Emission Strength" now defaults to 0 (Kubric's emission set
                      it to 1 as well). Kubric's PrincipledBSDFMaterial raised KeyError.
  obj_import          `bpy.ops.import_scene.obj` is gone (Blender 4.0): `bpy.ops.wm.obj_import`,
                      whose axes are `forward_axis`/`up_axis` ("NEGATIVE_Z", not "-Z"; the
                      old defaults -Z forward, Y up are kept); `Mesh.use_auto_smooth` is gone
                      (4.1). glTF: `bpy.ops.object.delete(context_dict)` takes no context dict
                      (4.0): `temp_override`. Also `.ply` through `bpy.ops.wm.ply_import`.
  object_coordinates  Kubric named the AOV output *node* "ObjectCoordinates" instead of setting
                      its `aov_name`, so the object-coordinates pass was silently all zero.
  exr_channels        From Blender 4.5 the multilayer EXR writes cryptomatte channels in lower
                      case ("CryptoObject00.r"); Kubric asked for "CryptoObject00.R". Channels
                      are now looked up regardless of case.
"""
from __future__ import annotations

import functools
import io
import sys
from contextlib import redirect_stdout
from typing import Any

FIXES = ("principled_inputs", "obj_import", "object_coordinates", "exr_channels")

_applied = False

# Kubric's (Blender 2.9x) axis names -> bpy.ops.wm.obj_import / ply_import enum values
_AXES = {"X": "X", "Y": "Y", "Z": "Z", "-X": "NEGATIVE_X", "-Y": "NEGATIVE_Y", "-Z": "NEGATIVE_Z"}


def apply() -> tuple[str, ...]:
    """Patch kubric for the running Blender; returns the names of the fixes (FIXES)."""
    global _applied
    if _applied:
        return FIXES
    from kubric import core
    from kubric.renderer import blender as kb_blender
    from kubric.renderer import blender_utils

    register = kb_blender.Blender.add_asset.register
    register(core.PrincipledBSDFMaterial)(blender_utils.prepare_blender_object(_add_principled_material))
    register(core.FileBasedObject)(blender_utils.prepare_blender_object(_add_file_based_object))
    blender_utils.add_coordinate_material = _with_aov_name(blender_utils.add_coordinate_material)
    blender_utils.read_channels_from_exr = _any_case_channels(blender_utils.read_channels_from_exr)
    _applied = True
    return FIXES


# ---- principled_inputs -----------------------------------------------------------------------
def _add_principled_material(self: Any, obj: Any) -> Any:
    import bpy
    from kubric.renderer.blender import AttributeSetter, KeyframeSetter

    mat = bpy.data.materials.new(obj.uid)
    mat.use_nodes = True
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    inputs = bsdf.inputs
    for trait, socket in (("color", "Base Color"), ("roughness", "Roughness"), ("metallic", "Metallic"),
                          ("specular", "Specular IOR Level"), ("specular_tint", "Specular Tint"),
                          ("ior", "IOR"), ("transmission", "Transmission Weight"),
                          ("emission", "Emission Color")):
        target = inputs[socket]
        if trait == "specular_tint":  # a float in 2.9x, a color in 4.x
            setter: Any = _GraySetter(target)
        else:
            setter = AttributeSetter(target, "default_value")
        obj.observe(setter, trait)
        obj.observe(KeyframeSetter(target, "default_value"), trait, type="keyframe")
    # "Transmission Roughness" is gone (4.0): transmission uses "Roughness"; nothing to bind.
    obj.observe(_EmissionStrength(inputs["Emission Strength"]), "emission")
    return mat


class _GraySetter:
    def __init__(self, socket: Any):
        self.socket = socket

    def __call__(self, change: Any) -> None:
        v = float(change.new)
        self.socket.default_value = (v, v, v, 1.0)


class _EmissionStrength:
    """Blender 2.9x emitted at strength 1; 4.x defaults to 0: 1 whenever the color is not black."""

    def __init__(self, socket: Any):
        self.socket = socket

    def __call__(self, change: Any) -> None:
        rgb = tuple(change.new)[:3]
        self.socket.default_value = 1.0 if any(c > 0 for c in rgb) else 0.0


# ---- obj_import --------------------------------------------------------------------------------
def _import_kwargs(kwargs: dict) -> dict:
    """Kubric asset kwargs written for the 2.9x importers -> the 4.x C++ importers' names."""
    out = {}
    for key, value in kwargs.items():
        if key == "axis_forward":
            out["forward_axis"] = _AXES[value.upper()]
        elif key == "axis_up":
            out["up_axis"] = _AXES[value.upper()]
        elif key not in ("use_split_objects", "use_split_groups", "use_smooth_groups", "use_edges",
                         "use_image_search", "split_mode", "use_groups_as_vgroups"):
            out[key] = value
    out.setdefault("forward_axis", "NEGATIVE_Z")  # the 2.9x importer's defaults
    out.setdefault("up_axis", "Y")
    return out


def _add_file_based_object(self: Any, obj: Any) -> Any:
    import bpy
    from kubric.redirect_io import RedirectStream
    from kubric.renderer.blender import AttributeSetter, KeyframeSetter, register_object3d_setters

    if obj.render_filename is None:
        return None
    path = obj.render_filename
    ext = path.rpartition(".")[2].lower()
    kwargs = dict(obj.render_import_kwargs)
    for o in bpy.context.selected_objects:
        o.select_set(False)
    with RedirectStream(stream=sys.stdout, disabled=self.verbose), io.StringIO() as quiet, redirect_stdout(quiet):
        if ext == "obj":
            bpy.ops.wm.obj_import(filepath=path, use_split_objects=False, use_split_groups=False, **_import_kwargs(kwargs))
        elif ext == "ply":
            bpy.ops.wm.ply_import(filepath=path, **_import_kwargs(kwargs))
        elif ext in ("glb", "gltf"):
            bpy.ops.import_scene.gltf(filepath=path, **kwargs)
            others = [o for o in bpy.context.selected_objects if o.type != "MESH"]
            if others:
                with bpy.context.temp_override(selected_objects=others):
                    bpy.ops.object.delete()
            meshes = [o for o in bpy.context.selected_objects if o.type == "MESH"]
            bpy.context.view_layer.objects.active = meshes[0]
            if len(meshes) > 1:
                with bpy.context.temp_override(active_object=meshes[0], selected_editable_objects=meshes):
                    bpy.ops.object.join()
            # as Kubric does: its glTF assets are stored Z-up, and the importer turned them Y-up
            meshes[0].rotation_mode = "QUATERNION"
            meshes[0].rotation_quaternion = (0.707107, -0.707107, 0, 0)
            with bpy.context.temp_override(selected_editable_objects=[meshes[0]], active_object=meshes[0]):
                bpy.ops.object.transform_apply(location=False, rotation=True, scale=False)
        else:
            raise ValueError(f"Unknown file-type: '{ext}' for {obj}")
    selected = bpy.context.selected_objects
    if len(selected) != 1:
        raise RuntimeError(f"importing {path} selected {len(selected)} objects, expected 1")
    blender_obj = selected[0]
    register_object3d_setters(obj, blender_obj)
    obj.observe(AttributeSetter(blender_obj, "active_material", converter=self._convert_to_blender_object), "material")
    obj.observe(AttributeSetter(blender_obj, "scale"), "scale")
    obj.observe(KeyframeSetter(blender_obj, "scale"), "scale", type="keyframe")
    return blender_obj


# ---- object_coordinates ------------------------------------------------------------------------
def _with_aov_name(make_material: Any) -> Any:
    @functools.wraps(make_material)
    def wrapper() -> Any:
        mat = make_material()
        for node in mat.node_tree.nodes:
            if node.bl_idname == "ShaderNodeOutputAOV":
                node.aov_name = "ObjectCoordinates"
        return mat

    return wrapper


# ---- exr_channels ------------------------------------------------------------------------------
def _any_case_channels(read: Any) -> Any:
    @functools.wraps(read)
    def wrapper(exr: Any, channel_names: Any) -> Any:
        present = {name.lower(): name for name in exr.header()["channels"]}
        return read(exr, [present.get(name.lower(), name) for name in channel_names])

    return wrapper
