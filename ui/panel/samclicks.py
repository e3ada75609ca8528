"""SAM clicks of the panel: points and boxes in plate pixels -> worker sam_embed/sam_mask.

A part of `PanelController` (no Qt) that owns the clicks of each object and keyframe, the
worker's embedding handles and which request is the latest; each answered click is one undo
step (through the controller's `edits` part).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Dict, Optional, Tuple

from ui.panel.events import Event
from ui.panel.model import SamState

HANDLES_KEPT = 4  # embedded frames the worker may still hold: re-clicking them skips sam_embed


class SamClicks:
    """Clicks accumulate per object and keyframe; the latest answer wins."""

    def __init__(self, shell):
        self.shell = shell
        self._clicks: Dict[Tuple[int, int], SamState] = {}
        self._handles: Dict[int, str] = {}   # frame -> worker embedding handle
        self.latest = 0                      # sequence number of the newest request

    def reset(self) -> None:
        self._clicks.clear()
        self._handles.clear()

    def forget_embeddings(self) -> None:
        """The plate's colours changed: the worker's embeddings no longer match (clicks stay)."""
        self._handles.clear()

    def worker_died(self) -> None:
        self._handles.clear()
        self.shell.emit(Event.SAM_BUSY, False)

    # --------------------------------------------------------------- clicks
    def get(self, obj_id: int, frame: int) -> Optional[SamState]:
        return self._clicks.get((obj_id, frame))

    def put(self, obj_id: int, frame: int, state: SamState) -> None:
        self._clicks[(obj_id, frame)] = state

    def take_object(self, obj_id: int) -> Dict[int, SamState]:
        """Forget an object's clicks; {frame: clicks} to give back on undo."""
        taken = {f: s for (o, f), s in self._clicks.items() if o == obj_id}
        for frame in taken:
            del self._clicks[(obj_id, frame)]
        return taken

    def give_object(self, obj_id: int, clicks: Dict[int, SamState]) -> None:
        for frame, state in clicks.items():
            self._clicks[(obj_id, frame)] = state

    def state(self, obj_id: Optional[int] = None, frame: Optional[int] = None) -> SamState:
        obj_id = self.shell.selected_id if obj_id is None else obj_id
        frame = self.shell.current_frame if frame is None else frame
        return self._clicks.get((obj_id, frame), SamState())

    def click(self, x: float, y: float, positive: bool = True) -> None:
        """A click in plate pixels: left adds, right/alt subtracts."""
        obj, frame = self.shell.target()
        if obj is None:
            return
        state = self.state(obj.id, frame)
        point = ((round(float(x), 2), round(float(y), 2)),)
        if positive:
            new = replace(state, points_pos=state.points_pos + point)
        else:
            new = replace(state, points_neg=state.points_neg + point)
        _SamRequest(self, obj.id, frame, state, new, "add click" if positive else "subtract click").start()

    def box(self, x0: float, y0: float, x1: float, y1: float) -> None:
        obj, frame = self.shell.target()
        if obj is None:
            return
        state = self.state(obj.id, frame)
        box = (round(min(x0, x1), 2), round(min(y0, y1), 2), round(max(x0, x1), 2), round(max(y0, y1), 2))
        _SamRequest(self, obj.id, frame, state, replace(state, box=box), "box").start()

    def handle(self, frame: int) -> Optional[str]:
        return self._handles.get(frame)

    def keep_handle(self, frame: int, handle: str) -> None:
        self._handles[frame] = handle
        while len(self._handles) > HANDLES_KEPT:
            self._handles.pop(next(iter(self._handles)))


class _SamRequest:
    """One click's way through the worker: embed the frame (once), ask the mask, load it, apply it."""

    def __init__(self, clicks: SamClicks, obj_id: int, frame: int, before: SamState, after: SamState, label: str):
        self.clicks, self.shell = clicks, clicks.shell
        self.obj_id, self.frame, self.before, self.after, self.label = obj_id, frame, before, after, label
        clicks.latest += 1
        self.seq = clicks.latest

    def _superseded(self) -> bool:
        return self.seq != self.clicks.latest  # a later click is on its way; its answer includes this one

    def start(self) -> None:
        self.clicks.put(self.obj_id, self.frame, self.after)  # the next click builds on this one at once
        self.shell.emit(Event.SAM_BUSY, True)
        handle = self.clicks.handle(self.frame)
        if handle is not None:
            self._ask(handle)
            return
        self.shell.emit(Event.STATUS, f"Preparing SAM for frame {self.frame}…")
        params = {"frame": self.frame, "display": self.shell.display, "view": self.shell.view}
        if self.shell.sam_model:
            params["model"] = self.shell.sam_model
        self.shell.call("sam_embed", params, self._embedded, self._failed)

    def _embedded(self, result) -> None:
        self.clicks.keep_handle(self.frame, result["handle"])
        self._ask(result["handle"])

    def _ask(self, handle: str) -> None:
        params = {"handle": handle, "points_pos": [list(p) for p in self.after.points_pos],
                  "points_neg": [list(p) for p in self.after.points_neg]}
        if self.after.box is not None:
            params["box"] = list(self.after.box)
        self.shell.call("sam_mask", params, self._got_mask, self._failed)

    def _got_mask(self, result) -> None:
        if self._superseded():
            return
        plate = self.shell.plate

        def load():
            try:
                mask = self.shell.masks.load(result["mask_path"], plate.width, plate.height)
            except Exception as err:  # noqa: BLE001
                self.shell.post(lambda e=err: self._failed(e))
                return
            self.shell.post(lambda: self._done(mask))
        self.shell.submit(load)

    def _done(self, mask) -> None:
        if self._superseded():
            return
        self.shell.emit(Event.SAM_BUSY, False)
        self.shell.emit(Event.STATUS, "")
        self.shell.edits.set_mask(mask, self.label, self.obj_id, self.frame,
                                  sam_after=self.after, sam_before=self.before)

    def _failed(self, err) -> None:
        if self.clicks.get(self.obj_id, self.frame) is self.after:
            self.clicks.put(self.obj_id, self.frame, self.before)
        self.shell.emit(Event.SAM_BUSY, False)
        self.shell.emit(Event.STATUS, "")
        self.shell.error_from(err, "SAM")
