"""A persistent render process per render slot, serving any registered backend.

The child creates the backend named by `RenderSettings.backend` once (for Cycles: imports bpy,
keeps the loaded meshes between requests) and serves `render`/`render_pair` calls over a Pipe;
the parent never imports an engine. `RenderWorker` is itself a `Renderer`, so callers use the
same interface in-process or across the pipe. Errors are told apart:
  - `SimEditError` raised in the child (missing mesh, unknown HDRI...) is re-raised in the
    parent with the same message, file and field; the worker stays usable.
  - `WorkerDied`: the child exited or was killed (segfault, OOM kill); start a new worker.
  - `WorkerError`: any other exception in the child (a bug), with the child's traceback.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from simedit.render.backends.base import Renderer, RenderOutput, RenderSettings, create_renderer, renderer_class
from simedit.render.catalog.model import Catalog, load_catalog
from simedit.render.common.errors import SimEditError
from simedit.render.scene import Scene

# What the child uses to get its catalog: a path for load_catalog (None = built-in), a
# Catalog object (pickled over), or a picklable zero-argument callable returning one.
CatalogSource = str | Path | Catalog | Callable[[], Catalog] | None


class WorkerDied(RuntimeError):
    """The render process is gone (crash, kill, OOM); the request was not answered."""


class WorkerError(RuntimeError):
    """An unexpected exception inside the render process (a bug); carries its traceback."""


class RenderWorker(Renderer):
    def __init__(
        self,
        catalog: CatalogSource = None,
        settings: RenderSettings | None = None,
        *,
        log_path: str | Path | None = None,
        start_timeout: float = 120.0,
    ):
        self.settings = settings or RenderSettings()  # the catalog lives in the child
        ctx = mp.get_context("spawn")  # a fresh interpreter: no forked bpy/GL state, no inherited threads
        self._conn, child_conn = ctx.Pipe()
        self._proc = ctx.Process(
            target=_serve,
            args=(child_conn, catalog, settings, None if log_path is None else str(log_path)),
            daemon=True,
            name="simedit-render",
        )
        self._proc.start()
        child_conn.close()  # so the parent sees EOF when the child dies
        try:
            self._call(None, timeout=start_timeout)  # the child answers once bpy and the catalog are loaded
        except BaseException:
            self.close()
            raise

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    def alive(self) -> bool:
        return self._proc.is_alive()

    def render_pair(self, source: Scene | dict, target: Scene | dict, seed: int | None = None,
                    timeout: float | None = None) -> tuple[RenderOutput, RenderOutput]:
        """-> (RenderOutput, RenderOutput) for the source and the target."""
        return self._call(("render_pair", _as_dict(source), _as_dict(target), seed), timeout)

    def render(self, scene: Scene | dict, seed: int | None = None, timeout: float | None = None) -> RenderOutput:
        return self._call(("render", _as_dict(scene), seed), timeout)

    def close(self, timeout: float = 10.0) -> None:
        if self._proc.is_alive():
            try:
                self._conn.send(("close",))
            except (OSError, ValueError):
                pass
            self._proc.join(timeout)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(timeout)
        self._conn.close()

    def _call(self, request: tuple | None, timeout: float | None) -> Any:
        if self._conn.closed:
            raise WorkerDied("render worker was closed")
        try:
            if request is not None:
                self._conn.send(request)
            # Wake on an answer or on the child's death, whichever comes first.
            ready = wait([self._conn, self._proc.sentinel], timeout)
            if not ready:
                self._proc.kill()
                self._proc.join(5)
                raise WorkerDied(f"render worker (pid {self._proc.pid}) did not answer within {timeout} s; killed")
            if self._conn not in ready and not self._conn.poll():
                raise EOFError
            reply = self._conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError):
            self._proc.join(5)
            raise WorkerDied(f"render worker (pid {self._proc.pid}) died, exit code {self._proc.exitcode}") from None
        kind = reply[0]
        if kind == "ok":
            return reply[1]
        if kind == "simedit":
            _, message, file, field = reply
            raise SimEditError(message, file=file, field=field)
        raise WorkerError(f"render worker raised:\n{reply[1]}")


def _as_dict(scene: Scene | dict) -> dict:
    return scene.to_dict() if isinstance(scene, Scene) else scene


def _silence(log_path: str | None) -> None:
    """Blender prints progress on fd 1 (C code, so sys.stdout does not catch it): drop it. Its
    warnings and errors on fd 2 go to the log when there is one. Ctrl-C reaches the whole
    process group: the parent stops this process, which must not print a traceback of its own."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    if log_path:
        log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 2)
        os.close(log)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _serve(conn: Connection, catalog: CatalogSource, settings: RenderSettings | None, log_path: str | None) -> None:
    _silence(log_path)
    gpu = settings is not None and settings.device.upper() == "GPU"
    if gpu:
        from simedit.render.gpu.env import prepare_render_process

        prepare_render_process(settings.gpu)  # before the engine touches CUDA
    try:
        try:
            if isinstance(catalog, Catalog):
                cat = catalog
            elif callable(catalog):
                cat = catalog()
            else:
                cat = load_catalog(catalog)
            renderer = create_renderer(cat, settings or RenderSettings())
        except BaseException as exc:  # report, then exit: the parent raises it from the constructor
            conn.send(_error_reply(exc))
            return
        conn.send(("ok", None))
        try:
            while True:
                request = conn.recv()
                op = request[0]
                if op == "close":
                    return
                try:
                    if op == "render_pair":
                        _, src, tgt, seed = request
                        result: Any = renderer.render_pair(Scene.from_dict(src), Scene.from_dict(tgt), seed)
                    elif op == "render":
                        _, scene, seed = request
                        result = renderer.render(Scene.from_dict(scene), seed)
                    else:
                        raise ValueError(f"unknown request {op!r}")
                    reply = ("ok", result)
                    if gpu:
                        gpu = _note_gpu_render(renderer)  # once per process
                except Exception as exc:
                    reply = _error_reply(exc)
                conn.send(reply)
        finally:
            renderer.close()
    except (EOFError, BrokenPipeError, ConnectionResetError):
        return  # the parent is gone (killed, or stopped): leave quietly


