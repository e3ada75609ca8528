"""The frame slider: source frame numbers, keyframe ticks in each object's colour, run progress
(each matted frame shaded by the pass that matted it, so a pass fills from its keyframe outwards)."""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

PASS_COLOURS = {"forward": (60, 150, 90), "backward": (70, 120, 190)}

from ui.qt import QtCore, QtGui, QtWidgets


class FrameSlider(QtWidgets.QWidget):
    """A scrub bar over the plate's source frame numbers (not 0-based indices)."""

    frameChanged = QtCore.Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.frames: List[int] = []
        self.frame: Optional[int] = None
        self.marks: List[Tuple[int, str]] = []     # (frame, colour) keyframe ticks
        self.done: Dict[int, str] = {}             # frame -> pass ("forward"/"backward") that matted it
        self.run_range: Optional[Tuple[int, int]] = None  # in/out points of the run (I / O)
        self.setMinimumHeight(38)
        self.setSizePolicy(QtWidgets.QSizePolicy.Expanding, QtWidgets.QSizePolicy.Fixed)
        self.setFocusPolicy(QtCore.Qt.NoFocus)
        self.setToolTip("Scrub through the plate (source frame numbers). Ticks mark keyframes that have a mask.")

    def set_frames(self, frames: List[int]) -> None:
        self.frames = list(frames)
        self.frame = self.frames[0] if self.frames else None
        self.update()

    def set_frame(self, frame: int) -> None:
        self.frame = frame
        self.update()

    def set_marks(self, marks: List[Tuple[int, str]]) -> None:
        self.marks = list(marks)
        self.update()

    def tick_x(self, frame: int) -> float:
        """Widget x of a frame's tick (for tests and painting)."""
        left, width = 10.0, max(1.0, self.width() - 20.0)
        if len(self.frames) < 2:
            return left + width / 2.0
        lo, hi = self.frames[0], self.frames[-1]
        return left + width * (frame - lo) / float(hi - lo)

    def frame_at(self, x: float) -> Optional[int]:
        if not self.frames:
            return None
        left, width = 10.0, max(1.0, self.width() - 20.0)
        lo, hi = self.frames[0], self.frames[-1]
        want = lo + (x - left) / width * (hi - lo)
        return min(self.frames, key=lambda f: abs(f - want))

    def paintEvent(self, event):  # noqa: N802
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.Antialiasing)
        p.fillRect(self.rect(), self.palette().window())
        track = QtCore.QRectF(10, 12, max(1, self.width() - 20), 8)
        p.setPen(QtCore.Qt.NoPen)
        p.setBrush(QtGui.QColor(60, 60, 60))
        p.drawRoundedRect(track, 3, 3)
        if not self.frames:
            p.end()
            return
        if self.done:
            half = 0.5 * width_per_frame(self)
            for frame, phase in self.done.items():
                x = self.tick_x(frame)
                p.setBrush(QtGui.QColor(*PASS_COLOURS.get(phase, (60, 150, 90))))
                p.drawRect(QtCore.QRectF(x - half, track.top(), 2 * half, track.height()))
        if self.run_range is not None:
            p.setBrush(QtGui.QColor(255, 215, 120, 60))
            x0, x1 = self.tick_x(self.run_range[0]), self.tick_x(self.run_range[1])
            p.drawRect(QtCore.QRectF(x0, track.top() - 3, max(2.0, x1 - x0), track.height() + 6))
        if self.frame is not None:
            x = self.tick_x(self.frame)
            p.setPen(QtGui.QPen(QtGui.QColor(20, 20, 20), 1))
            p.setBrush(QtGui.QColor(235, 235, 235))
            p.drawPolygon(QtGui.QPolygonF([QtCore.QPointF(x - 6, 2), QtCore.QPointF(x + 6, 2),
                                           QtCore.QPointF(x + 6, 22), QtCore.QPointF(x, 28),
                                           QtCore.QPointF(x - 6, 22)]))
        for frame, colour in self.marks:  # over the handle, so the current keyframe shows
            x = self.tick_x(frame)
            p.setPen(QtGui.QPen(QtGui.QColor(colour), 3))
            p.drawLine(QtCore.QPointF(x, 6), QtCore.QPointF(x, 26))
        p.setPen(self.palette().color(QtGui.QPalette.WindowText))
        font = p.font()
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
        p.setFont(font)
        bottom = QtCore.QRectF(10, 26, self.width() - 20, 12)
        p.drawText(bottom, QtCore.Qt.AlignLeft | QtCore.Qt.AlignVCenter, str(self.frames[0]))
        p.drawText(bottom, QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter, str(self.frames[-1]))
        p.end()

    def mousePressEvent(self, event):  # noqa: N802
        self._scrub(event)

    def mouseMoveEvent(self, event):  # noqa: N802
        if event.buttons() & QtCore.Qt.LeftButton:
            self._scrub(event)

    def _scrub(self, event) -> None:
        pos = event.position() if hasattr(event, "position") else QtCore.QPointF(event.pos())
        frame = self.frame_at(pos.x())
        if frame is not None and frame != self.frame:
            self.frame = frame
            self.update()
            self.frameChanged.emit(frame)


def width_per_frame(slider: FrameSlider) -> float:
    """Widget pixels one frame covers on the track (at least one)."""
    n = max(1, len(slider.frames) - 1)
    return max(1.0, (slider.width() - 20.0) / n)
