"""Masks as Qt images: one `QImage.Format_Grayscale8` per object and keyframe at full plate
resolution (0 = outside, 255 = inside). `QtMaskOps` is what the controller is given to make,
copy, patch, load and save them; `load_frame_image` turns the worker's files into QImages.
Both run off the UI thread where they touch disk.
"""
from __future__ import annotations

import os
from typing import Optional, Tuple

from plugin.errors import MaskError
from ui.qt import QtCore, QtGui

GREY = QtGui.QImage.Format_Grayscale8
Rect = Tuple[int, int, int, int]


class MaskFileError(MaskError):
    """A mask file that cannot be used; `str()` is one line naming it and the fix."""


def tight_bytes(image: QtGui.QImage) -> bytes:
    """The pixels of an 8-bit image without row padding (width*height bytes)."""
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    data = bytes(image.constBits())[: stride * height]
    if stride == width:
        return data
    return b"".join(data[y * stride:y * stride + width] for y in range(height))


def tight_bytes_rgb32(image: QtGui.QImage) -> bytes:
    """The pixels of a 32-bit image without row padding (width*height*4 bytes)."""
    width, height, stride = image.width() * 4, image.height(), image.bytesPerLine()
    data = bytes(image.constBits())[: stride * height]
    if stride == width:
        return data
    return b"".join(data[y * stride:y * stride + width] for y in range(height))


def from_bytes(data: bytes, width: int, height: int, fmt=GREY) -> QtGui.QImage:
    """A QImage owning a copy of tightly packed 8-bit pixels."""
    return QtGui.QImage(bytes(data), width, height, width, fmt).copy()


class QtMaskOps:
    """The controller's pixel operations on Grayscale8 masks."""

    def new(self, width: int, height: int) -> QtGui.QImage:
        image = QtGui.QImage(int(width), int(height), GREY)
        image.fill(0)
        return image

    def copy(self, mask: QtGui.QImage) -> QtGui.QImage:
        return mask.copy()

    def crop(self, mask: QtGui.QImage, rect: Rect) -> QtGui.QImage:
        return mask.copy(QtCore.QRect(*rect))

    def paste(self, mask: QtGui.QImage, rect: Rect, patch: QtGui.QImage) -> None:
        painter = QtGui.QPainter(mask)
        painter.setCompositionMode(QtGui.QPainter.CompositionMode_Source)
        painter.drawImage(QtCore.QPoint(rect[0], rect[1]), patch)
        painter.end()

    def threshold(self, alpha: QtGui.QImage, level: float, width: int, height: int) -> QtGui.QImage:
        """A mask from an alpha: 255 where alpha >= level (0-1), at plate size."""
        grey = alpha.convertToFormat(GREY)
        if (grey.width(), grey.height()) != (int(width), int(height)):
            grey = grey.scaled(int(width), int(height), QtCore.Qt.IgnoreAspectRatio, QtCore.Qt.FastTransformation)
        cut = max(1, min(255, int(round(level * 255))))
        table = bytes(255 if v >= cut else 0 for v in range(256))
        return from_bytes(tight_bytes(grey).translate(table), grey.width(), grey.height())

    def is_empty(self, mask: QtGui.QImage) -> bool:
        return not tight_bytes(mask).translate(None, b"\x00")

    def can_read(self, path: str) -> bool:
        return QtGui.QImageReader(path).canRead()

    def load(self, path: str, width: int, height: int) -> QtGui.QImage:
        """A mask file as Grayscale8: its alpha channel when it has a real one, else its grey."""
        reader = QtGui.QImageReader(path)
        image = reader.read()
        if image.isNull():
            raise MaskFileError(f"cannot read mask {path} ({reader.errorString()}); "
                                "use an 8- or 16-bit PNG (or an EXR with alpha)")
        if (image.width(), image.height()) != (int(width), int(height)):
            raise MaskFileError(f"mask {path} is {image.width()}x{image.height()} but the plate is "
                                f"{width}x{height}; export the mask at plate resolution")
        if image.hasAlphaChannel():
            alpha = image.convertToFormat(QtGui.QImage.Format_Alpha8)
            data = tight_bytes(alpha)
            if data.translate(None, b"\xff"):  # not an all-opaque alpha: the alpha is the mask
                return from_bytes(data, image.width(), image.height())
        return image.convertToFormat(GREY)

    def save(self, mask: QtGui.QImage, path: str) -> None:
        """Write an 8-bit grey PNG atomically (temp name in the same folder, then rename)."""
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, "." + os.path.basename(path) + ".tmp.png")
        if not mask.save(tmp, "PNG"):
            raise MaskFileError(f"cannot write mask {path}; check the folder is writable")
        os.replace(tmp, path)


