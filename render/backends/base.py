"""The renderer interface and the backend registry. No bpy here: a parent process builds
settings, starts render processes and reads results without loading any engine.

A backend turns a `Scene` (plain data, `scene.py`) into an RGB image, an instance mask and,
when asked, a depth map. It is a `Renderer` subclass in its own module, registered below by
name; `create_renderer` imports it lazily. The persistent render process (`backends/worker.py`)
serves whichever backend the settings name.
"""
from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simedit.render.catalog.model import Catalog
from simedit.render.common.errors import SimEditError
from simedit.render.scene import Camera, Floor, Light, Scene, SceneObject, World

# name -> "module:class"; add a backend with one line here
BACKENDS: dict[str, str] = {
    "cycles": "simedit.render.backends.cycles:CyclesRenderer",
    "kubric": "simedit.render.backends.kubric:KubricRenderer",  # pip install -e ".[kubric]" (README)
}
DEFAULT_BACKEND = "cycles"


@dataclass
class RenderSettings:
    samples: int = 32
    denoise: bool = False
    depth: bool = False
    device: str = "CPU"  # "CPU" or "GPU" (the backend picks the API; falls back to CPU with a warning)
    threads: int = 0  # 0 = one per core
    seed: int = 0  # noise seed used when render()/render_pair() get seed=None
    backend: str = DEFAULT_BACKEND
    region: bool = True  # render_pair renders only the part of the target the edit can change
    gpu: int | None = None  # with device GPU: the one GPU (ordinal among those visible) this process uses


@dataclass
class RenderOutput:
    rgb: np.ndarray  # (H, W, 3) uint8 sRGB
    mask: np.ndarray  # (H, W) uint16: k+1 for the object with uid "o<k>", 0 = background/floor
    depth: np.ndarray | None = None  # (H, W) float32 meters along the view axis; inf = sky
    engine_seconds: float = 0.0  # wall time inside the engine's render call
    region: list[int] | None = None  # a target rendered only in [x0, y0, x1, y1) (the rest is the source's)
    # directions the world map's bright spots shine along (a window, a low sun), beyond the
    # scene's sun lamps: the verifier expects shadows along them too
    shadow_lights: list[tuple[float, float, float]] = field(default_factory=list)


class Renderer(ABC):
    """Renders scenes of one catalog. One per process; not thread-safe."""

    def __init__(self, catalog: Catalog, settings: RenderSettings | None = None):
        self.catalog = catalog
        self.settings = settings or RenderSettings()

    @abstractmethod
    def render(self, scene: Scene, seed: int | None = None) -> RenderOutput:
        """One image of `scene` with noise seed `seed` (None: `settings.seed`)."""

    def render_pair(self, source: Scene, target: Scene, seed: int | None = None) -> tuple[RenderOutput, RenderOutput]:
        """Source and target with the same noise seed, so pixels the edit does not reach match."""
        return self.render(source, seed), self.render(target, seed)

    def close(self) -> None:
        """Release the engine's resources (temporary files, devices)."""

    @classmethod
    def probe(cls, device: str = "GPU", warm: bool = False) -> dict:
        """What the engine sees (version, devices, denoiser), for `render doctor`; with `warm`,
        render one tiny frame on `device` so that its kernels are compiled and cached. Called in a
        render process of its own (`worker.probe_backend`)."""
        return {}

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SyncedRenderer(Renderer):
    """A renderer that keeps one engine scene in step with the `Scene` it is asked to draw,
    touching only what differs (the camera, the lights, the world, the floor, each object).
    Subclasses build the parts; `sync` decides which to rebuild."""

    def __init__(self, catalog: Catalog, settings: RenderSettings | None = None):
        super().__init__(catalog, settings)
        self._objects: dict[str, Any] = {}  # uid -> what the engine built for it
        self._camera_spec: Camera | None = None  # what the engine scene holds now
        self._lights_spec: list[Light] | None = None
        self._world_spec: World | None = None
        self._floor_spec: Floor | None = None

    def sync(self, scene: Scene) -> None:
        """Make the engine scene match `scene`, touching only parts that differ."""
        uids = scene.uids()
        if len(set(uids)) != len(uids):
            raise SimEditError(f"duplicate object uids: {uids}", field="objects")
        if scene.camera != self._camera_spec:
            self._set_camera(scene.camera)
        if scene.lights != self._lights_spec:
            self._set_lights(scene.lights)
        if scene.world != self._world_spec:
            self._set_world(scene.world)
        if scene.floor != self._floor_spec:
            self._set_floor(scene.floor)
        wanted = {o.uid: o for o in scene.objects}
        for uid in [u for u in self._objects if u not in wanted]:
            self._remove_object(uid)
        for uid, spec in wanted.items():
            if uid in self._objects:
                self._update_object(self._objects[uid], spec)
            else:
                self._add_object(spec)

    # each sets the matching `_*_spec` (or `_objects` entry) to what it built
    @abstractmethod
    def _set_camera(self, cam: Camera) -> None: ...

    @abstractmethod
    def _set_lights(self, lights: list[Light]) -> None: ...

    @abstractmethod
    def _set_world(self, world: World) -> None: ...

    @abstractmethod
    def _set_floor(self, floor: Floor) -> None: ...

    @abstractmethod
    def _add_object(self, spec: SceneObject) -> None: ...

    @abstractmethod
    def _update_object(self, built: Any, spec: SceneObject) -> None: ...

    @abstractmethod
    def _remove_object(self, uid: str) -> None: ...


def renderer_class(name: str) -> type[Renderer]:
    if name not in BACKENDS:
        raise SimEditError(f"unknown render backend {name!r}; available: {', '.join(BACKENDS)}", field="backend")
    module, _, cls = BACKENDS[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def create_renderer(catalog: Catalog, settings: RenderSettings) -> Renderer:
    """The backend `settings.backend`, loaded in this process (only render processes call it)."""
    return renderer_class(settings.backend)(catalog, settings)
