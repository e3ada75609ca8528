"""The panel's controller: the shot being edited, its objects and keyframe masks, undo/redo,
and every call to the worker. Imports no Qt (STYLE.md 13): pixels are opaque objects made and
changed by an injected `MaskOps` (see `ui.panel.maskimage`), and results coming back on the
worker client's threads are handed to the UI thread through an injected `post(fn)`.

Widgets subscribe with `controller.subscribe(fn)`; `fn(event, payload)` runs on the UI thread.
Events: plate, frame, objects, selection, mask, keyframes, undo, progress, preview, run_state,
error, status, sam_busy.
"""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Optional, Tuple

from ui.panel import shotdoc
from ui.panel.framecache import FrameCache, PreviewCache
from ui.panel.shotdoc import RunSettings

PALETTE = ("#ff7a3d", "#3dc1ff", "#9cff3d", "#ff3dd2", "#ffd93d", "#3dffb0", "#a87bff", "#ff3d5e")
UNDO_DEPTH = 100
Rect = Tuple[int, int, int, int]  # x, y, width, height in plate pixels


@dataclass
class PlateInfo:
    """What `open_plate` told us about the plate."""

    path: str
    first: int
    last: int
    frames: List[int]
    width: int
    height: int
    colourspace: Optional[str] = None
    ocio_config: Optional[str] = None
    frame_offset: int = 0
    displays: Dict[str, List[str]] = field(default_factory=dict)
    fps: Optional[float] = None


@dataclass
class SamState:
    """The clicks that made one object's mask at one keyframe (plate pixels)."""

    points_pos: Tuple[Tuple[float, float], ...] = ()
    points_neg: Tuple[Tuple[float, float], ...] = ()
    box: Optional[Tuple[float, float, float, float]] = None


@dataclass
class MattedObject:
    id: int
    name: str
    colour: str
    visible: bool = True
    masks: Dict[int, object] = field(default_factory=dict)  # source frame -> mask image (plate size)


@dataclass
class _Edit:
    """One undoable change of one object's mask at one frame."""

    obj_id: int
    frame: int
    rect: Optional[Rect]        # None: the whole mask (before/after are whole masks or None)
    before: object              # patch, whole mask, or None (no keyframe before)
    after: object
    label: str
    sam_before: Optional[SamState] = None
    sam_after: Optional[SamState] = None


