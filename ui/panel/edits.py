"""Mask edits of the panel: strokes, whole-mask changes, clear, import, object removal, undo/redo.

A part of `PanelController` (no Qt) that owns the undo and redo stacks; pixels go through the
controller's injected `MaskOps`, clicks through its `sam` part.
"""
from __future__ import annotations

import os
from typing import Optional, Tuple, Union

from ui.panel.events import Event
from ui.panel.model import UNDO_DEPTH, Edit, ObjectChange, ObjectRemoval, Rect, SamState

Step = Union[Edit, ObjectRemoval, ObjectChange]


class MaskEdits:
    """Every change of a keyframe mask, and every object removal, is one step on the undo stack."""

    def __init__(self, shell):
        self.shell = shell
        self._undo: list = []
        self._redo: list = []
        self._saved: Optional[Step] = None   # the undo top when the shot was last saved
        self._saved_depth = 0

    def reset(self) -> None:
        self._undo.clear()
        self._redo.clear()
        self.mark_saved()

    def checkpoint(self) -> Tuple[Optional[Step], int]:
        """Where the undo stack stands now (what a shot file being written holds)."""
        return (self._undo[-1] if self._undo else None), len(self._undo)

    def mark_saved(self, checkpoint: Optional[Tuple[Optional[Step], int]] = None) -> None:
        self._saved, self._saved_depth = checkpoint or self.checkpoint()
        self.shell.emit(Event.DIRTY, self.dirty)

    @property
    def dirty(self) -> bool:
        top = self._undo[-1] if self._undo else None
        return top is not self._saved or len(self._undo) != self._saved_depth

    def begin_stroke(self):
        """The mask a brush stroke paints on (made blank when the frame has no keyframe yet).

        Returns (obj_id, frame, mask, snapshot) or None; pass them back to `end_stroke`.
        """
        obj, frame = self.shell.target()
        if obj is None:
            return None
        mask = obj.masks.get(frame)
        created = mask is None
        if created:  # a correction starts from what the artist saw there, not from nothing
            mask = self.shell.correction_start(obj, frame)
            if mask is None:
                mask = self.shell.masks.new(self.shell.plate.width, self.shell.plate.height)
            obj.masks[frame] = mask
            self.shell.emit(Event.KEYFRAMES, self.shell.keyframes())
            self.shell.emit(Event.MASK, {"obj_id": obj.id, "frame": frame, "rect": None})
        return obj.id, frame, mask, (None if created else self.shell.masks.copy(mask))

    def end_stroke(self, obj_id: int, frame: int, snapshot, rect: Optional[Rect], label: str) -> None:
        """Record a finished stroke as one undo step (rect: what it touched)."""
        obj = self.shell.object(obj_id)
        mask = obj.masks.get(frame) if obj else None
        if mask is None:
            return
        if rect is None or rect[2] <= 0 or rect[3] <= 0:
            if snapshot is None:  # a click-less stroke on a new keyframe: no keyframe after all
                del obj.masks[frame]
                self.shell.emit(Event.KEYFRAMES, self.shell.keyframes())
            return
        if snapshot is None:
            edit = Edit(obj_id, frame, None, None, self.shell.masks.copy(mask), label)
        else:
            edit = Edit(obj_id, frame, rect, self.shell.masks.crop(snapshot, rect), self.shell.masks.crop(mask, rect), label)
        self._push(edit)
        self.shell.emit(Event.MASK, {"obj_id": obj_id, "frame": frame, "rect": rect})

    def set_mask(self, mask, label: str, obj_id: Optional[int] = None, frame: Optional[int] = None,
                 sam_after: Optional[SamState] = None, sam_before: Optional[SamState] = None) -> None:
        """Replace a whole mask (SAM result, import, clear) as one undo step; mask None removes the keyframe."""
        if obj_id is None or frame is None:
            obj, frame = self.shell.target()
        else:
            obj = self.shell.object(obj_id)
        if obj is None:
            return
        before = obj.masks.get(frame)
        if mask is None and before is None:
            return
        edit = Edit(obj.id, frame, None, before, mask, label,
                     sam_before=sam_before if sam_before is not None else self.shell.sam.get(obj.id, frame),
                     sam_after=sam_after)
        self._apply(edit, forward=True)
        self._push(edit)

    def clear_mask(self) -> None:
        """Remove the selected object's mask at this frame (its keyframe goes too)."""
        obj = self.shell.selected
        if obj is not None and self.shell.current_frame in obj.masks:
            self.set_mask(None, "clear", obj.id, self.shell.current_frame, sam_after=SamState())

    def _push(self, edit: Edit) -> None:
        self._undo.append(edit)
        del self._undo[:-UNDO_DEPTH]
        self._redo.clear()
        self.shell.emit(Event.UNDO, None)
        self.shell.emit(Event.DIRTY, self.dirty)

    def remove_object(self, obj_id: int) -> None:
        """Remove an object with its masks and clicks as one undo step."""
        taken = self.shell.take_object(obj_id)
        if taken is None:
            return
        obj, index = taken
        self._push(ObjectRemoval(obj, index, self.shell.sam.take_object(obj_id)))

    def change_object(self, obj_id: int, field: str, value: str) -> None:
        """Rename or recolour an object as one undo step."""
        obj = self.shell.object(obj_id)
        if obj is None or getattr(obj, field) == value:
            return
        change = ObjectChange(obj_id, field, getattr(obj, field), value)
        self._apply(change, forward=True)
        self._push(change)

    def _apply(self, edit: Step, forward: bool) -> None:
        if isinstance(edit, ObjectChange):
            self.shell.set_object_field(edit.obj_id, edit.field, edit.after if forward else edit.before)
            return
        if isinstance(edit, ObjectRemoval):
            if forward:
                self.shell.take_object(edit.obj.id)
                self.shell.sam.take_object(edit.obj.id)
            else:
                self.shell.insert_object(edit.obj, edit.index)
                self.shell.sam.give_object(edit.obj.id, edit.sam)
            return
        obj = self.shell.object(edit.obj_id)
        if obj is None:
            return
        value = edit.after if forward else edit.before
        if edit.rect is None:
            if value is None:
                obj.masks.pop(edit.frame, None)
            else:
                obj.masks[edit.frame] = self.shell.masks.copy(value)
        else:
            mask = obj.masks.get(edit.frame)
            if mask is None:
                mask = obj.masks[edit.frame] = self.shell.masks.new(self.shell.plate.width, self.shell.plate.height)
            self.shell.masks.paste(mask, edit.rect, value)
        sam = edit.sam_after if forward else edit.sam_before
        if sam is not None or edit.sam_after is not None or edit.sam_before is not None:
            self.shell.sam.put(edit.obj_id, edit.frame, sam or SamState())
        self.shell.emit(Event.KEYFRAMES, self.shell.keyframes())
        self.shell.emit(Event.MASK, {"obj_id": edit.obj_id, "frame": edit.frame, "rect": edit.rect})
        if self.shell.current_frame != edit.frame:
            self.shell.set_frame(edit.frame)

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
        self.shell.emit(Event.UNDO, None)
        self.shell.emit(Event.DIRTY, self.dirty)
        return edit.label

    def undo_labels(self) -> Tuple[Optional[str], Optional[str]]:
        return (self._undo[-1].label if self._undo else None, self._redo[-1].label if self._redo else None)

    def import_mask(self, path: str) -> None:
        """A mask from a file (PNG/TIFF via Qt; EXR alpha through the worker) on this keyframe."""
        obj, frame = self.shell.target()
        if obj is None:
            self.shell.error("open a plate before importing a mask")
            return
        width, height = self.shell.plate.width, self.shell.plate.height
        obj_id = obj.id

        def loaded(mask):
            self.set_mask(mask, "import mask", obj_id, frame, sam_after=SamState())

        def load_local(file_path):
            def work():
                try:
                    mask = self.shell.masks.load(file_path, width, height)
                except Exception as err:  # noqa: BLE001
                    self.shell.post(lambda e=err: self.shell.error_from(e, f"importing {file_path}"))
                    return
                self.shell.post(lambda: loaded(mask))
            self.shell.submit(work)

        if path.lower().endswith((".exr", ".dpx", ".tif", ".tiff")) and not self.shell.masks.can_read(path):
            def no_reader(err):
                if "unknown method" in str(err):
                    self.shell.error(f"{os.path.basename(path)}: this worker cannot read EXR/DPX/TIFF masks yet; "
                               "save the mask as a PNG (alpha or grey) at plate resolution and import that",
                               str(err))
                else:
                    self.shell.error_from(err, f"importing {path}")
            self.shell.call("read_mask", {"path": path, "width": width, "height": height},
                       lambda result: load_local(result["mask_path"]), no_reader)
        else:
            load_local(path)
