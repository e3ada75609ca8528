"""The panel's controller: the shot being edited and every call to the worker. Imports no Qt
(STYLE.md 13): pixels are opaque objects made and changed by an injected `MaskOps` (see
`ui.panel.maskimage`), and results coming back on the worker client's threads are handed to
the UI thread through an injected `post(fn)`.

It owns the worker connection, the plate, viewing and the objects, and composes parts that
own their own state: `edits` (mask edits and undo, `edits.py`), `sam` (SAM clicks,
`samclicks.py`), `runs` (shot file, run, progress, `runs.py`) and `alphas` (the written matte
read back through the worker, `alphas.py`) and `pixels` (the pixel readout, `readout.py`). Parts reach each other only through this object's
public methods.

Widgets subscribe with `controller.subscribe(fn)`; `fn(event, payload)` runs on the UI thread
with an `Event` (`ui.panel.events`).
"""
from __future__ import annotations

import os
from typing import Callable, List, Optional, Tuple

from plugin.shot import RunSettings, object_name_problem
from ui.panel.alphas import WrittenAlphas
from ui.panel.edits import MaskEdits
from ui.panel.events import Event
from ui.panel.framecache import FrameCache
from ui.panel.models import Models
from ui.panel.model import PALETTE, MattedObject, PlateInfo, SamState  # noqa: F401 - re-exported
from ui.panel.link import WorkerLink
from ui.panel.readout import PixelReadout
from ui.panel.runs import Runs
from ui.panel.samclicks import SamClicks


