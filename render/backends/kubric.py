"""The Kubric backend: the same `Scene` built through Kubric's objects and rendered by Kubric's
Blender renderer (`kubric.renderer.blender.Blender`), for users with Kubric workflows and to
measure our Cycles backend against it (benchmarks/backends.py).

How a `Scene` maps to Kubric:
  - objects: `kubric.FileBasedObject` on the catalog's mesh file, its pose the object's pose times
    the catalog's asset transform (a similarity: scale, rotation, centering), so it lands where
    the Cycles backend puts it; solid colours are a `kubric.PrincipledBSDFMaterial` (rgb, the
    Cycles backend's roughness); textured assets keep their texture (set on the Blender material
    Kubric imported, as Kubric workers do for textures Kubric has no class for);
  - the floor: a flat `kubric.Cube` with a `PrincipledBSDFMaterial`; suns: `kubric.DirectionalLight`;
  - the world: the same bpy studio-light HDRI through Kubric's ambient and background HDRI nodes
    (or Kubric's ambient/background colours for a plain world); the camera: a
    `kubric.PerspectiveCamera` with the scene camera's position, look-at and horizontal FOV.
Kubric renders with its own settings (light paths, its auxiliary 1-sample view layer for
cryptomatte segmentation, normals, UVs, flow and object coordinates); we set the samples,
denoising, the noise seed (source and target share it, so verification works the same), threads,
and the "Standard" view transform so that its PNG is plain sRGB like ours.

Output follows the `RenderOutput` conventions: rgb from Kubric's PNG, the mask from Kubric's
segmentation (asset index) mapped to "o<k>" -> k+1 with the floor and sky 0, depth from its
z pass (1e10 -> inf). `render_pair` is the base class's two full renders: Kubric has no region
rendering. Blender 4.5 fixes live in `kubric_compat.py`.
"""
from __future__ import annotations

import importlib.util
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simedit.render.backends.base import RenderOutput, RenderSettings, SyncedRenderer
from simedit.render.catalog.model import Catalog
from simedit.render.common.errors import SimEditError
from simedit.render.scene import Camera, Floor, Light, Scene, SceneObject, World, mask_value

KUBRIC_VERSION = "2023.12.27"
INSTALL_HINT = f'pip install -e ".[kubric]" && pip install --no-deps kubric-nightly=={KUBRIC_VERSION}'
PLAIN_WORLD_RGB = (0.2, 0.2, 0.2)  # as the Cycles backend
SOLID_ROUGHNESS = 0.45
FLOOR_ROUGHNESS = 0.8
FLOOR_THICKNESS = 0.01  # m; the cube's top face is the floor plane z = 0


def require_kubric() -> None:
    """One line naming the install command when Kubric or its runtime dependencies are missing."""
    missing = [m for m in ("kubric", "tensorflow", "OpenEXR") if importlib.util.find_spec(m) is None]
    if missing:
        raise SimEditError(f"the kubric backend needs: {INSTALL_HINT} (missing: {', '.join(missing)})", field="backend")


@dataclass
class _Built:
    spec: SceneObject
    kb_obj: Any  # kubric.FileBasedObject
    material: Any = None  # kubric.PrincipledBSDFMaterial for solid colours
    blender_materials: list[Any] = field(default_factory=list)  # bpy materials we made (textures)