def _note_gpu_render(renderer: Renderer) -> bool:
    """A GPU render finished here: its kernel is now in the JIT cache (`gpu/cache.py`), so later
    runs need not warn about compiling it. Returns False: nothing more to note."""
    if getattr(renderer, "compute_api", "CPU") != "CPU":
        from simedit.render.gpu.cuda import probe
        from simedit.render.gpu.preflight import note_first_render

        note_first_render(probe())
    return False


def probe_backend(backend: str = "cycles", device: str = "GPU", warm: bool = False,
                  timeout: float | None = 300.0) -> dict:
    """`Renderer.probe` of `backend`, run in a fresh render process (with the GPU environment a
    render process gets), so the caller never loads the engine. Raises WorkerDied on a crash."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_probe, args=(child, backend, device, warm), daemon=True, name="simedit-probe")
    proc.start()
    child.close()
    try:
        if not wait([parent, proc.sentinel], timeout) or not parent.poll():
            raise WorkerDied(f"the {backend} probe (pid {proc.pid}) did not answer"
                             + (f" within {timeout} s" if proc.is_alive() else f", exit code {proc.exitcode}"))
        kind, *rest = parent.recv()
    except (EOFError, OSError):
        raise WorkerDied(f"the {backend} probe (pid {proc.pid}) died") from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        parent.close()
    if kind == "simedit":
        raise SimEditError(rest[0], file=rest[1], field=rest[2])
    if kind == "error":
        raise WorkerError(f"the {backend} probe raised:\n{rest[0]}")
    return rest[0]


def _probe(conn: Connection, backend: str, device: str, warm: bool) -> None:
    _silence(None)
    if device.upper() == "GPU":
        from simedit.render.gpu.env import prepare_render_process

        prepare_render_process(None)
    try:
        conn.send(("ok", renderer_class(backend).probe(device=device, warm=warm)))
    except BaseException as exc:
        conn.send(_error_reply(exc))


def _error_reply(exc: BaseException) -> tuple:
    if isinstance(exc, SimEditError):
        return ("simedit", exc.detail, exc.file, exc.field)
    return ("error", "".join(traceback.format_exception(exc)))