class PanelController:
    """Everything the panel does that is not drawing. See the module docstring."""

    def __init__(self, mask_ops, load_image: Callable, host=None, post: Optional[Callable] = None,
                 client_factory: Optional[Callable] = None, run_settings: Optional[RunSettings] = None):
        self.masks = mask_ops
        self.load_image = load_image      # (path, width, height, fmt) -> image; runs off the UI thread
        self.host = host
        self.post = post or (lambda fn: fn())
        self.link = WorkerLink(self, client_factory)
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
        self.sam_model: Optional[str] = None  # SAM checkpoint name for the worker; None: its default (tiny)
        self.show_alpha = False               # the viewer shows the written matte: read it with each frame
        self.all_objects = False              # the matte views show every object, not only the selected one
        self.correction_from = "alpha"        # a new keyframe starts from: "alpha" | "keyframe" | "empty"
        self.correction_threshold = 0.5       # alpha at or above this is inside a correction's start mask
        self.onion_skin = True                # outlines of the selected object's neighbouring keyframes
        self.run_range: Optional[Tuple[int, int]] = None  # in/out points (I / O): run and play only these
        # One frame asked at a time: the worker drops a waiting read_frame when a newer one
        # arrives, so a second request in flight would only cancel the first.
        self.frame_cache = FrameCache(self._fetch_frame, self._frame_ready, max_in_flight=1, prefetch=2)
        self.edits = MaskEdits(self)
        self.sam = SamClicks(self)
        self.runs = Runs(self)
        self.alphas = WrittenAlphas(self)
        self.models = Models(self)
        self.pixels = PixelReadout(self)

    # ----------------------------------------------------------------- events
    def subscribe(self, fn: Callable) -> None:
        self._listeners.append(fn)

    def emit(self, event: Event, payload=None) -> None:
        if not isinstance(event, Event):
            raise TypeError(f"{event!r} is not an Event (ui.panel.events)")
        for fn in list(self._listeners):
            fn(event, payload)

    def error(self, message: str, details: str = "") -> None:
        """Show one sentence (and optional details) in the panel."""
        self.emit(Event.ERROR, {"message": " ".join(str(message).split()), "details": details})

    def error_from(self, err: BaseException, what: str) -> None:
        text = " ".join(str(err).split()) or f"{what} failed ({type(err).__name__})"
        details = getattr(err, "details", None) or f"While {what}: {type(err).__name__}: {err}"
        self.error(text, str(details))

    # ----------------------------------------------------------------- worker
    def call(self, method: str, params: dict, on_result: Callable, on_error: Optional[Callable] = None) -> None:
        """Ask the worker without blocking; `on_result`/`on_error` run on the UI thread."""
        self.link.call(method, params, on_result, on_error or (lambda err: self.error_from(err, method)))

    def cancel_worker_job(self) -> None:
        self.link.cancel_job()

    def submit(self, fn) -> None:
        """Run `fn` on the I/O pool (disk reads/writes); nothing once the panel is closed."""
        self.link.submit(fn)

    def worker_ready(self, hello: dict) -> None:
        self.emit(Event.STATUS, "Worker ready ({})".format(hello.get("device", "device unknown")))
        self.models.refresh()

    def worker_failed(self, err) -> None:
        self.frame_cache.forget_in_flight()
        self.alphas.forget_in_flight()
        self.runs.worker_died()
        self.sam.worker_died()
        self.error_from(err, "starting the worker")

    def worker_notified(self, method: str, params: dict) -> None:
        """A worker notification, on the UI thread."""
        if method == "progress":
            self.runs.on_progress(params)
        elif method == "log" and params.get("level") in ("warning", "error"):
            self.emit(Event.STATUS, params.get("message", ""))
        elif method == "download_progress":
            self.models.on_progress(params)
        elif method == "frame_done":
            self.runs.on_frame_done(params)
            self.emit(Event.FRAME_DONE, params)

    def close(self) -> None:
        self._listeners = []
        self.link.close()

    # ------------------------------------------------------------------ plate
    def use_host_selection(self) -> None:
        """'Use selected': the host's selected plate becomes the shot's plate."""
        if self.host is None:
            return
        try:
            ref = self.host.selected_plate()
        except Exception as err:  # noqa: BLE001 - the host's one line goes to the panel
            self.error_from(err, "the host's selection")
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
        self.emit(Event.STATUS, f"Opening {os.path.basename(path)}…")

        def opened(result):
            # protocol.PlateOpened: `frames` is the count; the numbers run first..last.
            frames = list(range(int(result["first"]), int(result["last"]) + 1))
            lo = first if first is not None else frames[0]
            hi = last if last is not None else frames[-1]
            frames = [f for f in frames if lo <= f <= hi] or frames
            displays = result["displays"]  # the config's display/view menu, sent once here
            self.plate = PlateInfo(path=path, first=frames[0], last=frames[-1], frames=frames,
                                   width=int(result["width"]), height=int(result["height"]),
                                   colourspace=result.get("colourspace") or colourspace,
                                   ocio_config=ocio_config, frame_offset=frame_offset,
                                   displays={str(k): list(v) for k, v in displays.items()},
                                   fps=result.get("fps"), colourspace_guess=result.get("colourspace_guess"),
                                   colourspaces=list(result["colourspaces"]))
            self.objects, self.selected_id, self._next_id = [], None, 1
            self.edits.reset()
            self.sam.reset()
            self.runs.reset()
            self.alphas.reset(frames)
            self.shot_path = None
            self.run_range = None
            self.frame_cache.reset(frames, self._view_key())
            self.emit(Event.PLATE, self.plate)
            self.emit(Event.OBJECTS, self.objects)
            self.emit(Event.UNDO, None)
            self.emit(Event.STATUS, f"{os.path.basename(path)}: {self.plate.width}x{self.plate.height}, "
                                    f"frames {self.plate.first}-{self.plate.last}")
            autosave = self.runs.autosave_path()
            if on_opened is None and os.path.isfile(autosave):  # work that was never saved: say where it is
                self.emit(Event.STATUS, f"Unsaved masks of this plate were autosaved: Shot > Open Shot… {autosave}")
            if on_opened is not None:
                on_opened()
            self.set_frame(frames[0])
        self.call("open_plate", params, opened)

    def set_colourspace(self, name: str) -> None:
        """The artist says what the plate really is: the worker reads it so from now on (masks kept)."""
        plate = self.plate
        if plate is None or not name or name == plate.colourspace:
            return
        params = {"path": plate.path, "colourspace": name}
        if plate.ocio_config:
            params["ocio_config"] = plate.ocio_config

        def reopened(result):
            plate.colourspace = result.get("colourspace") or name
            plate.applied, plate.shown_as_file = None, False
            self.sam.forget_embeddings()  # made from the old colours
            self.frame_cache.reset(plate.frames, self._view_key())
            self.emit(Event.PLATE_COLOUR, plate.colourspace)
            self.set_frame(self.current_frame if self.current_frame is not None else plate.first)
        self.call("open_plate", params, reopened)

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
            self.alphas.set_downscale(self.downscale)
        self.frame_cache.set_view_key(self._view_key())

    def set_show_alpha(self, show: bool, all_objects: Optional[bool] = None) -> None:
        """The viewer shows the written matte (overlay, alpha, checker) rather than only the masks."""
        self.show_alpha = bool(show)
        if all_objects is not None:
            self.all_objects = bool(all_objects)
        if self.show_alpha and self.current_frame is not None:
            self.alphas.request(self.current_frame)

    def set_frame(self, frame: int) -> None:
        if self.plate is None:
            return
        frame = min(self.plate.frames, key=lambda f: abs(f - int(frame)))
        self.current_frame = frame
        self.emit(Event.CURRENT_FRAME, frame)
        self.frame_cache.request(frame)
        if self.show_alpha or self.runs.last_outputs:  # read after a run too: corrections start from it
            self.alphas.request(frame)

    def set_in_out(self, which: str, frame: Optional[int] = None) -> None:
        """I / O: the current frame becomes the in or out point of the run range; "clear" removes it."""
        if self.plate is None:
            return
        lo, hi = self.run_range or (self.plate.first, self.plate.last)
        frame = self.current_frame if frame is None else int(frame)
        if which == "in":
            lo, hi = frame, max(hi, frame)
        elif which == "out":
            lo, hi = min(lo, frame), frame
        whole = (lo, hi) == (self.plate.first, self.plate.last)
        self.run_range = None if which == "clear" or whole else (lo, hi)
        self.emit(Event.RUN_RANGE, self.run_range)

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
                    image = self.load_image(result["path"], int(result["width"]), int(result["height"]),
                                            result.get("format", "rgba8"))
                except Exception as err:  # noqa: BLE001
                    self.post(lambda e=err: (done(frame, view_key, None), self.error_from(e, f"frame {frame}")))
                    return
                self.post(lambda: done(frame, view_key, image))
            plate = self.plate
            if plate is not None and \
                    (result["applied"], result["applied"] is None) != (plate.applied, plate.shown_as_file):
                plate.applied, plate.shown_as_file = result["applied"], result["applied"] is None
                self.emit(Event.DISPLAYS, plate.displays)
            self.submit(load)

        def failed(err):
            done(frame, view_key, None)
            if "superseded" not in str(err):  # the worker dropped it for a newer frame: not an error
                self.error_from(err, f"reading frame {frame}")
        self.call("read_frame", params, got, failed)

    def _frame_ready(self, frame: int, image) -> None:
        self.emit(Event.FRAME, {"frame": frame, "image": image})

    # ---------------------------------------------------------------- objects
    def object(self, obj_id: Optional[int]) -> Optional[MattedObject]:
        for obj in self.objects:
            if obj.id == obj_id:
                return obj
        return None

    @property
    def selected(self) -> Optional[MattedObject]:
        return self.object(self.selected_id)

    def add_object(self, name: Optional[str] = None, obj_id: Optional[int] = None,
                   colour: Optional[str] = None) -> MattedObject:
        """A new object (or one read from a shot file, with its id and colour)."""
        obj_id = self._next_id if obj_id is None else int(obj_id)
        obj = MattedObject(id=obj_id, name=name or f"object{obj_id}",
                           colour=colour or PALETTE[(obj_id - 1) % len(PALETTE)])
        self._next_id = max(self._next_id, obj_id + 1)
        self.objects.append(obj)
        self.selected_id = obj.id
        self.emit(Event.OBJECTS, self.objects)
        self.emit(Event.SELECTION, obj.id)
        return obj

    def insert_object(self, obj: MattedObject, index: int) -> None:
        """Put a removed object back where it was (undo of a removal)."""
        self.objects.insert(max(0, min(index, len(self.objects))), obj)
        self._next_id = max(self._next_id, obj.id + 1)
        self.selected_id = obj.id
        self.emit(Event.OBJECTS, self.objects)
        self.emit(Event.SELECTION, obj.id)
        self.emit(Event.KEYFRAMES, self.keyframes())

    def take_object(self, obj_id: int) -> Optional[Tuple[MattedObject, int]]:
        """Remove an object from the list; (object, index) to put it back, or None."""
        obj = self.object(obj_id)
        if obj is None:
            return None
        index = self.objects.index(obj)
        self.objects.remove(obj)
        if self.selected_id == obj_id:
            self.selected_id = self.objects[-1].id if self.objects else None
        self.emit(Event.OBJECTS, self.objects)
        self.emit(Event.SELECTION, self.selected_id)
        self.emit(Event.KEYFRAMES, self.keyframes())
        return obj, index

    def select(self, obj_id: Optional[int]) -> None:
        if obj_id != self.selected_id:
            self.selected_id = obj_id
            self.emit(Event.SELECTION, obj_id)
            self.emit(Event.KEYFRAMES, self.keyframes())

    def rename_object(self, obj_id: int, name: str) -> None:
        """A new name (it names the output files), as one undo step."""
        obj = self.object(obj_id)
        name = " ".join(str(name).split())
        if obj is None or not name:
            return
        problem = object_name_problem(name)  # the run's own check: names become file names
        if problem:
            self.error(f"object name {problem}")
            self.emit(Event.OBJECTS, self.objects)
            return
        if any(o.name == name and o.id != obj_id for o in self.objects):
            self.error(f"another object is already called '{name}'; object names name the output files, "
                       "so pick a different one")
            self.emit(Event.OBJECTS, self.objects)
            return
        self.edits.change_object(obj_id, "name", name)

    def set_colour(self, obj_id: int, colour: str) -> None:
        self.edits.change_object(obj_id, "colour", colour)

    def set_object_field(self, obj_id: int, field: str, value: str) -> None:
        """Apply a rename or recolour (from `edits`, which records it)."""
        obj = self.object(obj_id)
        if obj is None:
            return
        setattr(obj, field, value)
        self.emit(Event.OBJECTS, self.objects)
        if field == "colour":
            self.emit(Event.MASK, {"obj_id": obj_id, "frame": None, "rect": None})

    def set_visible(self, obj_id: int, visible: bool) -> None:
        obj = self.object(obj_id)
        if obj is not None and obj.visible != bool(visible):
            obj.visible = bool(visible)
            self.emit(Event.OBJECTS, self.objects)
            self.emit(Event.MASK, {"obj_id": obj_id, "frame": None, "rect": None})

    def remove_object(self, obj_id: int) -> None:
        """Remove an object and its masks as one undo step (Undo brings it back)."""
        self.edits.remove_object(obj_id)

    def target(self):
        """The object and frame an edit applies to; adds an object when there is none."""
        if self.plate is None or self.current_frame is None:
            return None, None
        obj = self.selected or (self.objects[0] if self.objects else None) or self.add_object()
        if self.selected_id != obj.id:
            self.select(obj.id)
        return obj, self.current_frame

    def correction_start(self, obj: MattedObject, frame: int):
        """The mask a new keyframe of `obj` starts from: its propagated alpha at `frame` thresholded
        at `correction_threshold`, else its nearest keyframe's mask, else None (empty)."""
        w, h = self.plate.width, self.plate.height
        if self.correction_from == "alpha":
            alphas = self.alphas.get(frame)
            alpha = alphas.get(obj.id) if alphas else None
            if alpha is not None:
                return self.masks.threshold(alpha, self.correction_threshold, w, h)
        if self.correction_from in ("alpha", "keyframe") and obj.masks:
            nearest = min(obj.masks, key=lambda f: (abs(f - frame), f))
            return self.masks.copy(obj.masks[nearest])
        return None

    def neighbour_keyframes(self, obj: MattedObject, frame: int) -> List[int]:
        """The keyframes of `obj` just before and after `frame` (for onion skin)."""
        before = [f for f in obj.masks if f < frame]
        after = [f for f in obj.masks if f > frame]
        return ([max(before)] if before else []) + ([min(after)] if after else [])

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

    # ------------------------------------------- the parts' verbs, for widgets and hosts
    def begin_stroke(self):
        return self.edits.begin_stroke()

    def end_stroke(self, obj_id, frame, snapshot, rect, label) -> None:
        self.edits.end_stroke(obj_id, frame, snapshot, rect, label)

    def set_mask(self, mask, label, obj_id=None, frame=None, sam_after=None, sam_before=None) -> None:
        self.edits.set_mask(mask, label, obj_id, frame, sam_after=sam_after, sam_before=sam_before)

    def clear_mask(self) -> None:
        self.edits.clear_mask()

    def import_mask(self, path: str) -> None:
        self.edits.import_mask(path)

    def undo(self) -> Optional[str]:
        return self.edits.undo()

    def redo(self) -> Optional[str]:
        return self.edits.redo()

    def undo_labels(self) -> Tuple[Optional[str], Optional[str]]:
        return self.edits.undo_labels()

    @property
    def dirty(self) -> bool:
        """Edits since the shot file was last written (ask before dropping them)."""
        return self.edits.dirty

    def sam_state(self, obj_id: Optional[int] = None, frame: Optional[int] = None) -> SamState:
        return self.sam.state(obj_id, frame)

    def sam_click(self, x: float, y: float, positive: bool = True) -> None:
        self.sam.click(x, y, positive)

    def sam_box(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.sam.box(x0, y0, x1, y1)

    def output_pattern(self) -> str:
        return self.runs.output_pattern()

    def default_shot_path(self) -> str:
        return self.runs.default_shot_path()

    def save_shot(self, shot_path: Optional[str] = None, then: Optional[Callable] = None) -> None:
        self.runs.save_shot(shot_path, then)

    def load_shot(self, shot_path: str) -> None:
        self.runs.load_shot(shot_path)

    def check_runnable(self) -> Optional[str]:
        return self.runs.check_runnable()

    def run(self) -> None:
        self.runs.run()

    def cancel(self) -> None:
        self.runs.cancel()

    @property
    def running(self) -> bool:
        return self.runs.running

    @property
    def last_progress(self) -> dict:
        return self.runs.last_progress

    @property
    def last_outputs(self) -> dict:
        return self.runs.last_outputs

    @property
    def previews(self):
        return self.runs.previews
