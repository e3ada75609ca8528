"""Runs and shot files of the panel: save/load the shot (v1), run_shot, progress, cancel (no Qt).

Shots are built, checked, saved and loaded through `plugin.shot`, the run's own schema: same
defaults, same checks (names, ranges, the output pattern), one line on failure."""
from __future__ import annotations

import os
import time
from typing import Callable, Dict, Optional

from plugin import shot as shotfile
from plugin.errors import ShotFileError
from ui.panel.events import Event
from ui.panel.framecache import PreviewCache
from ui.panel.model import PlateInfo


PASS_NAMES = {"forward": "Forward pass", "backward": "Backward pass"}


class Runs:
    """A part of `PanelController` that owns the run: saving the shot, run_shot, progress, cancel.

    Progress counts frames of the plate (`done_frames`: frame -> the pass that last matted it),
    so a two-way run reads "12/24 frames" and the timeline fills from the keyframe outwards.
    """

    def __init__(self, shell):
        self.shell = shell
        self.running = False
        self.cancel_requested = False
        self.last_outputs: Dict[str, str] = {}
        self.last_progress: dict = {}
        self.done_frames: Dict[int, str] = {}
        self.previews = PreviewCache()
        self._started = 0.0

    def reset(self) -> None:
        self.previews.clear()
        self.last_outputs = {}
        self.done_frames = {}

    def worker_died(self) -> None:
        if self.running:
            self.running = False
            self.shell.emit(Event.RUN_STATE, "failed")

    # -------------------------------------------------------------------- run
    def output_pattern(self) -> str:
        shell = self.shell
        if shell.run_settings.output_path:
            return shell.run_settings.output_path
        if shell.plate is None:
            return ""
        ref = shell.plate_ref  # the host's folder for this plate, when it names one
        if ref is not None and ref.output_dir and ref.path == shell.plate.path:
            return os.path.join(ref.output_dir, "matte", shotfile.plate_stem(shell.plate.path) + "_{object}.####.exr")
        return shotfile.default_output_pattern(shell.plate.path)

    def default_shot_path(self) -> str:
        return shotfile.default_shot_path(self.shell.plate.path, self.output_pattern())

    def to_shot(self, shot_path: str, masks_folder: str = "masks") -> shotfile.Shot:
        """The shot being edited, checked as the run checks it (ShotFileError, one line); mask
        paths are where `save_shot` writes them."""
        mask_dir = os.path.join(os.path.dirname(os.path.abspath(shot_path)), masks_folder)
        stem = shotfile.plate_stem(self.shell.plate.path)
        objects = tuple(shotfile.ShotObject(o.id, o.name, {f: os.path.join(mask_dir, f"{stem}_{_safe(o.name)}.{f}.png")
                                                           for f in sorted(o.masks)}, _colour_floats(o.colour))
                        for o in self.shell.objects if o.masks)
        p, run = self.shell.plate, self.shell.run_settings
        plate = shotfile.PlateSpec(path=p.path, first=p.first, last=p.last, colourspace=p.colourspace,
                                   ocio_config=p.ocio_config, frame_offset=p.frame_offset)
        shot = shotfile.Shot(plate=plate, objects=objects, output=run.output(self.output_pattern()),
                             engine=run.engine(), display=self.shell.display, view=self.shell.view,
                             dilate=run.dilate, erode=run.erode, direction=run.direction)
        return shot.checked(shot_path)

    def autosave_path(self) -> str:
        """Beside the outputs, next to where Save puts the shot: `<plate>.matanyone.autosave.json`."""
        return self.default_shot_path()[:-len(".json")] + ".autosave.json"

    def autosave(self) -> None:
        """Save unsaved edits to the autosave shot (its masks in `autosave_masks/`, so the saved
        shot's own masks are never overwritten); the shot stays unsaved until the artist saves."""
        if self.shell.plate is not None and self.shell.dirty and not self.running:
            self.save_shot(self.autosave_path(), autosave=True)

    def save_shot(self, shot_path: Optional[str] = None, then: Optional[Callable] = None,
                  autosave: bool = False) -> None:
        """Write masks (PNG) and the shot file off the UI thread; `then(shot_path)` on the UI thread."""
        if self.shell.plate is None:
            self.shell.error("open a plate before saving a shot")
            return
        shot_path = os.path.abspath(shot_path or self.shell.shot_path or self.default_shot_path())
        if autosave and not any(o.masks for o in self.shell.objects):
            return  # nothing a shot file could hold yet
        try:
            shot = self.to_shot(shot_path, "autosave_masks" if autosave else "masks")
        except ShotFileError as err:
            self.shell.error(str(err))
            return
        token = self.shell.edits.checkpoint()
        jobs = [(self.shell.masks.copy(o.masks[f]), shot_obj.keyframes[f])
                for o, shot_obj in zip([o for o in self.shell.objects if o.masks], shot.objects) for f in o.masks]

        def work():
            try:
                for mask, path in jobs:
                    self.shell.masks.save(mask, path)
                shot.save(shot_path)
            except Exception as err:  # noqa: BLE001
                self.shell.post(lambda e=err: self.shell.error_from(e, f"saving {shot_path}"))
                return

            def saved():
                if autosave:
                    self.shell.emit(Event.STATUS, f"Autosaved to {shot_path}")
                    return
                self.shell.shot_path = shot_path
                self.shell.edits.mark_saved(token)
                self.shell.emit(Event.SHOT_SAVED, shot_path)
                if then is not None:
                    then(shot_path)
            self.shell.post(saved)
        self.shell.submit(work)

    def load_shot(self, shot_path: str) -> None:
        """Open a shot file: its plate, objects, keyframe masks and settings."""
        try:
            doc = shotfile.Shot.load(shot_path)
        except ShotFileError as err:
            self.shell.error(str(err))
            return

        def opened():
            self.shell.shot_path = os.path.abspath(shot_path)
            self.shell.run_settings = shotfile.RunSettings.from_shot(doc)
            self.shell.display, self.shell.view = doc.display or self.shell.display, doc.view or self.shell.view
            width, height = self.shell.plate.width, self.shell.plate.height
            for item in doc.objects:
                self.shell.add_object(item.name, obj_id=item.id, colour=_colour_hex(item.colour))
            self.shell.select(self.shell.objects[0].id if self.shell.objects else None)
            self.shell.emit(Event.RUN_SETTINGS, self.shell.run_settings)

            def work():
                loaded = []
                try:
                    for item in doc.objects:
                        for frame, path in item.keyframes.items():
                            loaded.append((item.id, frame, self.shell.masks.load(path, width, height)))
                except Exception as err:  # noqa: BLE001
                    self.shell.post(lambda e=err: self.shell.error_from(e, f"loading masks of {shot_path}"))
                    return

                def put():
                    for obj_id, frame, mask in loaded:
                        obj = self.shell.object(obj_id)
                        if obj is not None:
                            obj.masks[frame] = mask
                    self.shell.emit(Event.KEYFRAMES, self.shell.keyframes())
                    self.shell.emit(Event.MASK, {"obj_id": None, "frame": None, "rect": None})
                    self.shell.edits.mark_saved()
                    self.shell.alphas.refresh()
                    self.shell.emit(Event.SHOT_LOADED, self.shell.shot_path)
                self.shell.post(put)
            self.shell.submit(work)
        p = doc.plate
        self.shell.open_plate(p.path, colourspace=p.colourspace, first=p.first, last=p.last,
                              frame_offset=p.frame_offset, ocio_config=p.ocio_config, on_opened=opened)

    def check_runnable(self) -> Optional[str]:
        """One sentence saying why Run cannot start, or None."""
        if self.shell.plate is None:
            return "open a plate first (File > Open Plate, or drop one on the panel)"
        if self.running:
            return "a run is already going; cancel it first"
        missing = self.shell.models.why_matting_missing()
        if missing:
            return missing
        if not any(o.masks for o in self.shell.objects):
            return "paint or click a mask for at least one object on a keyframe before running"
        for obj in self.shell.objects:
            for frame, mask in sorted(obj.masks.items()):
                if self.shell.masks.is_empty(mask):
                    return (f"object '{obj.name}' has an empty mask on frame {frame}; paint it or clear "
                            "that keyframe (Clear)")
        return None

    def run(self) -> None:
        """Save the shot and start the worker on it; progress and previews arrive as events."""
        problem = self.check_runnable()
        if problem:
            self.shell.error(problem)
            return
        self.running, self.cancel_requested = True, False
        self.previews.clear()
        self.last_outputs = {}
        self.done_frames = {}
        self.last_progress = {"done": 0, "total": self.plate_total(), "plate_done": 0,
                              "plate_total": self.plate_total()}
        self.shell.alphas.clear()  # every alpha file may be rewritten
        self.shell.emit(Event.RUN_STATE, "saving")

        def start(shot_path):
            if self.cancel_requested:
                self.finish("cancelled", {})
                return
            params = {"shot_path": shot_path}
            if self.shell.run_range is not None:
                params["frames"] = list(self.shell.run_range)
            self.shell.emit(Event.RUN_STATE, "running")
            self._started = time.monotonic()
            self.shell.call("run_shot", params, lambda result: self.finish("finished", result), self._run_failed)
        self.save_shot(then=start)

    def cancel(self) -> None:
        if not self.running:
            return
        self.cancel_requested = True
        self.shell.emit(Event.RUN_STATE, "cancelling")
        self.shell.cancel_worker_job()

    def _run_failed(self, err) -> None:
        if self.cancel_requested:
            self.finish("cancelled", {})
        else:
            self.running = False
            self.shell.emit(Event.RUN_STATE, "failed")
            self.shell.error_from(err, "the run")

    def finish(self, state: str, result: dict) -> None:
        self.running = False
        result = result or {}
        if result.get("status") == "cancelled":
            state = "cancelled"
        self.last_outputs = dict(result.get("outputs") or {})
        if result.get("frames_written") is not None:
            self.last_progress["written"] = int(result["frames_written"])
        self.last_progress["plate_done"] = len(self.done_frames)
        self.shell.alphas.refresh()
        if state == "cancelled":
            self.shell.emit(Event.STATUS, "Cancelled: whole frames written so far are kept; Run again resumes.")
        self.shell.emit(Event.RUN_STATE, state)
        if state == "finished":
            note = "already up to date: " if result.get("status") == "up-to-date" else "Finished: "
            self.shell.emit(Event.STATUS, note + ", ".join(f"{k} -> {v}" for k, v in self.last_outputs.items()))
            if self.shell.host is not None and self.last_outputs:
                self.bring_back(self.shell.plate_ref or _plate_ref_for(self.shell.plate))

    def bring_back(self, ref) -> None:
        """Hand the outputs to the host; movie mattes it asks for (`matte_movies`) are made by
        the worker first, never on this thread."""
        host, shot_path, outputs = self.shell.host, self.shell.shot_path, dict(self.last_outputs)

        def attach(paths) -> None:
            try:
                host.bring_back(paths, ref, shot_path)
            except Exception as err:  # noqa: BLE001 - the host's one line goes to the panel
                self.shell.error_from(err, "bringing the alpha back into the host")

        try:
            wanted = dict(host.matte_movies(outputs, ref, shot_path)) if hasattr(host, "matte_movies") else {}
        except Exception as err:  # noqa: BLE001 - the host's one line goes to the panel
            self.shell.error_from(err, "bringing the alpha back into the host")
            return
        if not wanted:
            attach(outputs)
            return
        made: Dict[str, str] = {}
        self.shell.emit(Event.STATUS, "Writing the movie matte of " + ", ".join(wanted) + " ...")
        for obj, request in wanted.items():
            def done(result, obj=obj) -> None:
                made[obj] = result["path"]
                if len(made) == len(wanted):
                    attach(made)
            self.shell.call(request.method, request.to_json(), done,
                            lambda err, obj=obj: self.shell.error_from(err, f"writing the movie matte of {obj}"))

    def on_progress(self, params: dict) -> None:
        """A frame of a pass is done: count it as a plate frame, name the pass."""
        if not self.running:
            return
        info = dict(params)
        phase = str(info.get("phase") or "forward")
        if info.get("frame") is not None:
            self.done_frames[int(info["frame"])] = phase
        info["phase"] = phase
        info["pass_name"] = PASS_NAMES.get(phase, phase.capitalize() + " pass")
        info["plate_done"] = len(self.done_frames)
        info["plate_total"] = self.plate_total()
        self.last_progress = info
        self.shell.emit(Event.PROGRESS, self.last_progress)
        path = params.get("preview_path")
        if path and params.get("frame") is not None:
            frame = int(params["frame"])

            def work():
                try:
                    image = self.shell.load_image(path, 0, 0, "preview")
                except Exception:  # noqa: BLE001 - a missed preview is not worth an error
                    return
                self.shell.post(lambda: self._preview_ready(frame, image))
            self.shell.submit(work)

    def plate_total(self) -> int:
        """Frames of the plate this run covers (the in/out range when set)."""
        plate = self.shell.plate
        if plate is None:
            return len(self.done_frames)
        lo, hi = self.shell.run_range or (plate.first, plate.last)
        return sum(1 for f in plate.frames if lo <= f <= hi)

    def on_frame_done(self, params: dict) -> None:
        """The worker wrote a frame's alphas: what the viewer showed of it is stale."""
        if params.get("frame") is not None:
            self.shell.alphas.forget(int(params["frame"]))

    def _preview_ready(self, frame: int, image) -> None:
        self.previews.put(frame, image)
        self.shell.emit(Event.PREVIEW, {"frame": frame, "image": image})


def _colour_floats(colour: Optional[str]):
    """'#rrggbb' (the panel's) -> (r, g, b) in 0-1 (the shot file's)."""
    if not colour:
        return None
    hexa = colour.lstrip("#")
    return tuple(round(int(hexa[i:i + 2], 16) / 255.0, 4) for i in (0, 2, 4))


def _colour_hex(colour) -> Optional[str]:
    if colour is None:
        return None
    return "#" + "".join("%02x" % max(0, min(255, int(round(float(c) * 255)))) for c in colour)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "object"


def _plate_ref_for(plate: PlateInfo):
    from ui.host import PlateRef
    return PlateRef(path=plate.path, first=plate.first, last=plate.last, colourspace=plate.colourspace,
                    ocio_config=plate.ocio_config, frame_offset=plate.frame_offset)
