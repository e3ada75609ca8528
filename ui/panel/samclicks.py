"""SAM clicks of the panel controller: points and boxes in plate pixels -> worker sam_embed/sam_mask.

A mixin of `PanelController` (no Qt); each answered click is one undo step.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

from ui.panel.model import SamState


class SamClicksMixin:
    """Clicks accumulate per object and keyframe; the latest answer wins."""

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