class KubricRenderer(SyncedRenderer):
    """Owns the process's Kubric scene and renderer. Not thread-safe; one per process."""

    def __init__(self, catalog: Catalog, settings: RenderSettings | None = None):
        super().__init__(catalog, settings)
        require_kubric()
        from simedit.render.backends import cycles

        cycles._load_bpy()  # bpy from the right path (spawned children), OpenImageIO, the HDRI folder
        global bpy, kb, cyc
        import bpy
        import kubric as kb

        cyc = cycles
        from simedit.render.backends import kubric_compat
        from kubric.renderer.blender import Blender

        self.fixes = kubric_compat.apply()
        self._tmp = Path(tempfile.mkdtemp(prefix="simedit-kubric-"))
        self.timings = {"build": 0.0, "engine": 0.0, "read": 0.0}  # seconds, summed over render calls
        self.kb_scene = kb.Scene(resolution=(64, 64), frame_start=1, frame_end=1)
        self.view = Blender(self.kb_scene, scratch_dir=self._tmp, adaptive_sampling=False,
                            use_denoising=self.settings.denoise, samples_per_pixel=self.settings.samples,
                            verbose=True)
        # verbose: Kubric's own stdout redirection (dup2 and a libc fflush around every import and
        # render) stays off; a render process already sends Blender's fd 1 to /dev/null (worker.py).
        # With it on, two plain scripts writing to a pipe deadlocked in a futex after rendering.
        self._configure(self.settings)
        self._objects: dict[str, _Built] = {}
        self._lights: list[Any] = []
        self._floor: Any = None
        self._asset_materials: dict[str, Any] = {}
        self.camera = kb.PerspectiveCamera(name="camera")
        self.kb_scene += self.camera
        self.kb_scene.camera = self.camera
        self._engine_start = 0.0
        self._engine_seconds = 0.0
        bpy.app.handlers.render_init.append(self._on_render_init)
        bpy.app.handlers.render_complete.append(self._on_render_complete)

    # ---- public API ----------------------------------------------------------------
    def render(self, scene: Scene, seed: int | None = None) -> RenderOutput:
        start = time.perf_counter()
        self.sync(scene)
        self.view.blender_scene.cycles.seed = self.settings.seed if seed is None else seed
        built = time.perf_counter()
        layers = ("rgba", "segmentation") + (("z",) if self.settings.depth else ())
        self._engine_seconds = 0.0
        frame = self.view.render_still(return_layers=layers)
        done = time.perf_counter()
        out = self._output(frame)
        end = time.perf_counter()
        engine = self._engine_seconds or (done - built)
        self.timings["build"] += built - start
        self.timings["engine"] += engine
        self.timings["read"] += (done - built - engine) + (end - done)
        out.engine_seconds = engine
        return out

    def _update_object(self, built: _Built, spec: SceneObject) -> None:
        uid = spec.uid
        if spec.asset_id != built.spec.asset_id or (spec.rgb, spec.color) != (built.spec.rgb, built.spec.color):
            if built.material is not None and spec.asset_id == built.spec.asset_id and self._is_solid(spec):
                built.material.color = kb.Color(*spec.rgb, 1.0)  # same mesh, new paint
                self._set_pose(built.kb_obj, spec)
                built.spec = spec
            else:
                self._remove_object(uid)
                self._add_object(spec)
        elif (spec.position, spec.rotation, spec.scale) != (built.spec.position, built.spec.rotation, built.spec.scale):
            self._set_pose(built.kb_obj, spec)
            built.spec = spec

    def close(self) -> None:
        for handlers, fn in ((bpy.app.handlers.render_init, self._on_render_init),
                             (bpy.app.handlers.render_complete, self._on_render_complete)):
            if fn in handlers:
                handlers.remove(fn)
        shutil.rmtree(self._tmp, ignore_errors=True)

    @classmethod
    def probe(cls, device: str = "GPU", warm: bool = False) -> dict:
        require_kubric()
        import kubric as kb

        out = {"engine": f"Kubric {kb.__version__}"}
        from simedit.render.backends.cycles import CyclesRenderer

        out.update({k: v for k, v in CyclesRenderer.probe(device=device, warm=warm).items() if k != "engine"})
        return out

    # ---- setup ---------------------------------------------------------------------
    def _configure(self, s: RenderSettings) -> None:
        scene = self.view.blender_scene
        cy, r = scene.cycles, scene.render
        if s.device.upper() == "GPU":
            api = cyc._enable_gpu()
            cy.device = "CPU" if api == "CPU" else "GPU"
        elif s.device.upper() != "CPU":
            raise SimEditError(f"render device must be CPU or GPU, got {s.device!r}", field="device")
        cy.use_animated_seed = False
        r.threads_mode = "FIXED" if s.threads > 0 else "AUTO"
        if s.threads > 0:
            r.threads = s.threads
        r.dither_intensity = 0.0
        scene.view_settings.view_transform = "Standard"  # Blender 4's default AgX would not be plain sRGB
        scene.view_settings.look = "None"
        r.image_settings.color_depth = "8"

    def _on_render_init(self, *_: Any) -> None:
        self._engine_start = time.perf_counter()

    def _on_render_complete(self, *_: Any) -> None:
        self._engine_seconds += time.perf_counter() - self._engine_start

    # ---- scene parts ---------------------------------------------------------------
    def _set_camera(self, cam: Camera) -> None:
        self.kb_scene.resolution = (cam.width, cam.height)
        self.camera.sensor_width = 36.0
        self.camera.field_of_view = cam.fov  # horizontal (Kubric fits the sensor horizontally)
        self.camera.min_render_distance = 0.01
        self.camera.max_render_distance = 1000.0
        self.camera.position = cam.position
        self.camera.look_at(cam.look_at)
        self._camera_spec = cam

    def _set_lights(self, lights: list[Light]) -> None:
        for light in self._lights:
            self.kb_scene.remove(light)
        self._lights = []
        for i, light in enumerate(lights):
            if light.kind != "sun":
                raise SimEditError(f"unsupported light kind {light.kind!r} (only 'sun')", field=f"lights[{i}].kind")
            sun = kb.DirectionalLight(name=f"sun{i}", color=kb.Color(*light.color), intensity=light.energy,
                                      position=(0.0, 0.0, 0.0), look_at=tuple(light.direction))
            self.kb_scene += sun
            self._lights.append(sun)
        self._lights_spec = list(lights)

    def _set_world(self, world: World) -> None:
        if world.hdri is None:
            rgb = tuple(c * world.strength for c in PLAIN_WORLD_RGB)
            self.kb_scene.ambient_illumination = kb.Color(*rgb, 1.0)
            self.kb_scene.background = kb.Color(*rgb, 1.0)
            self.view.ambient_node.inputs["Strength"].default_value = 1.0
            self.view.bg_node.inputs["Strength"].default_value = 1.0
        else:
            path = cyc.HDRI_DIR / f"{world.hdri}.exr"
            if not path.is_file():
                known = sorted(p.stem for p in cyc.HDRI_DIR.glob("*.exr"))
                raise SimEditError(f"unknown HDRI {world.hdri!r}; known: {', '.join(known)}", file=str(path), field="world.hdri")
            rotation = (0.0, 0.0, world.rotation)
            self.view._set_ambient_light_hdri(str(path), hdri_rotation=rotation, strength=world.strength)
            self.view._set_background_hdri(str(path), hdri_rotation=rotation)
            self.view.bg_node.inputs["Strength"].default_value = world.strength
        self._world_spec = world

    def _set_floor(self, floor: Floor) -> None:
        if self._floor is not None:
            self.kb_scene.remove(self._floor)
            self.view.remove(self._floor.material)
        h = floor.size / 2.0
        self._floor = kb.Cube(name="floor", scale=(h, h, FLOOR_THICKNESS / 2), position=(0.0, 0.0, -FLOOR_THICKNESS / 2),
                              static=True, background=True,
                              material=kb.PrincipledBSDFMaterial(name="floor_material", color=kb.Color(*floor.rgb, 1.0),
                                                                 roughness=FLOOR_ROUGHNESS))
        self.kb_scene += self._floor
        self._floor_spec = floor

    # ---- objects -------------------------------------------------------------------
    def _is_solid(self, spec: SceneObject) -> bool:
        asset = self.catalog.get(spec.asset_id)
        return spec.rgb is not None and asset.colorable and asset.texture is None

    def _add_object(self, spec: SceneObject) -> None:
        mask_value(spec.uid)  # checks the uid
        asset = self.catalog.get(spec.asset_id)
        path = Path(asset.render_mesh)
        if not path.is_file():
            raise SimEditError("mesh file not found", file=str(path), field=f"{asset.id}.render_mesh")
        ext = path.suffix.lower()
        if ext not in (".obj", ".ply", ".glb", ".gltf"):
            raise SimEditError(f"unsupported mesh format {ext!r} (obj, glb, gltf, ply)", file=str(path), field=f"{asset.id}.render_mesh")
        # OBJ/PLY: the file's own axes (the catalog transform works on raw file coordinates);
        # glTF: Kubric turns the importer's Y-up result back to the file's axes itself
        kwargs = {"axis_forward": "Y", "axis_up": "Z"} if ext in (".obj", ".ply") else {}
        material = kb.PrincipledBSDFMaterial(name=f"{spec.uid}_material", color=kb.Color(*spec.rgb, 1.0),
                                             roughness=SOLID_ROUGHNESS) if self._is_solid(spec) else None
        obj = kb.FileBasedObject(name=spec.uid, asset_id=asset.id, render_filename=str(path),
                                 simulation_filename=None, render_import_kwargs=kwargs,
                                 **({"material": material} if material is not None else {}))
        self._set_pose(obj, spec)
        try:
            self.kb_scene += obj
        except RuntimeError as exc:  # bpy operators report importer failures as RuntimeError
            raise SimEditError(f"cannot import mesh: {exc}".strip(), file=str(path), field=f"{asset.id}.render_mesh") from None
        built = _Built(spec=spec, kb_obj=obj, material=material)
        blender_obj = obj.linked_objects[self.view]
        slots = blender_obj.material_slots
        if material is not None and len(slots) > 1:  # Kubric paints only the active slot
            for slot in slots:
                slot.material = material.linked_objects[self.view]
        elif material is None and asset.texture is not None:
            tex = self._texture_material(asset)
            mats = [cyc._tinted_copy(tex, spec.rgb, f"{spec.uid}:tint")] if spec.rgb is not None else [tex]
            built.blender_materials = mats if spec.rgb is not None else []
            if not slots:
                blender_obj.data.materials.append(mats[0])
            for slot in blender_obj.material_slots:
                slot.material = mats[0]
        elif material is None and spec.rgb is not None:  # non-colorable without texture: tint its own
            built.blender_materials = [cyc._tinted_copy(s.material, spec.rgb, f"{spec.uid}:tint{i}") for i, s in enumerate(slots)]
            for slot, mat in zip(slots, built.blender_materials):
                slot.material = mat
        self._objects[spec.uid] = built

    def _texture_material(self, asset: Any) -> Any:
        if asset.id not in self._asset_materials:
            mat = cyc._principled_material(f"{asset.id}:texture", (1.0, 1.0, 1.0), 0.5)
            tex = mat.node_tree.nodes.new("ShaderNodeTexImage")
            tex.image = cyc._load_image(Path(asset.texture), field=f"{asset.id}.texture")
            mat.node_tree.links.new(tex.outputs["Color"], cyc._principled(mat).inputs["Base Color"])
            self._asset_materials[asset.id] = mat
        return self._asset_materials[asset.id]

    def _remove_object(self, uid: str) -> None:
        built = self._objects.pop(uid)
        blender_obj = built.kb_obj.linked_objects.get(self.view)
        mesh = blender_obj.data if blender_obj is not None else None
        shared = set(self._asset_materials.values()) | set(built.blender_materials)
        imported = [s.material for s in blender_obj.material_slots
                    if s.material is not None and s.material not in shared] if blender_obj else []
        self.kb_scene.remove(built.kb_obj)
        if built.material is not None:
            self.view.remove(built.material)
        for mat in built.blender_materials:
            bpy.data.materials.remove(mat)
        # Kubric leaves the imported mesh and its materials behind: free them in a long run
        if mesh is not None and mesh.users == 0:
            bpy.data.meshes.remove(mesh)
        for mat in imported:
            try:
                if mat.users == 0:
                    bpy.data.materials.remove(mat)
            except ReferenceError:
                pass

    def _set_pose(self, obj: Any, spec: SceneObject) -> None:
        """World = pose (translation, rotation, uniform scale) @ asset transform (a similarity)."""
        a = np.asarray(self.catalog.geometry(spec.asset_id).transform, float)
        s_a = float(np.cbrt(np.linalg.det(a[:3, :3])))
        if s_a <= 0:
            raise SimEditError("the kubric backend needs a positive mesh_scale (no mirroring)", field=f"{spec.asset_id}.mesh_scale")
        r_a = a[:3, :3] / s_a
        q = kb.Quaternion(spec.rotation)
        r_p = q.rotation_matrix
        rot = r_p @ r_a
        obj.quaternion = tuple(kb.Quaternion(matrix=rot, atol=1e-6))
        obj.scale = (spec.scale * s_a,) * 3
        obj.position = tuple(np.asarray(spec.position, float) + spec.scale * (r_p @ a[:3, 3]))

    # ---- output --------------------------------------------------------------------
    def _output(self, frame: dict[str, np.ndarray]) -> RenderOutput:
        rgb = np.ascontiguousarray(frame["rgba"][..., :3])
        if rgb.dtype != np.uint8:  # a 16-bit PNG
            rgb = (rgb.astype(np.float32) / 257.0).round().astype(np.uint8)
        seg = frame["segmentation"][..., 0].astype(np.int64)
        lut = np.zeros(len(self.kb_scene.assets) + 1, np.uint16)
        by_asset = {id(b.kb_obj): uid for uid, b in self._objects.items()}
        for index, asset in enumerate(self.kb_scene.assets, start=1):
            if id(asset) in by_asset:
                lut[index] = mask_value(by_asset[id(asset)])
        mask = lut[np.clip(seg, 0, len(lut) - 1)]
        depth = None
        if "z" in frame:
            z = frame["z"][..., 0].astype(np.float32)
            depth = np.where(z >= 1e9, np.inf, z).astype(np.float32)
        return RenderOutput(rgb=rgb, mask=mask, depth=depth)
