"""Runs and shot files of the panel controller: save/load the shot (v1), run_shot, progress, cancel.

A mixin of `PanelController` (no Qt).
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import replace
from typing import Callable, Optional

from ui.panel import shotdoc
from ui.panel.model import PlateInfo


class RunsMixin:
    """Saving, loading and running the shot; progress and previews arrive as events."""

    # -------------------------------------------------------------------- run
    def output_pattern(self) -> str:
        if self.run_settings.output_path:
            return self.run_settings.output_path
        if self.plate is None:
            return ""
        ref = self.plate_ref  # the host's folder for this plate, when it names one
        if ref is not None and ref.output_dir and ref.path == self.plate.path:
            return os.path.join(ref.output_dir, "matte", shotdoc.plate_stem(self.plate.path) + "_{object}.####.exr")
        return shotdoc.default_output_pattern(self.plate.path)

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