def load_frame_image(path: str, width: int, height: int, fmt: str = "rgba8") -> QtGui.QImage:
    """A worker file as a QImage: raw 8-bit RGBA (`format: rgba8`) or any image Qt reads."""
    lower = path.lower()
    if fmt == "grey8":  # the worker's read_alpha: raw 8-bit alpha, one byte a pixel
        with open(path, "rb") as fh:
            data = fh.read()
        if len(data) < width * height:
            raise MaskFileError(f"alpha file {path} holds {len(data)} bytes, not {width}x{height}; "
                                "the worker may have been stopped while writing it")
        return from_bytes(data[:width * height], width, height)
    if fmt == "rgba8" and width and height and not lower.endswith((".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")):
        with open(path, "rb") as fh:
            data = fh.read()
        if len(data) < width * height * 4:
            raise MaskFileError(f"frame file {path} holds {len(data)} bytes, not {width}x{height} RGBA; "
                                "the worker may have been stopped while writing it")
        image = QtGui.QImage(data, width, height, width * 4, QtGui.QImage.Format_RGBA8888)
        # converted here, off the UI thread: QPainter draws RGB32 without a per-paint conversion
        return image.convertToFormat(QtGui.QImage.Format_RGB32)
    reader = QtGui.QImageReader(path)
    image = reader.read()
    if image.isNull():
        raise MaskFileError(f"cannot read {path} ({reader.errorString()})")
    return image


def overlay(mask: QtGui.QImage, colour: QtGui.QColor, opacity: float,
            rect: Optional[QtCore.QRect] = None) -> QtGui.QImage:
    """The mask as a premultiplied colour layer whose alpha is mask * opacity (optionally a crop)."""
    src = mask.copy(rect) if rect is not None else mask.copy()
    src.reinterpretAsFormat(QtGui.QImage.Format_Alpha8)
    layer = QtGui.QImage(src.size(), QtGui.QImage.Format_ARGB32_Premultiplied)
    col = QtGui.QColor(colour)
    col.setAlphaF(max(0.0, min(1.0, opacity)))
    layer.fill(col)
    painter = QtGui.QPainter(layer)
    painter.setCompositionMode(QtGui.QPainter.CompositionMode_DestinationIn)
    painter.drawImage(0, 0, src)
    painter.end()
    return layer


def alpha_over(plate: QtGui.QImage, alpha: QtGui.QImage) -> QtGui.QImage:
    """The plate with `alpha` (grey) as its alpha channel, premultiplied: for the checker view."""
    out = plate.convertToFormat(QtGui.QImage.Format_ARGB32)
    grey = alpha if alpha.size() == out.size() else alpha.scaled(out.size(), QtCore.Qt.IgnoreAspectRatio,
                                                                  QtCore.Qt.SmoothTransformation)
    out.setAlphaChannel(grey.convertToFormat(GREY))
    return out.convertToFormat(QtGui.QImage.Format_ARGB32_Premultiplied)


def checkerboard(size: int = 16) -> QtGui.QPixmap:
    tile = QtGui.QPixmap(size * 2, size * 2)
    tile.fill(QtGui.QColor(102, 102, 102))
    painter = QtGui.QPainter(tile)
    painter.fillRect(0, 0, size, size, QtGui.QColor(153, 153, 153))
    painter.fillRect(size, size, size, size, QtGui.QColor(153, 153, 153))
    painter.end()
    return tile


def outline(mask: QtGui.QImage, colour: QtGui.QColor, opacity: float = 1.0) -> QtGui.QImage:
    """The edge of a mask (inside pixels with an outside 4-neighbour) as a colour layer.

    Done on the whole image as one big integer (one byte a pixel), so a 1080p mask costs a
    few milliseconds rather than a Python loop over pixels.
    """
    w, h = mask.width(), mask.height()
    table = bytes(255 if v >= 128 else 0 for v in range(256))
    data = tight_bytes(mask.convertToFormat(GREY)).translate(table)
    m = int.from_bytes(data, "big")
    full = (1 << (8 * w * h)) - 1
    row = 8 * w
    inner = m & (m << 8) & (m >> 8) & ((m << row) & full) & (m >> row)
    edge = (m & ~inner) & full
    grey = from_bytes(edge.to_bytes(w * h, "big"), w, h)
    return overlay(grey, colour, opacity)


def lighten(images, width: int, height: int) -> QtGui.QImage:
    """The per-pixel maximum of grey images (all objects' alphas as one matte)."""
    out = QtGui.QImage(int(width), int(height), QtGui.QImage.Format_RGB32)
    out.fill(QtGui.QColor(0, 0, 0))
    painter = QtGui.QPainter(out)
    painter.setCompositionMode(QtGui.QPainter.CompositionMode_Lighten)
    for image in images:
        painter.drawImage(QtCore.QRect(0, 0, int(width), int(height)), image.convertToFormat(QtGui.QImage.Format_RGB32))
    painter.end()
    return out.convertToFormat(GREY)
