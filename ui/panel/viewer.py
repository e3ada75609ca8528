"""The viewer: the plate frame, mask overlays, SAM clicks and alpha previews, with fit/zoom/pan.

It renders and forwards: mouse input becomes plate-pixel coordinates handed to the
controller (SAM) or to a `Stroke` on the controller's mask (brush, eraser, fill hole).
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

from ui.qt import QtCore, QtGui, QtWidgets

from ui.panel import maskimage
from ui.panel.masktools import HoleError, Stroke, fill_hole

PREVIEW_MODES = ("masks", "overlay", "alpha", "checker")
ZOOM_MIN, ZOOM_MAX = 1.0 / 32.0, 32.0


class Viewer(QtWidgets.QWidget):
    """Shows one frame of the plate at plate resolution, whatever the zoom."""

    zoomChanged = QtCore.Signal(float)
    hovered = QtCore.Signal(object)     # (x, y) in plate pixels or None
    brushResized = QtCore.Signal(float)  # radius in plate pixels, from a Shift-/Ctrl-drag

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.setMouseTracking(True)
        self.setFocusPolicy(QtCore.Qt.StrongFocus)
        self.setMinimumSize(200, 150)
        self.setAcceptDrops(False)
        self.setSizePolicy(QtWidgets.QSizePolicy.Expanding, QtWidgets.QSizePolicy.Expanding)
        self.image: Optional[QtGui.QImage] = None
        self.image_frame: Optional[int] = None
        self.plate_size: Optional[Tuple[int, int]] = None
        self.scale = 1.0
        self.offset = QtCore.QPointF(0.0, 0.0)
        self._fitted = True
        self.tool = "brush"
        self.brush_radius = 24.0
        self.hardness = 0.8
        self.opacity = 0.5
        self.preview_mode = "masks"
        self.placeholder = "Open a plate: File > Open Plate, drop a file here, or 'Use selected' in a host."
        self._overlays: Dict[int, Tuple[int, QtGui.QImage]] = {}
        self._preview_layer = None   # (key, tinted preview) for the overlay view
        self._matte_cache = None     # (key, grey matte, tinted layers) of the frame shown
        self._outlines: Dict[Tuple[int, int, float], Tuple[tuple, QtGui.QImage]] = {}
        self._mask_version: Dict[Tuple[int, int], int] = {}  # bumped by each edit: outlines rebuild
        self._stroke = None          # (Stroke, obj_id, frame, snapshot, label)
        self._pan_from = None
        self._press = None           # (widget pos, plate pos, button, modifiers) for SAM click/box
        self._box_to = None
        self._cursor = None
        self._resize_from = None     # (widget x, radius) while a Shift-/Ctrl-drag resizes the brush
        self.channel = "rgb"         # R/G/B show one channel of the plate as grey (Nuke's viewer keys)
        self._channel_image = None   # (image cacheKey, channel, grey image)
        self._checker = maskimage.checkerboard()

    # ---------------------------------------------------------- coordinates
    def to_plate(self, pos) -> QtCore.QPointF:
        """Widget pixels -> plate pixels (x right, y down, full plate resolution)."""
        return QtCore.QPointF((pos.x() - self.offset.x()) / self.scale, (pos.y() - self.offset.y()) / self.scale)

    def to_widget(self, x: float, y: float) -> QtCore.QPointF:
        return QtCore.QPointF(x * self.scale + self.offset.x(), y * self.scale + self.offset.y())

    def plate_rect(self) -> QtCore.QRectF:
        w, h = self.plate_size or (0, 0)
        return QtCore.QRectF(self.offset.x(), self.offset.y(), w * self.scale, h * self.scale)

    def fit(self) -> None:
        """F: the whole plate in the viewer."""
        self._fitted = True
        if not self.plate_size:
            return
        w, h = self.plate_size
        margin = 16
        scale = min((self.width() - margin) / float(w), (self.height() - margin) / float(h))
        self.scale = max(ZOOM_MIN, min(ZOOM_MAX, scale))
        self.offset = QtCore.QPointF((self.width() - w * self.scale) / 2.0, (self.height() - h * self.scale) / 2.0)
        self.zoomChanged.emit(self.scale)
        self.update()

    def zoom_at(self, factor: float, pos: Optional[QtCore.QPointF] = None) -> None:
        """Zoom keeping the plate pixel under `pos` (default: the centre) where it is."""
        pos = QtCore.QPointF(pos) if pos is not None else QtCore.QPointF(self.width() / 2.0, self.height() / 2.0)
        anchor = self.to_plate(pos)
        self.scale = max(ZOOM_MIN, min(ZOOM_MAX, self.scale * factor))
        self.offset = QtCore.QPointF(pos.x() - anchor.x() * self.scale, pos.y() - anchor.y() * self.scale)
        self._fitted = False
        self.zoomChanged.emit(self.scale)
        self.update()

    def set_zoom(self, scale: float) -> None:
        self.zoom_at(scale / self.scale)

    def pan(self, dx: float, dy: float) -> None:
        self.offset = QtCore.QPointF(self.offset.x() + dx, self.offset.y() + dy)
        self._fitted = False
        self.update()

    # ---------------------------------------------------------------- state
    def set_plate(self, width: int, height: int) -> None:
        self.plate_size = (int(width), int(height))
        self.image = None
        self._overlays.clear()
        self.fit()

    def set_image(self, frame: int, image: QtGui.QImage) -> None:
        self.image, self.image_frame = image, frame
        self.update()

    def invalidate(self, obj_id: Optional[int] = None, rect: Optional[Tuple[int, int, int, int]] = None) -> None:
        """A mask changed: rebuild its overlay (only `rect` of it when given) and its outline."""
        frame = self.controller.current_frame
        self._mask_version[(obj_id, frame)] = self._mask_version.get((obj_id, frame), 0) + 1
        if obj_id is None:
            self._overlays.clear()
            self._outlines.clear()
        elif rect is not None and obj_id in self._overlays:
            self._patch_overlay(obj_id, QtCore.QRect(*rect))
        else:
            self._overlays.pop(obj_id, None)
        self.update()

    def set_opacity(self, value: float) -> None:
        self.opacity = float(value)
        self._overlays.clear()
        self.update()

    def toggle_channel(self, channel: str) -> None:
        """R/G/B: show that channel of the plate; the same key again goes back to RGB."""
        self.channel = "rgb" if self.channel == channel else channel
        self.update()

    def shown_image(self) -> Optional[QtGui.QImage]:
        """The plate image as drawn: RGB, or one channel as grey."""
        if self.image is None or self.channel == "rgb":
            return self.image
        key = (self.image.cacheKey(), self.channel)
        if self._channel_image is None or self._channel_image[0] != key:
            rgb32 = self.image.convertToFormat(QtGui.QImage.Format_RGB32)
            data = maskimage.tight_bytes_rgb32(rgb32)
            offset = {"b": 0, "g": 1, "r": 2}[self.channel]  # RGB32 is B, G, R, X in memory (little-endian)
            grey = maskimage.from_bytes(data[offset::4], rgb32.width(), rgb32.height())
            self._channel_image = (key, grey)
        return self._channel_image[1]

    def set_preview_mode(self, mode: str) -> None:
        self.preview_mode = mode if mode in PREVIEW_MODES else "masks"
        self.update()

    def resizeEvent(self, event):  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if self._fitted:
            self.fit()

    # -------------------------------------------------------------- drawing
    def _overlay(self, obj) -> Optional[QtGui.QImage]:
        frame = self.controller.current_frame
        mask = obj.masks.get(frame)
        if mask is None:
            return None
        cached = self._overlays.get(obj.id)
        if cached is None or cached[0] != frame:
            cached = (frame, maskimage.overlay(mask, QtGui.QColor(obj.colour), self.opacity))
            self._overlays[obj.id] = cached
        return cached[1]

    def _patch_overlay(self, obj_id: int, rect: QtCore.QRect) -> None:
        obj = self.controller.object(obj_id)
        cached = self._overlays.get(obj_id)
        if obj is None or cached is None or cached[0] not in obj.masks:
            self._overlays.pop(obj_id, None)
            return
        rect = rect.intersected(cached[1].rect())
        if rect.isEmpty():
            return
        part = maskimage.overlay(obj.masks[cached[0]], QtGui.QColor(obj.colour), self.opacity, rect)
        painter = QtGui.QPainter(cached[1])
        painter.setCompositionMode(QtGui.QPainter.CompositionMode_Source)
        painter.drawImage(rect.topLeft(), part)
        painter.end()

    def paintEvent(self, event):  # noqa: N802
        painter = QtGui.QPainter(self)
        painter.fillRect(self.rect(), QtGui.QColor(38, 38, 38))
        if not self.plate_size:
            painter.setPen(QtGui.QColor(170, 170, 170))
            painter.drawText(self.rect().adjusted(24, 24, -24, -24), QtCore.Qt.AlignCenter | QtCore.Qt.TextWordWrap,
                             self.placeholder)
            painter.end()
            return
        target = self.plate_rect()
        painter.setRenderHint(QtGui.QPainter.SmoothPixmapTransform, self.scale < 1.0)
        notes = []
        matte, tinted = (None, [])
        if self.preview_mode != "masks":
            matte, tinted, note = self._matte()
            if note:
                notes.append(note)
        if self.preview_mode == "alpha":
            painter.fillRect(target, QtGui.QColor(0, 0, 0))
            if matte is not None:
                painter.drawImage(target, matte)
        elif self.preview_mode == "checker" and matte is not None and self.image is not None:
            painter.save()
            painter.setBrushOrigin(target.topLeft())
            painter.fillRect(target, QtGui.QBrush(self._checker))
            painter.restore()
            painter.drawImage(target, maskimage.alpha_over(self.shown_image(), matte))
        else:
            if self.image is not None:
                painter.drawImage(target, self.shown_image())
            else:
                painter.fillRect(target, QtGui.QColor(20, 20, 20))
            for layer in tinted:  # overlay: each object's alpha tinted in its colour
                painter.drawImage(target, layer)
        self._draw_masks(painter, target)  # the artist's masks are always on top, in every mode
        painter.setPen(QtGui.QPen(QtGui.QColor(90, 90, 90), 1))
        painter.setBrush(QtCore.Qt.NoBrush)
        painter.drawRect(target)
        wanted = self.controller.current_frame
        if wanted is not None and self.image_frame != wanted:  # the worker is still decoding it
            notes.insert(0, f"loading frame {wanted}…" + (f" (showing {self.image_frame})" if self.image_frame else ""))
        if notes:
            painter.setPen(QtGui.QColor(235, 200, 120))
            painter.drawText(self.rect().adjusted(10, 6, -10, -6), QtCore.Qt.AlignTop | QtCore.Qt.AlignLeft,
                             "\n".join(notes))
        self._draw_badges(painter)
        self._draw_sam(painter)
        self._draw_cursor(painter)
        painter.end()

    def shown_objects(self):
        c = self.controller
        if c.all_objects:
            return [o for o in c.objects if o.visible]
        obj = c.selected or (c.objects[0] if c.objects else None)
        return [obj] if obj is not None else []

    def _matte(self):
        """(grey matte or None, tinted layers, note) for the current frame and shown objects.

        The written alphas (full resolution, read through the worker) when read; the run's small
        preview while they are being read; a note when the frame has no alpha.
        """
        c = self.controller
        frame = c.current_frame
        objects = self.shown_objects()
        alphas = c.alphas.get(frame)
        found = [(o, alphas[o.id]) for o in objects if alphas and alphas.get(o.id) is not None]
        if found:
            key = (frame, id(alphas), tuple((o.id, o.colour) for o, _ in found), self.opacity, self.preview_mode)
            if self._matte_cache is None or self._matte_cache[0] != key:
                w, h = found[0][1].width(), found[0][1].height()
                grey = found[0][1] if len(found) == 1 else maskimage.lighten([a for _, a in found], w, h)
                tinted = ([maskimage.overlay(a, QtGui.QColor(o.colour), self.opacity) for o, a in found]
                          if self.preview_mode == "overlay" else [])
                self._matte_cache = (key, grey, tinted)
            return self._matte_cache[1], self._matte_cache[2], ""
        preview = c.previews.get(frame)
        if preview is not None:  # the run's small preview until the written alpha is there
            note = "run preview (low resolution)" if alphas is not None else "reading the alpha…"
            return preview.convertToFormat(maskimage.GREY), [self._preview_overlay(preview)], note
        if alphas is not None:
            if c.running:
                return None, [], "not matted yet"
            return None, [], "no alpha for this frame" + ("" if c.all_objects or not objects
                                                        else f" ({objects[0].name})")
        if c.running or c.last_outputs or c.show_alpha:
            return None, [], "reading the alpha…" if c.objects else "no objects"
        return None, [], ""

    def _draw_masks(self, painter: QtGui.QPainter, target: QtCore.QRectF) -> None:
        """Keyframe masks: tinted with an outline in the masks view, outlined over a matte view;
        the selected object's neighbouring keyframes as faint outlines (onion skin)."""
        c = self.controller
        frame = c.current_frame
        for obj in c.objects:
            if not obj.visible:
                continue
            if self.preview_mode == "masks":
                layer = self._overlay(obj)
                if layer is not None:
                    painter.drawImage(target, layer)
            edge = self._outline(obj, frame, 1.0)
            if edge is not None:
                painter.drawImage(target, edge)
        obj = c.selected
        if c.onion_skin and obj is not None and obj.visible and frame is not None:
            for f in c.neighbour_keyframes(obj, frame):
                edge = self._outline(obj, f, 0.45)
                if edge is not None:
                    painter.drawImage(target, edge)

    def _outline(self, obj, frame, opacity: float) -> Optional[QtGui.QImage]:
        mask = obj.masks.get(frame) if frame is not None else None
        if mask is None:
            return None
        key = (obj.id, frame, opacity)
        stamp = (mask.cacheKey(), obj.colour, self._mask_version.get((obj.id, frame), 0))
        cached = self._outlines.get(key)
        if cached is not None and self._stroke is not None and self._stroke[1] == obj.id:
            return cached[1]  # mid-stroke: the outline follows when the stroke ends
        if cached is None or cached[0] != stamp:
            cached = (stamp, maskimage.outline(mask, QtGui.QColor(obj.colour), opacity))
            self._outlines[key] = cached
            while len(self._outlines) > 24:
                self._outlines.pop(next(iter(self._outlines)))
        return cached[1]

    def _draw_badges(self, painter: QtGui.QPainter) -> None:
        """What is shown, at the top right: the proxy factor and the matte view."""
        badges = []
        if self.controller.downscale > 1:
            badges.append(f"PROXY 1/{self.controller.downscale}")
        if self.channel != "rgb":
            badges.append(self.channel.upper())
        if self.preview_mode != "masks":
            badges.append("ALL OBJECTS" if self.controller.all_objects else "SELECTED OBJECT")
        if not badges:
            return
        text = "   ".join(badges)
        metrics = painter.fontMetrics()
        rect = QtCore.QRectF(self.width() - metrics.horizontalAdvance(text) - 22, 6,
                             metrics.horizontalAdvance(text) + 12, metrics.height() + 4)
        painter.setPen(QtCore.Qt.NoPen)
        painter.setBrush(QtGui.QColor(0, 0, 0, 150))
        painter.drawRoundedRect(rect, 3, 3)
        painter.setPen(QtGui.QColor(255, 215, 120))
        painter.drawText(rect, QtCore.Qt.AlignCenter, text)

    def _preview_overlay(self, preview: QtGui.QImage) -> QtGui.QImage:
        """The tinted preview, made once per preview image, colour and opacity (not on every paint)."""
        objects = self.shown_objects()
        colour = objects[0].colour if objects else "#2ee6ff"
        key = (preview.cacheKey(), colour, self.opacity)
        if self._preview_layer is None or self._preview_layer[0] != key:
            layer = maskimage.overlay(preview.convertToFormat(maskimage.GREY), QtGui.QColor(colour), self.opacity)
            self._preview_layer = (key, layer)
        return self._preview_layer[1]

    def _draw_sam(self, painter: QtGui.QPainter) -> None:
        if self.controller.selected_id is None:
            return
        state = self.controller.sam_state()
        painter.setRenderHint(QtGui.QPainter.Antialiasing)
        if state.box is not None:
            painter.setPen(QtGui.QPen(QtGui.QColor(255, 220, 60), 1.5, QtCore.Qt.DashLine))
            painter.setBrush(QtCore.Qt.NoBrush)
            painter.drawRect(QtCore.QRectF(self.to_widget(state.box[0], state.box[1]),
                                           self.to_widget(state.box[2], state.box[3])))
        for points, colour in ((state.points_pos, QtGui.QColor(70, 220, 90)),
                               (state.points_neg, QtGui.QColor(235, 60, 60))):
            painter.setPen(QtGui.QPen(QtGui.QColor(0, 0, 0), 1.5))
            painter.setBrush(colour)
            for x, y in points:
                painter.drawEllipse(self.to_widget(x, y), 5, 5)
        if self._press is not None and self._box_to is not None:
            painter.setPen(QtGui.QPen(QtGui.QColor(255, 220, 60), 1.5, QtCore.Qt.DashLine))
            painter.setBrush(QtCore.Qt.NoBrush)
            painter.drawRect(QtCore.QRectF(self._press[0], self._box_to))

    def _draw_cursor(self, painter: QtGui.QPainter) -> None:
        if self._cursor is None or self.tool not in ("brush", "eraser"):
            return
        painter.setRenderHint(QtGui.QPainter.Antialiasing)
        painter.setBrush(QtCore.Qt.NoBrush)
        r = self.brush_radius * self.scale
        for colour, width in ((QtGui.QColor(0, 0, 0, 160), 3), (QtGui.QColor(255, 255, 255), 1)):
            painter.setPen(QtGui.QPen(colour, width))
            painter.drawEllipse(self._cursor, r, r)
        if self.hardness < 0.999:
            painter.setPen(QtGui.QPen(QtGui.QColor(255, 255, 255, 120), 1, QtCore.Qt.DotLine))
            painter.drawEllipse(self._cursor, r * self.hardness, r * self.hardness)

    # ---------------------------------------------------------------- mouse
    def wheelEvent(self, event):  # noqa: N802
        delta = event.angleDelta().y()
        if delta:
            pos = event.position() if hasattr(event, "position") else QtCore.QPointF(event.pos())
            self.zoom_at(1.0015 ** delta, pos)
        event.accept()

    def mousePressEvent(self, event):  # noqa: N802
        pos = _pos(event)
        button, mods = event.button(), event.modifiers()
        if button == QtCore.Qt.MiddleButton:
            self._pan_from = pos
            self.setCursor(QtCore.Qt.ClosedHandCursor)
            return
        if not self.plate_size or self.controller.current_frame is None:
            return
        plate = self.to_plate(pos)
        if self.tool in ("brush", "eraser") and button == QtCore.Qt.LeftButton and \
                mods & (QtCore.Qt.ShiftModifier | QtCore.Qt.ControlModifier):
            self._resize_from = (pos.x(), self.brush_radius)  # Nuke RotoPaint / Roto Brush: drag resizes
            return
        if self.tool in ("brush", "eraser") and button == QtCore.Qt.LeftButton:
            begun = self.controller.begin_stroke()
            if begun is None:
                return
            obj_id, frame, mask, snapshot = begun
            erase = self.tool == "eraser" or bool(mods & QtCore.Qt.AltModifier)
            stroke = Stroke(mask, self.brush_radius, self.hardness, erase=erase)
            self._stroke = (stroke, obj_id, frame, snapshot, "erase" if erase else "paint")
            self._paint_to(plate)
        elif self.tool == "fill" and button == QtCore.Qt.LeftButton:
            self._fill(plate)
        elif self.tool in ("sam", "box") and button in (QtCore.Qt.LeftButton, QtCore.Qt.RightButton):
            self._press = (pos, plate, button, mods)
            self._box_to = None

    def mouseMoveEvent(self, event):  # noqa: N802
        pos = _pos(event)
        self._cursor = pos
        if self.plate_size:
            p = self.to_plate(pos)
            self.hovered.emit((p.x(), p.y()))
        if self._pan_from is not None:
            self.pan(pos.x() - self._pan_from.x(), pos.y() - self._pan_from.y())
            self._pan_from = pos
            return
        if self._resize_from is not None:
            x0, r0 = self._resize_from
            self.brush_radius = max(1.0, min(1000.0, r0 + (pos.x() - x0) / max(self.scale, 1e-6)))
            self._cursor = QtCore.QPointF(x0, pos.y())  # the circle stays where the drag began
            self.brushResized.emit(self.brush_radius)
            self.update()
            return
        if self._stroke is not None:
            self._paint_to(self.to_plate(pos))
            return
        if self._press is not None and self._press[2] == QtCore.Qt.LeftButton:
            start = self._press[0]
            if self.tool == "box" or abs(pos.x() - start.x()) + abs(pos.y() - start.y()) > 6:
                self._box_to = pos
        self.update()

    def mouseReleaseEvent(self, event):  # noqa: N802
        pos = _pos(event)
        if self._resize_from is not None and event.button() == QtCore.Qt.LeftButton:
            self._resize_from = None
            return
        if event.button() == QtCore.Qt.MiddleButton and self._pan_from is not None:
            self._pan_from = None
            self.unsetCursor()
            return
        if self._stroke is not None and event.button() == QtCore.Qt.LeftButton:
            stroke, obj_id, frame, snapshot, label = self._stroke
            self._stroke = None
            self.controller.end_stroke(obj_id, frame, snapshot, stroke.rect, label)
            self.update()
            return
        if self._press is not None:
            start_pos, start, button, mods = self._press
            self._press = None
            if self._box_to is not None:
                end = self.to_plate(pos)
                self._box_to = None
                self.controller.sam_box(start.x(), start.y(), end.x(), end.y())
            elif self.tool == "sam":
                positive = button == QtCore.Qt.LeftButton and not (mods & QtCore.Qt.AltModifier)
                self.controller.sam_click(start.x(), start.y(), positive)
            self.update()

    def leaveEvent(self, event):  # noqa: N802
        self._cursor = None
        self.hovered.emit(None)
        self.update()

    def _paint_to(self, plate: QtCore.QPointF) -> None:
        stroke, obj_id = self._stroke[0], self._stroke[1]
        changed = stroke.add(plate.x(), plate.y())
        self.invalidate(obj_id, (changed.x(), changed.y(), changed.width(), changed.height()))

    def _fill(self, plate: QtCore.QPointF) -> None:
        begun = self.controller.begin_stroke()
        if begun is None:
            return
        obj_id, frame, mask, snapshot = begun
        try:
            filled, rect = fill_hole(mask, plate.x(), plate.y())
        except HoleError as err:
            self.controller.end_stroke(obj_id, frame, snapshot, None, "fill hole")
            self.controller.error(str(err))
            return
        self.controller.masks.paste(mask, rect, filled.copy(QtCore.QRect(*rect)))
        self.controller.end_stroke(obj_id, frame, snapshot, rect, "fill hole")


def _pos(event) -> QtCore.QPointF:
    return event.position() if hasattr(event, "position") else QtCore.QPointF(event.pos())