class PanelController:
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
        self._undo: List[_Edit] = []
        self._redo: List[_Edit] = []
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

    # ------------------------------------------------------------ mask edits
    def _target(self):
        """The object and frame an edit applies to; adds an object when there is none."""
        if self.plate is None or self.current_frame is None:
            return None, None
        obj = self.selected or (self.objects[0] if self.objects else None) or self.add_object()
        if self.selected_id != obj.id:
            self.select(obj.id)
        return obj, self.current_frame

    def begin_stroke(self):
        """The mask a brush stroke paints on (made blank when the frame has no keyframe yet).

        Returns (obj_id, frame, mask, snapshot) or None; pass them back to `end_stroke`.
        """
        obj, frame = self._target()
        if obj is None:
            return None
        mask = obj.masks.get(frame)
        created = mask is None
        if created:
            mask = self.masks.new(self.plate.width, self.plate.height)
            obj.masks[frame] = mask
            self._emit("keyframes", self.keyframes())
        return obj.id, frame, mask, (None if created else self.masks.copy(mask))

    def end_stroke(self, obj_id: int, frame: int, snapshot, rect: Optional[Rect], label: str) -> None:
        """Record a finished stroke as one undo step (rect: what it touched)."""
        obj = self.object(obj_id)
        mask = obj.masks.get(frame) if obj else None
        if mask is None:
            return
        if rect is None or rect[2] <= 0 or rect[3] <= 0:
            if snapshot is None:  # a click-less stroke on a new keyframe: no keyframe after all
                del obj.masks[frame]
                self._emit("keyframes", self.keyframes())
            return
        if snapshot is None:
            edit = _Edit(obj_id, frame, None, None, self.masks.copy(mask), label)
        else:
            edit = _Edit(obj_id, frame, rect, self.masks.crop(snapshot, rect), self.masks.crop(mask, rect), label)
        self._push(edit)
        self._emit("mask", {"obj_id": obj_id, "frame": frame, "rect": rect})

    def set_mask(self, mask, label: str, obj_id: Optional[int] = None, frame: Optional[int] = None,
                 sam_after: Optional[SamState] = None, sam_before: Optional[SamState] = None) -> None:
        """Replace a whole mask (SAM result, import, clear) as one undo step; mask None removes the keyframe."""
        if obj_id is None or frame is None:
            obj, frame = self._target()
        else:
            obj = self.object(obj_id)
        if obj is None:
            return
        before = obj.masks.get(frame)
        if mask is None and before is None:
            return
        edit = _Edit(obj.id, frame, None, before, mask, label,
                     sam_before=sam_before if sam_before is not None else self._sam.get((obj.id, frame)),
                     sam_after=sam_after)
        self._apply(edit, forward=True)
        self._push(edit)

    def clear_mask(self) -> None:
        """Remove the selected object's mask at this frame (its keyframe goes too)."""
        obj = self.selected
        if obj is not None and self.current_frame in obj.masks:
            self.set_mask(None, "clear", obj.id, self.current_frame, sam_after=SamState())

    def _push(self, edit: _Edit) -> None:
        self._undo.append(edit)
        del self._undo[:-UNDO_DEPTH]
        self._redo.clear()
        self._emit("undo", None)

    def _apply(self, edit: _Edit, forward: bool) -> None:
        obj = self.object(edit.obj_id)
        if obj is None:
            return
        value = edit.after if forward else edit.before
        if edit.rect is None:
            if value is None:
                obj.masks.pop(edit.frame, None)
            else:
                obj.masks[edit.frame] = self.masks.copy(value)
        else:
            mask = obj.masks.get(edit.frame)
            if mask is None:
                mask = obj.masks[edit.frame] = self.masks.new(self.plate.width, self.plate.height)
            self.masks.paste(mask, edit.rect, value)
        sam = edit.sam_after if forward else edit.sam_before
        if sam is not None or edit.sam_after is not None or edit.sam_before is not None:
            self._sam[(edit.obj_id, edit.frame)] = sam or SamState()
        self._emit("keyframes", self.keyframes())
        self._emit("mask", {"obj_id": edit.obj_id, "frame": edit.frame, "rect": edit.rect})
        if self.current_frame != edit.frame:
            self.set_frame(edit.frame)

    def undo(self) -> Optional[str]:
        if not self._undo:
            return None
        edit = self._undo.pop()
        self._redo.append(edit)
        self._apply(edit, forward=False)
        self._emit("undo", None)
        return edit.label

    def redo(self) -> Optional[str]:
        if not self._redo:
            return None
        edit = self._redo.pop()
        self._undo.append(edit)
        self._apply(edit, forward=True)
        self._emit("undo", None)
        return edit.label

    def undo_labels(self) -> Tuple[Optional[str], Optional[str]]:
        return (self._undo[-1].label if self._undo else None, self._redo[-1].label if self._redo else None)

    def import_mask(self, path: str) -> None:
        """A mask from a file (PNG/TIFF via Qt; EXR alpha through the worker) on this keyframe."""
        obj, frame = self._target()
        if obj is None:
            self.error("open a plate before importing a mask")
            return
        width, height = self.plate.width, self.plate.height
        obj_id = obj.id

        def loaded(mask):
            self.set_mask(mask, "import mask", obj_id, frame, sam_after=SamState())

        def load_local(file_path):
            def work():
                try:
                    mask = self.masks.load(file_path, width, height)
                except Exception as err:  # noqa: BLE001
                    self._post(lambda e=err: self._error_from(e, f"importing {file_path}"))
                    return
                self._post(lambda: loaded(mask))
            self._submit(work)

        if path.lower().endswith((".exr", ".dpx", ".tif", ".tiff")) and not self.masks.can_read(path):
            def no_reader(err):
                if "unknown method" in str(err):
                    self.error(f"{os.path.basename(path)}: this worker cannot read EXR/DPX/TIFF masks yet; "
                               "save the mask as a PNG (alpha or grey) at plate resolution and import that",
                               str(err))
                else:
                    self._error_from(err, f"importing {path}")
            self._call("read_mask", {"path": path, "width": width, "height": height},
                       lambda result: load_local(result["mask_path"]), no_reader)
        else:
            load_local(path)

    # -------------------------------------------------------------------- SAM
    def sam_state(self, obj_id: Optional[int] = None, frame: Optional[int] = None) -> SamState:
        obj_id = self.selected_id if obj_id is None else obj_id
        frame = self.current_frame if frame is None else frame
        return self._sam.get((obj_id, frame), SamState())

    def sam_click(self, x: float, y: float, positive: bool = True) -> None:
        """A click in plate pixels: left adds, right/alt subtracts."""
        obj, frame = self._target()
        if obj is None:
            return
        state = self.sam_state(obj.id, frame)
        point = ((round(float(x), 2), round(float(y), 2)),)
        if positive:
            new = replace(state, points_pos=state.points_pos + point)
        else:
            new = replace(state, points_neg=state.points_neg + point)
        self._sam_request(obj.id, frame, state, new, "add click" if positive else "subtract click")

    def sam_box(self, x0: float, y0: float, x1: float, y1: float) -> None:
        obj, frame = self._target()
        if obj is None:
            return
        state = self.sam_state(obj.id, frame)
        box = (round(min(x0, x1), 2), round(min(y0, y1), 2), round(max(x0, x1), 2), round(max(y0, y1), 2))
        self._sam_request(obj.id, frame, state, replace(state, box=box), "box")

    def _sam_request(self, obj_id: int, frame: int, before: SamState, state: SamState, label: str) -> None:
        self._sam[(obj_id, frame)] = state  # the next click builds on this one at once
        self._sam_seq += 1
        seq = self._sam_seq
        self._emit("sam_busy", True)

        def failed(err):
            if self._sam.get((obj_id, frame)) is state:
                self._sam[(obj_id, frame)] = before
            self._emit("sam_busy", False)
            self._emit("status", "")
            self._error_from(err, "SAM")

        def got_mask(result):
            if seq != self._sam_seq:
                return  # a later click is on its way; its answer includes this one

            def work():
                try:
                    mask = self.masks.load(result["mask_path"], self.plate.width, self.plate.height)
                except Exception as err:  # noqa: BLE001
                    self._post(lambda e=err: failed(e))
                    return
                self._post(lambda: done(mask))
            self._submit(work)

        def done(mask):
            if seq != self._sam_seq:
                return
            self._emit("sam_busy", False)
            self._emit("status", "")
            self.set_mask(mask, label, obj_id, frame, sam_after=state, sam_before=before)

        def ask(handle):
            params = {"handle": handle, "points_pos": [list(p) for p in state.points_pos],
                      "points_neg": [list(p) for p in state.points_neg]}
            if state.box is not None:
                params["box"] = list(state.box)
            self._call("sam_mask", params, got_mask, failed)

        handle = self._sam_handles.get(frame)
        if handle is not None:
            ask(handle)
            return

        def embedded(result):
            self._sam_handles[frame] = result["handle"]
            while len(self._sam_handles) > 4:
                self._sam_handles.pop(next(iter(self._sam_handles)))
            ask(result["handle"])
        self._emit("status", f"Preparing SAM for frame {frame}…")
        params = {"frame": frame, "display": self.display, "view": self.view}
        if self.sam_model:
            params["model"] = self.sam_model
        self._call("sam_embed", params, embedded, failed)

    # -------------------------------------------------------------------- run
    def output_pattern(self) -> str:
        if self.run_settings.output_path:
            return self.run_settings.output_path
        return shotdoc.default_output_pattern(self.plate.path) if self.plate else ""

    def default_shot_path(self) -> str:
        return shotdoc.default_shot_path(self.plate.path, self.output_pattern())

    def to_doc(self, shot_path: str) -> shotdoc.ShotDoc:
        """The shot as a document; mask paths are where `save_shot` writes them."""
        mask_dir = os.path.join(os.path.dirname(os.path.abspath(shot_path)), "masks")
        stem = shotdoc.plate_stem(self.plate.path)
        objects = [shotdoc.ShotObject(o.id, o.name, {f: os.path.join(mask_dir, f"{stem}_{_safe(o.name)}.{f}.png")
                                                     for f in sorted(o.masks)}, o.colour)
                   for o in self.objects if o.masks]
        p = self.plate
        return shotdoc.ShotDoc(plate_path=p.path, first=p.first, last=p.last, colourspace=p.colourspace,
                               ocio_config=p.ocio_config, frame_offset=p.frame_offset, display=self.display,
                               view=self.view, objects=objects, run=replace(self.run_settings))

    def save_shot(self, shot_path: Optional[str] = None, then: Optional[Callable] = None) -> None:
        """Write masks (PNG) and the shot file off the UI thread; `then(shot_path)` on the UI thread."""
        if self.plate is None:
            self.error("open a plate before saving a shot")
            return
        shot_path = os.path.abspath(shot_path or self.shot_path or self.default_shot_path())
        doc = self.to_doc(shot_path)
        jobs = [(self.masks.copy(o.masks[f]), doc_obj.keyframes[f])
                for o, doc_obj in zip([o for o in self.objects if o.masks], doc.objects) for f in o.masks]

        def work():
            try:
                for mask, path in jobs:
                    self.masks.save(mask, path)
                shotdoc.save(doc, shot_path)
            except Exception as err:  # noqa: BLE001
                self._post(lambda e=err: self._error_from(e, f"saving {shot_path}"))
                return

            def saved():
                self.shot_path = shot_path
                self._emit("shot_saved", shot_path)
                if then is not None:
                    then(shot_path)
            self._post(saved)
        self._submit(work)

    def load_shot(self, shot_path: str) -> None:
        """Open a shot file: its plate, objects, keyframe masks and settings."""
        try:
            doc = shotdoc.load(shot_path)
        except shotdoc.ShotFileError as err:
            self.error(str(err))
            return

        def opened():
            self.shot_path = os.path.abspath(shot_path)
            self.run_settings = replace(doc.run)
            self.display, self.view = doc.display or self.display, doc.view or self.view
            width, height = self.plate.width, self.plate.height
            for item in doc.objects:
                obj = self.add_object(item.name)
                obj.id = item.id
                obj.colour = item.colour or obj.colour
                self._next_id = max(self._next_id, item.id + 1)
            self.selected_id = self.objects[0].id if self.objects else None
            self._emit("objects", self.objects)
            self._emit("run_settings", self.run_settings)

            def work():
                loaded = []
                try:
                    for item in doc.objects:
                        for frame, path in item.keyframes.items():
                            loaded.append((item.id, frame, self.masks.load(path, width, height)))
                except Exception as err:  # noqa: BLE001
                    self._post(lambda e=err: self._error_from(e, f"loading masks of {shot_path}"))
                    return

                def put():
                    for obj_id, frame, mask in loaded:
                        obj = self.object(obj_id)
                        if obj is not None:
                            obj.masks[frame] = mask
                    self._emit("keyframes", self.keyframes())
                    self._emit("mask", {"obj_id": None, "frame": None, "rect": None})
                    self._emit("shot_loaded", self.shot_path)
                self._post(put)
            self._submit(work)
        self.open_plate(doc.plate_path, colourspace=doc.colourspace, first=doc.first, last=doc.last,
                        frame_offset=doc.frame_offset, ocio_config=doc.ocio_config, on_opened=opened)

    def check_runnable(self) -> Optional[str]:
        """One sentence saying why Run cannot start, or None."""
        if self.plate is None:
            return "open a plate first (File > Open Plate, or drop one on the panel)"
        if self.running:
            return "a run is already going; cancel it first"
        if not any(o.masks for o in self.objects):
            return "paint or click a mask for at least one object on a keyframe before running"
        for obj in self.objects:
            for frame, mask in sorted(obj.masks.items()):
                if self.masks.is_empty(mask):
                    return (f"object '{obj.name}' has an empty mask on frame {frame}; paint it or clear "
                            "that keyframe (Clear)")
        return None

    def run(self) -> None:
        """Save the shot and start the worker on it; progress and previews arrive as events."""
        problem = self.check_runnable()
        if problem:
            self.error(problem)
            return
        self.running, self._cancel_requested = True, False
        self.previews.clear()
        self.last_outputs = {}
        self.last_progress = {"done": 0, "total": len(self.plate.frames)}
        self._emit("run_state", "saving")

        def start(shot_path):
            if self._cancel_requested:
                self._finish("cancelled", {})
                return
            params = {"shot_path": shot_path}
            self._emit("run_state", "running")
            self._run_started = time.monotonic()
            self._call("run_shot", params, lambda result: self._finish("finished", result), self._run_failed)
        self.save_shot(then=start)

    def cancel(self) -> None:
        if not self.running:
            return
        self._cancel_requested = True
        self._emit("run_state", "cancelling")
        client = self._client
        if client is None:
            return
        cancel = getattr(client, "cancel", None)
        if callable(cancel):
            threading.Thread(target=_quietly(cancel), name="panel-cancel", daemon=True).start()
        else:
            self._call("cancel", {}, lambda _r: None, lambda _e: None)

    def _run_failed(self, err) -> None:
        if self._cancel_requested:
            self._finish("cancelled", {})
        else:
            self.running = False
            self._emit("run_state", "failed")
            self._error_from(err, "the run")

    def _finish(self, state: str, result: dict) -> None:
        self.running = False
        result = result or {}
        if result.get("status") == "cancelled":
            state = "cancelled"
        self.last_outputs = dict(result.get("outputs") or {})
        if state == "cancelled":
            self._emit("status", "Cancelled: whole frames written so far are kept; Run again resumes.")
        self._emit("run_state", state)
        if state == "finished":
            note = "already up to date: " if result.get("status") == "up-to-date" else "Finished: "
            self._emit("status", note + ", ".join(f"{k} -> {v}" for k, v in self.last_outputs.items()))
            if self.host is not None and self.last_outputs:
                ref = self.plate_ref or _plate_ref_for(self.plate)
                try:
                    self.host.bring_back(dict(self.last_outputs), ref, self.shot_path)
                except Exception as err:  # noqa: BLE001 - the host's one line goes to the panel
                    self._error_from(err, "bringing the alpha back into the host")

    def _on_progress(self, params: dict) -> None:
        if not self.running:
            return
        self.last_progress = dict(params)
        self._emit("progress", self.last_progress)
        path = params.get("preview_path")
        if path and params.get("frame") is not None:
            frame = int(params["frame"])

            def work():
                try:
                    image = self._load_image(path, 0, 0, "preview")
                except Exception:  # noqa: BLE001 - a missed preview is not worth an error
                    return
                self._post(lambda: self._preview_ready(frame, image))
            self._submit(work)

    def _preview_ready(self, frame: int, image) -> None:
        self.previews.put(frame, image)
        self._emit("preview", {"frame": frame, "image": image})


def _split_callback(args):
    """Accept `cb(result, error)`, `cb(result)` or `cb(exception)` from the client."""
    if len(args) >= 2:
        return args[0], args[1]
    value = args[0] if args else None
    if isinstance(value, BaseException):
        return None, value
    return value, None


def _quietly(fn):
    def run():
        try:
            fn()
        except Exception:  # noqa: BLE001 - a cancel to a dead worker changes nothing
            pass
    return run


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "object"


def _plate_ref_for(plate: PlateInfo):
    from ui.host import PlateRef
    return PlateRef(path=plate.path, first=plate.first, last=plate.last, colourspace=plate.colourspace,
                    ocio_config=plate.ocio_config, frame_offset=plate.frame_offset)
