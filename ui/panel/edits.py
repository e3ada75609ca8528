"""Mask edits of the panel controller: strokes, whole-mask changes, clear, import, undo/redo.

A mixin of `PanelController` (no Qt): pixels go through the controller's injected `MaskOps`.
"""
from __future__ import annotations

import os
from typing import Optional, Tuple

from ui.panel.model import UNDO_DEPTH, Edit, Rect, SamState


class MaskEditsMixin:
    """Every change of a keyframe mask is one `Edit` on the undo stack."""

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
            edit = Edit(obj_id, frame, None, None, self.masks.copy(mask), label)
        else:
            edit = Edit(obj_id, frame, rect, self.masks.crop(snapshot, rect), self.masks.crop(mask, rect), label)
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
        edit = Edit(obj.id, frame, None, before, mask, label,
                     sam_before=sam_before if sam_before is not None else self._sam.get((obj.id, frame)),
                     sam_after=sam_after)
        self._apply(edit, forward=True)
        self._push(edit)

    def clear_mask(self) -> None:
        """Remove the selected object's mask at this frame (its keyframe goes too)."""
        obj = self.selected
        if obj is not None and self.current_frame in obj.masks:
            self.set_mask(None, "clear", obj.id, self.current_frame, sam_after=SamState())

    def _push(self, edit: Edit) -> None:
        self._undo.append(edit)
        del self._undo[:-UNDO_DEPTH]
        self._redo.clear()
        self._emit("undo", None)

    def _apply(self, edit: Edit, forward: bool) -> None:
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
        return self._replay(self._undo, self._redo, forward=False)

    def redo(self) -> Optional[str]:
        return self._replay(self._redo, self._undo, forward=True)

    def _replay(self, source: list, target: list, forward: bool) -> Optional[str]:
        """Move the newest edit of `source` to `target` and apply it (undone or redone)."""
        if not source:
            return None
        edit = source.pop()
        target.append(edit)
        self._apply(edit, forward=forward)
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
