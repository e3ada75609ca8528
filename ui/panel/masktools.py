"""Painting on a Grayscale8 mask: brush/eraser strokes with size and hardness, and fill hole.

All coordinates are plate pixels (x right, y down); the viewer converts from the screen.
"""
from __future__ import annotations

import math
from typing import List, Optional, Tuple

from plugin.errors import MaskError
from ui.qt import QtCore, QtGui

from ui.panel.maskimage import from_bytes, tight_bytes

TOOLS = ("brush", "eraser", "fill", "sam", "box")
_BINARY = bytes(0 if i < 128 else 1 for i in range(256))


class HoleError(MaskError):
    """Fill hole clicked on something that is not a hole; one line saying what to do."""


class Stroke:
    """One brush or eraser stroke: dabs along the mouse path, spaced a quarter radius apart."""

    def __init__(self, mask: QtGui.QImage, radius: float, hardness: float, erase: bool = False):
        self.mask = mask
        self.radius = max(0.5, float(radius))
        self.hardness = max(0.0, min(1.0, float(hardness)))
        self.value = 0 if erase else 255
        self._last: Optional[QtCore.QPointF] = None
        self._dirty = QtCore.QRect()

    @property
    def rect(self) -> Optional[Tuple[int, int, int, int]]:
        """What the stroke touched, clipped to the mask (x, y, w, h), or None."""
        r = self._dirty.intersected(self.mask.rect())
        return None if r.isEmpty() else (r.x(), r.y(), r.width(), r.height())

    def add(self, x: float, y: float) -> QtCore.QRect:
        """Paint up to (x, y); returns the plate rectangle changed by this segment."""
        point = QtCore.QPointF(float(x), float(y))
        points: List[QtCore.QPointF] = [point]
        if self._last is not None:
            dx, dy = point.x() - self._last.x(), point.y() - self._last.y()
            steps = int(math.hypot(dx, dy) / max(0.5, self.radius / 4.0))
            points = [QtCore.QPointF(self._last.x() + dx * i / (steps + 1), self._last.y() + dy * i / (steps + 1))
                      for i in range(1, steps + 1)] + [point]
        self._last = point
        painter = QtGui.QPainter(self.mask)
        painter.setRenderHint(QtGui.QPainter.Antialiasing)
        painter.setPen(QtCore.Qt.NoPen)
        pad = int(math.ceil(self.radius)) + 1
        changed = QtCore.QRect()
        for p in points:
            painter.setBrush(self._brush(p))
            painter.drawEllipse(p, self.radius, self.radius)
            changed = changed.united(QtCore.QRect(int(p.x()) - pad, int(p.y()) - pad, 2 * pad + 1, 2 * pad + 1))
        painter.end()
        self._dirty = self._dirty.united(changed)
        return changed

    def _brush(self, centre: QtCore.QPointF) -> QtGui.QBrush:
        solid = QtGui.QColor(self.value, self.value, self.value, 255)
        if self.hardness >= 0.999:
            return QtGui.QBrush(solid)
        clear = QtGui.QColor(self.value, self.value, self.value, 0)
        gradient = QtGui.QRadialGradient(centre, self.radius)
        gradient.setColorAt(0.0, solid)
        gradient.setColorAt(self.hardness, solid)
        gradient.setColorAt(1.0, clear)
        return QtGui.QBrush(gradient)


def fill_hole(mask: QtGui.QImage, x: float, y: float) -> Tuple[QtGui.QImage, Tuple[int, int, int, int]]:
    """Fill the unmasked region around (x, y) that the mask encloses (4-connected, scanlines).

    Returns:
        (the filled mask as a new Grayscale8 image, the changed rectangle x, y, w, h).

    Raises:
        HoleError: the point is already inside the mask, or the region reaches the frame edge.
    """
    width, height = mask.width(), mask.height()
    xi, yi = int(x), int(y)
    if not (0 <= xi < width and 0 <= yi < height):
        raise HoleError("click inside the frame to fill a hole")
    data = tight_bytes(mask)
    grid = bytearray(data.translate(_BINARY))  # 0 = hole candidate, 1 = mask, 2 = filled
    if grid[yi * width + xi]:
        raise HoleError("that point is already inside the mask; click in the hole you want filled")
    spans: List[Tuple[int, int]] = []
    stack = [(xi, yi)]
    while stack:
        sx, sy = stack.pop()
        row = sy * width
        i = row + sx
        if grid[i]:
            continue
        left = max(grid.rfind(b"\x01", row, i), grid.rfind(b"\x02", row, i)) + 1
        if left <= row:
            left = row
        rights = [r for r in (grid.find(b"\x01", i, row + width), grid.find(b"\x02", i, row + width)) if r >= 0]
        right = min(rights) if rights else row + width
        if left == row or right == row + width or sy == 0 or sy == height - 1:
            raise HoleError("that area reaches the frame edge, so it is background, not a hole; "
                            "paint it with the brush instead")
        grid[left:right] = b"\x02" * (right - left)
        spans.append((left, right))
        for ny in (sy - 1, sy + 1):
            nrow = ny * width
            pos, end = nrow + (left - row), nrow + (right - row)
            while pos < end:
                hole = grid.find(b"\x00", pos, end)
                if hole < 0:
                    break
                stack.append((hole - nrow, ny))
                stops = [s for s in (grid.find(b"\x01", hole, end), grid.find(b"\x02", hole, end)) if s >= 0]
                pos = min(stops) if stops else end
    out = bytearray(data)
    x0, y0, x1, y1 = width, height, 0, 0
    for left, right in spans:
        out[left:right] = b"\xff" * (right - left)
        ry = left // width
        x0, x1 = min(x0, left - ry * width), max(x1, right - ry * width)
        y0, y1 = min(y0, ry), max(y1, ry + 1)
    return from_bytes(bytes(out), width, height), (x0, y0, x1 - x0, y1 - y0)
