"""The panel's controller: the shot being edited, its objects and keyframe masks, undo/redo,
and every call to the worker. Imports no Qt (STYLE.md 13): pixels are opaque objects made and
changed by an injected `MaskOps` (see `ui.panel.maskimage`), and results coming back on the
worker client's threads are handed to the UI thread through an injected `post(fn)`.

Split by concern: this module (events, worker calls, plate, viewing, objects), `edits.py`
(strokes, undo/redo, import), `samclicks.py` (SAM clicks) and `runs.py` (shot file, run, cancel).

Widgets subscribe with `controller.subscribe(fn)`; `fn(event, payload)` runs on the UI thread.
Events: plate, displays, frame, current_frame, objects, selection, mask, keyframes, undo, progress,
preview, run_state, run_settings, error, status, sam_busy, shot_saved, shot_loaded, frame_done.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, List, Optional, Tuple

from ui.panel.edits import MaskEditsMixin
from ui.panel.framecache import FrameCache, PreviewCache
from ui.panel.model import PALETTE, Edit, MattedObject, PlateInfo, SamState  # noqa: F401 - re-exported
from ui.panel.runs import RunsMixin, _quietly, _split_callback
from ui.panel.samclicks import SamClicksMixin
from ui.panel.shotdoc import RunSettings


class PanelController(MaskEditsMixin, SamClicksMixin, RunsMixin):
    """Everything the panel does that is not drawing. See the module docstring."""

    def __init__(self, mask_ops, load_image: Callable, host=None, post: Optional[Callable] = None,
                 client_factory: Optional[Callable] = None, run_settings: Optional[RunSettings] = None):
        self.masks = mask_ops
        self._load_image = load_image      # (path, width, height, fmt) -> image; runs off the UI thread
        self.host = host
        self._post = post or (lambda fn: fn())
        self._client_factory = client_factory
        self._client = None
        self._hello: Optional[dict] = None
        self._starting = False
        self._pending: List[Tuple[str, dict, Callable, Callable]] = []
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="panel-io")
        self._closed = False
        self._listeners: List[Callable] = []
        self.plate: Optional[PlateInfo] = None
        self.plate_ref = None
        self.shot_path: Optional[str] = None
        self.run_settings = run_settings or RunSettings()
        self.display: Optional[str] = None
        self.view: Optional[str] = None
        self.exposure = 0.0
        self.gamma = 1.0
        self.downscale = 1
        self.current_frame: Optional[int] = None
        self.objects: List[MattedObject] = []
        self.selected_id: Optional[int] = None
        self._next_id = 1
        self._undo: List[Edit] = []
        self._redo: List[Edit] = []
        self._sam: Dict[Tuple[int, int], SamState] = {}
        self._sam_handles: Dict[int, str] = {}
        self._sam_seq = 0
        self.sam_model: Optional[str] = None  # SAM checkpoint name for the worker; None: its default (tiny)
        # One frame asked at a time: the worker drops a waiting read_frame when a newer one
        # arrives, so a second request in flight would only cancel the first.
        self.frames = FrameCache(self._fetch_frame, self._frame_ready, max_in_flight=1, prefetch=2)
        self.previews = PreviewCache()
        self.running = False
        self._cancel_requested = False
        self.last_outputs: Dict[str, str] = {}
        self.last_progress: dict = {}

    # ----------------------------------------------------------------- events
    def subscribe(self, fn: Callable) -> None:
        self._listeners.append(fn)

    def _emit(self, event: str, payload=None) -> None:
        for fn in list(self._listeners):
            fn(event, payload)

    def error(self, message: str, details: str = "") -> None:
        """Show one sentence (and optional details) in the panel."""
        self._emit("error", {"message": " ".join(str(message).split()), "details": details})

    def _error_from(self, err: BaseException, what: str) -> None:
        text = " ".join(str(err).split()) or f"{what} failed ({type(err).__name__})"
        details = getattr(err, "details", None) or f"While {what}: {type(err).__name__}: {err}"
        self.error(text, str(details))

    # ----------------------------------------------------------------- worker
    def _make_client(self):
        if self._client_factory is not None:
            return self._client_factory(self._on_notification)
        from plugin.client import WorkerClient  # stdlib-only module, safe in a host's Python
        return WorkerClient(on_notification=self._on_notification)

    def _call(self, method: str, params: dict, on_result: Callable, on_error: Optional[Callable] = None) -> None:
        """Ask the worker without blocking; `on_result`/`on_error` run on the UI thread."""
        on_error = on_error or (lambda err: self._error_from(err, method))
        if self._closed:
            return
        if self._hello is None:
            self._pending.append((method, params, on_result, on_error))
            self._start_worker()
            return
        self._send(method, params, on_result, on_error)

    def _send(self, method, params, on_result, on_error) -> None:
        def callback(*args):
            result, err = _split_callback(args)
            if err is not None:
                self._post(lambda: on_error(err))
            else:
                self._post(lambda: on_result(result))
        try:
            self._client.call_async(method, params, callback)
        except Exception as err:  # noqa: BLE001 - a dead worker becomes one line in the panel
            on_error(err)

    def _start_worker(self) -> None:
        if self._starting:
            return
        self._starting = True
        self._emit("status", "Starting the worker…")

        def start():
            try:
                client = self._client or self._make_client()
                hello = client.start()
            except Exception as err:  # noqa: BLE001
                self._post(lambda e=err: self._worker_failed(e))
                return
            self._post(lambda: self._worker_ready(client, hello))
        threading.Thread(target=start, name="panel-worker-start", daemon=True).start()

    def _worker_ready(self, client, hello) -> None:
        self._client, self._hello, self._starting = client, dict(hello or {}), False
        self._emit("status", "Worker ready ({})".format(self._hello.get("device", "device unknown")))
        pending, self._pending = self._pending, []
        for method, params, on_result, on_error in pending:
            self._send(method, params, on_result, on_error)

    def _worker_failed(self, err) -> None:
        self._starting = False
        self._pending = []
        self.frames.forget_in_flight()
        if self.running:
            self.running = False
            self._emit("run_state", "failed")
        self._emit("sam_busy", False)
        self._error_from(err, "starting the worker")

    def _on_notification(self, method: str, params: dict) -> None:
        """Called on the client's reader thread."""
        self._post(lambda: self._notification(method, params or {}))

    def _notification(self, method: str, params: dict) -> None:
        if method == "progress":
            self._on_progress(params)
        elif method == "log" and params.get("level") in ("warning", "error"):
            self._emit("status", params.get("message", ""))
        elif method == "frame_done":
            self._emit("frame_done", params)

    def _submit(self, fn) -> None:
        """Run `fn` on the I/O pool (disk reads/writes); nothing once the panel is closed."""
        if not self._closed:
            self._pool.submit(fn)

    def close(self) -> None:
        self._closed = True
        self._listeners = []
        client, self._client = self._client, None
        if client is not None:  # the worker's shutdown may take seconds: not on the UI thread
            threading.Thread(target=_quietly(client.close), name="panel-worker-close").start()
        self._pool.shutdown(wait=False)

    # ------------------------------------------------------------------ plate
    def use_host_selection(self) -> None:
        """'Use selected': the host's selected plate becomes the shot's plate."""
        if self.host is None:
            return
        try:
            ref = self.host.selected_plate()
        except Exception as err:  # noqa: BLE001 - the host's one line goes to the panel
            self._error_from(err, "the host's selection")
            return
        self.plate_ref = ref
        self.open_plate(ref.path, colourspace=ref.colourspace, first=ref.first, last=ref.last,
                        frame_offset=ref.frame_offset, ocio_config=ref.ocio_config)

    def open_plate(self, path: str, colourspace: Optional[str] = None, first: Optional[int] = None,
                   last: Optional[int] = None, frame_offset: int = 0, ocio_config: Optional[str] = None,
                   on_opened: Optional[Callable] = None) -> None:
        params = {"path": path}
        if colourspace:
            params["colourspace"] = colourspace
        if ocio_config:
            params["ocio_config"] = ocio_config
        self._emit("status", f"Opening {os.path.basename(path)}…")

        def opened(result):
            frames = result.get("frames")
            if not isinstance(frames, list):  # the worker sends a count; numbers run first..last
                frames = range(int(result["first"]), int(result["last"]) + 1)
            frames = [int(f) for f in frames]
            lo = first if first is not None else frames[0]
            hi = last if last is not None else frames[-1]
            frames = [f for f in frames if lo <= f <= hi] or frames
            displays = result.get("displays") or {}
            if isinstance(displays, list):
                displays = {d: [] for d in displays}
            self.plate = PlateInfo(path=path, first=frames[0], last=frames[-1], frames=frames,
                                   width=int(result["width"]), height=int(result["height"]),
                                   colourspace=result.get("colourspace") or colourspace,
                                   ocio_config=ocio_config, frame_offset=frame_offset,
                                   displays={str(k): list(v or []) for k, v in displays.items()},
                                   fps=result.get("fps"))
            self.display = self.display or result.get("display")
            self.view = self.view or result.get("view")
            self.objects, self.selected_id, self._next_id = [], None, 1
            self._undo.clear()
            self._redo.clear()
            self._sam.clear()
            self._sam_handles.clear()
            self.previews.clear()
            self.shot_path = None
            self.frames.reset(frames, self._view_key())
            self._emit("plate", self.plate)
            self._emit("objects", self.objects)
            self._emit("undo", None)
            self._emit("status", f"{os.path.basename(path)}: {self.plate.width}x{self.plate.height}, "
                                 f"frames {self.plate.first}-{self.plate.last}")
            if on_opened is not None:
                on_opened()
            self.set_frame(frames[0])
        self._call("open_plate", params, opened)

    # ------------------------------------------------------------------ view
    def _view_key(self):
        return (self.display, self.view, round(self.exposure, 4), round(self.gamma, 4), self.downscale)

    def set_view(self, display=None, view=None, exposure=None, gamma=None, downscale=None) -> None:
        if display is not None:
            self.display = display or None
        if view is not None:
            self.view = view or None
        if exposure is not None:
            self.exposure = float(exposure)
        if gamma is not None:
            self.gamma = max(0.01, float(gamma))
        if downscale is not None:
            self.downscale = max(1, int(downscale))
        self.frames.set_view_key(self._view_key())

    def set_frame(self, frame: int) -> None:
        if self.plate is None:
            return
        frame = min(self.plate.frames, key=lambda f: abs(f - int(frame)))
        self.current_frame = frame
        self._emit("current_frame", frame)
        self.frames.request(frame)

    def step_frame(self, delta: int) -> None:
        if self.plate is None or self.current_frame is None:
            return
        i = self.plate.frames.index(self.current_frame) + delta
        self.set_frame(self.plate.frames[max(0, min(len(self.plate.frames) - 1, i))])

    def jump_keyframe(self, direction: int) -> None:
        keys = self.keyframes()
        if self.current_frame is None or not keys:
            return
        later = [f for f in keys if (f - self.current_frame) * direction > 0]
        if later:
            self.set_frame(min(later, key=lambda f: abs(f - self.current_frame)))

    def _fetch_frame(self, frame: int, view_key, done: Callable) -> None:
        display, view, exposure, gamma, downscale = view_key
        params = {"frame": frame, "display": display, "view": view, "exposure": exposure,
                  "gamma": gamma, "downscale": downscale}

        def got(result):
            def load():
                try:
                    image = self._load_image(result["path"], int(result["width"]), int(result["height"]),
                                             result.get("format", "rgba8"))
                except Exception as err:  # noqa: BLE001
                    self._post(lambda e=err: (done(frame, view_key, None), self._error_from(e, f"frame {frame}")))
                    return
                self._post(lambda: done(frame, view_key, image))
            if result.get("displays") and self.plate is not None and not self.plate.displays:
                self._set_displays(result["displays"])
            self._submit(load)

        def failed(err):
            done(frame, view_key, None)
            if "superseded" not in str(err):  # the worker dropped it for a newer frame: not an error
                self._error_from(err, f"reading frame {frame}")
        self._call("read_frame", params, got, failed)

    def _set_displays(self, displays) -> None:
        """The OCIO config's displays and views, as the worker reports them with a frame."""
        if isinstance(displays, list):
            displays = {d: [] for d in displays}
        self.plate.displays = {str(k): list(v or []) for k, v in displays.items()}
        self._emit("displays", self.plate.displays)

    def _frame_ready(self, frame: int, image) -> None:
        self._emit("frame", {"frame": frame, "image": image})

    # ---------------------------------------------------------------- objects
    def object(self, obj_id: Optional[int]) -> Optional[MattedObject]:
        for obj in self.objects:
            if obj.id == obj_id:
                return obj
        return None

    @property
    def selected(self) -> Optional[MattedObject]:
        return self.object(self.selected_id)

    def add_object(self, name: Optional[str] = None) -> MattedObject:
        obj = MattedObject(id=self._next_id, name=name or f"object{self._next_id}",
                           colour=PALETTE[(self._next_id - 1) % len(PALETTE)])
        self._next_id += 1
        self.objects.append(obj)
        self.selected_id = obj.id
        self._emit("objects", self.objects)
        self._emit("selection", obj.id)
        return obj

    def select(self, obj_id: Optional[int]) -> None:
        if obj_id != self.selected_id:
            self.selected_id = obj_id
            self._emit("selection", obj_id)
            self._emit("keyframes", self.keyframes())

    def rename_object(self, obj_id: int, name: str) -> None:
        obj = self.object(obj_id)
        name = " ".join(str(name).split())
        if obj is None or not name:
            return
        if any(o.name == name and o.id != obj_id for o in self.objects):
            self.error(f"another object is already called '{name}'; object names name the output files, "
                       "so pick a different one")
            self._emit("objects", self.objects)
            return
        obj.name = name
        self._emit("objects", self.objects)

    def set_colour(self, obj_id: int, colour: str) -> None:
        obj = self.object(obj_id)
        if obj is not None:
            obj.colour = colour
            self._emit("objects", self.objects)
            self._emit("mask", {"obj_id": obj_id, "frame": None, "rect": None})

    def set_visible(self, obj_id: int, visible: bool) -> None:
        obj = self.object(obj_id)
        if obj is not None and obj.visible != bool(visible):
            obj.visible = bool(visible)
            self._emit("objects", self.objects)
            self._emit("mask", {"obj_id": obj_id, "frame": None, "rect": None})

    def remove_object(self, obj_id: int) -> None:
        obj = self.object(obj_id)
        if obj is None:
            return
        self.objects.remove(obj)
        self._undo = [e for e in self._undo if e.obj_id != obj_id]
        self._redo = [e for e in self._redo if e.obj_id != obj_id]
        self._sam = {k: v for k, v in self._sam.items() if k[0] != obj_id}
        if self.selected_id == obj_id:
            self.selected_id = self.objects[-1].id if self.objects else None
        self._emit("objects", self.objects)
        self._emit("selection", self.selected_id)
        self._emit("keyframes", self.keyframes())
        self._emit("undo", None)

    def keyframes(self, obj_id: Optional[int] = None) -> List[int]:
        """Keyframes of one object, or of every object when obj_id is None."""
        objs = [self.object(obj_id)] if obj_id is not None else self.objects
        return sorted({f for o in objs if o is not None for f in o.masks})

    def keyframe_marks(self) -> List[Tuple[int, str]]:
        """(frame, colour) for every keyframe of every visible object, for the slider's ticks."""
        return sorted((f, o.colour) for o in self.objects if o.visible for f in o.masks)

    def mask(self, obj_id: int, frame: Optional[int]):
        obj = self.object(obj_id)
        return None if obj is None or frame is None else obj.masks.get(frame)
